"""Typed errors raised by platform adapters.

Every error carries the platform name, the platform's own code and message (kept for staff) and
a plain German explanation (``message_de``). The orchestrator decides what to do from the class:

    PlatformError
    ├── TransientError            retry later, same step; nothing was lost
    │   ├── RateLimited           retry after ``retry_after`` seconds (429 or a platform code)
    │   ├── PlatformUnavailable   5xx, maintenance
    │   │   └── LookupFailed      a read-only lookup failed: never a verdict on the post
    │   ├── UploadAgain           the platform dropped an unpublished upload: upload afresh
    │   └── ConnectionLost        reset, timeout, truncated answer; ``outcome_unknown`` is True
    │                             when the request may have reached the platform
    └── PermanentError            do not retry; the post waits for staff
        ├── CredentialsExpired    token expired or revoked and could not be refreshed
        │                         -> needs_attention
        ├── QuotaExhausted        the account's quota is used up until ``reset_at``
        │                         -> needs_attention (or wait, the scheduler decides)
        ├── RejectedByPlatform    the platform said no to this media or text -> failed
        │   └── ScheduleTooClose  native scheduling refused because the publish time is too
        │                         near (or too far); the orchestrator publishes at the slot
        │                         itself instead -> waits, never publishes early
        ├── ProcessingFailed      the platform accepted the upload but its processing ended in
        │                         ERROR -> failed
        └── DeleteByHand          the platform offers no delete call for this post (Instagram,
                                  TikTok): a person deletes it in the app and confirms

``ProtocolError`` (a subclass of ``PermanentError``) means *we* have a bug or the platform changed
its protocol: an answer we could not understand. Staff see "technischer Fehler", not "the platform
said no".
"""

from __future__ import annotations

from datetime import datetime


class PlatformError(Exception):
    """Base of every adapter error."""

    #: a stable, short code for logs, metrics and the dashboard
    kind: str = "platform_error"

    def __init__(
        self,
        platform: str,
        detail: str = "",
        *,
        code: str | int | None = None,
        status: int | None = None,
        message_de: str | None = None,
    ) -> None:
        self.platform = platform
        self.detail = detail
        self.code = code
        self.status = status
        self.message_de = message_de or self._default_message_de()
        parts = [f"{platform}: {self.kind}"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code is not None:
            parts.append(f"code {code}")
        if detail:
            parts.append(detail)
        super().__init__(" | ".join(parts))

    def _default_message_de(self) -> str:
        return f"{self.platform}: unbekannter Fehler der Plattform."

    def as_record(self) -> dict[str, object]:
        """A JSON-safe summary to store on the post (never contains tokens)."""
        return {
            "kind": self.kind,
            "platform": self.platform,
            "status": self.status,
            "code": None if self.code is None else str(self.code),
            "detail": self.detail[:2000],
            "message_de": self.message_de,
        }


class TransientError(PlatformError):
    kind = "transient"

    def _default_message_de(self) -> str:
        return (
            f"{self.platform} ist gerade nicht erreichbar oder überlastet. "
            "wtg versucht es automatisch erneut."
        )


class RateLimited(TransientError):
    kind = "rate_limited"

    def __init__(
        self, platform: str, detail: str = "", *, retry_after: float, **kw: object
    ) -> None:
        self.retry_after = max(0.0, float(retry_after))
        super().__init__(platform, detail, **kw)  # type: ignore[arg-type]

    def _default_message_de(self) -> str:
        return (
            f"{self.platform} begrenzt gerade die Zahl der Anfragen. wtg wartet "
            f"{int(self.retry_after)} Sekunden und versucht es dann erneut."
        )


class PlatformUnavailable(TransientError):
    kind = "unavailable"


class UploadAgain(TransientError):
    """The platform dropped an upload that was never published (Instagram: container EXPIRED
    after 24 h or one of the "generate a new container" subcodes). Nothing is public; the next
    ``upload`` call starts afresh (the old container is never published, so no duplicate). The
    orchestrator should go back to ``upload`` instead of retrying the same step."""

    kind = "upload_again"

    def _default_message_de(self) -> str:
        return (f"{self.platform} hat das hochgeladene, noch nicht veröffentlichte Video "
                "verworfen. wtg lädt es automatisch neu hoch; es entsteht kein doppelter "
                "Beitrag.")


class LookupFailed(PlatformUnavailable):
    """A read-only lookup (status, listing, permalink) failed. Always transient: a failing look
    never turns a post into ``failed``; the orchestrator retries it until its deadline."""

    kind = "lookup_failed"

    def _default_message_de(self) -> str:
        return (f"{self.platform} gibt gerade keine Auskunft über den Beitrag. wtg fragt "
                "später erneut; veröffentlicht wird deshalb nichts doppelt.")


class ConnectionLost(TransientError):
    kind = "connection_lost"

    def __init__(
        self, platform: str, detail: str = "", *, outcome_unknown: bool = True, **kw: object
    ) -> None:
        self.outcome_unknown = outcome_unknown
        super().__init__(platform, detail, **kw)  # type: ignore[arg-type]

    def _default_message_de(self) -> str:
        return (
            f"Die Verbindung zu {self.platform} ist abgebrochen. wtg prüft, was angekommen ist, "
            "und setzt fort."
        )


class PermanentError(PlatformError):
    kind = "permanent"


class CredentialsExpired(PermanentError):
    kind = "credentials_expired"

    def _default_message_de(self) -> str:
        return (
            f"Der Zugang zu {self.platform} ist abgelaufen oder wurde widerrufen. Bitte im "
            "Dashboard unter „Konten“ die Verbindung erneuern („Neu verbinden“) und den "
            "Beitrag dann „Erneut versuchen“; er wartet so lange."
        )


class QuotaExhausted(PermanentError):
    kind = "quota_exhausted"

    def __init__(
        self, platform: str, detail: str = "", *, reset_at: datetime | None = None, **kw: object
    ) -> None:
        self.reset_at = reset_at
        super().__init__(platform, detail, **kw)  # type: ignore[arg-type]

    def _default_message_de(self) -> str:
        when = f" bis {self.reset_at:%d.%m.%Y %H:%M}" if self.reset_at else ""
        return f"Das Kontingent von {self.platform} ist{when} aufgebraucht. Der Beitrag wartet."


class RejectedByPlatform(PermanentError):
    kind = "rejected"

    def _default_message_de(self) -> str:
        return (
            f"{self.platform} hat den Beitrag abgelehnt ({self.detail or 'ohne Begründung'}). "
            "Bitte Video oder Text prüfen."
        )


class ScheduleTooClose(RejectedByPlatform):
    """The platform refused ``scheduled_at`` (closer than its minimum lead, or beyond its
    maximum). Nothing was published; the orchestrator drops native scheduling for this post and
    publishes it at the slot itself."""

    kind = "schedule_too_close"

    def _default_message_de(self) -> str:
        return (
            f"{self.platform} kann den Beitrag nicht zu diesem Termin einplanen; wtg "
            "veröffentlicht ihn deshalb selbst zum geplanten Zeitpunkt."
        )


class ProcessingFailed(PermanentError):
    kind = "processing_failed"

    def _default_message_de(self) -> str:
        return (
            f"{self.platform} konnte das hochgeladene Video nicht verarbeiten "
            f"({self.detail or 'ohne Begründung'}). Bitte die Videodatei prüfen."
        )


class ProtocolError(PermanentError):
    kind = "protocol_error"

    def _default_message_de(self) -> str:
        return (
            f"Technischer Fehler: die Antwort von {self.platform} war unerwartet. "
            "Bitte die Technik informieren."
        )


class DeleteByHand(PermanentError):
    """The platform's API cannot delete this post; staff must delete it in the platform's app
    (wtg records the request and waits for their confirmation)."""

    kind = "delete_by_hand"

    def _default_message_de(self) -> str:
        return (
            f"{self.platform} bietet keine Schnittstelle zum Löschen von Beiträgen an. Bitte den "
            f"Beitrag in der {self.platform}-App löschen und dann hier „In der App gelöscht“ "
            "bestätigen."
        )

"""Mastodon: one multipart media upload, a poll until processed, one status with the video.

Every step below is sourced in docs/platforms/mastodon.md (the conformance table: the
documentation page, the server source, and where the documents are silent or ambiguous).

    POST /api/v2/media            multipart ``file`` + ``description`` (alt text) -> 202, url null
    GET  /api/v1/media/:id        206 (or 200 with ``url`` null) while processing, 200 with
                                  ``url`` when done, 422 when processing failed
    POST /api/v1/statuses         ``media_ids[]``, ``language=de``, ``visibility``,
                                  ``Idempotency-Key`` (kept 1 h); with ``ctx.scheduled_at`` also
                                  ``scheduled_at`` -> a ScheduledStatus (its own id), published
                                  by the server at that time as a NEW status with a new id

Native scheduling never publishes early: the docs say ``scheduled_at`` "must be at least 5
minutes in the future"; current servers refuse a closer time (422 ``too_soon``), older ones
silently post it AT ONCE. So the adapter refuses itself (``ScheduleTooClose``) unless the time
lies at least ``min_schedule_lead`` ahead (5 min + 2 min margin; account option for test
servers), measured against the server's clock (``Date`` header): a server whose clock runs ahead
gets the time shifted by that much, so it publishes at the slot in real time. A 422 about the
schedule (too soon, 25 a day, 300 in all) is ``ScheduleTooClose`` too.

Account options (``self.opts``: ``MastodonOptions`` of ``episodes.capabilities.mastodon``,
which holds the defaults):

    visibility         public | unlisted | private | direct (default ``public``)
    max_characters     the instance's status limit; overrides what ``check_credentials`` read
                       from ``/api/v2/instance`` (default: that, else 500; read by the text
                       check, and learned by connecting in the dashboard)
    poll_interval      seconds suggested between media polls (default 5)
    account_id         the posting account's id (connecting in the dashboard fills it in);
                       read from ``verify_credentials`` when missing
    min_schedule_lead  seconds; native scheduling only this far ahead (default 420,
                       ``SPEC.min_schedule_lead``)

Secret: ``access_token`` (scopes ``write:media write:statuses read:accounts read:statuses``).
Mastodon tokens do not expire; a revoked one gives 401 -> ``CredentialsExpired``.

Recorded in ``ctx.remote``: ``media_id``, ``media_ready``, ``status_attempt_at`` and
``status_attempt_for`` (written *before* the status POST), ``status_id`` + ``status_url`` (a real
status), ``scheduled_id`` + ``scheduled_for`` (a scheduled status), ``scheduled``.
Reconciliation lives in :mod:`.mastodon_find`.

Memory: the multipart body is produced by :class:`MultipartFile`, which streams the video from
disk in ``SPEC.chunk_size`` blocks with a known Content-Length; nothing holds the whole file.
"""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from episodes.capabilities import text_limits
from episodes.capabilities.mastodon import CAPABILITIES as CAPS
from episodes.capabilities.mastodon import MastodonOptions
from episodes.capabilities.text import LIMITS
from episodes.captions import TextLimits

from .base import (
    Deleted,
    Platform,
    PlatformSpec,
    PostContext,
    Processing,
    ProcessingState,
    Published,
    register,
)
from .errors import (
    CredentialsExpired,
    PlatformError,
    PlatformUnavailable,
    ProcessingFailed,
    RateLimited,
    RejectedByPlatform,
    ScheduleTooClose,
)
from .http import PlatformHTTP, read_chunks, retry_after_seconds
from .mastodon_find import IDEMPOTENCY_WINDOW, NAME, Reconciler

#: documented minimum lead of ``scheduled_at`` (statuses.md; the capability data) ...
SERVER_MIN_LEAD = CAPS.min_schedule_lead.total_seconds()
#: ... plus a margin for clock skew, latency and the orchestrator's retries
MIN_SCHEDULE_LEAD = SERVER_MIN_LEAD + 120.0
#: a server clock further ahead than this (seconds) shifts ``scheduled_at``; beyond an hour the
#: ``Date`` header is not trusted (a proxy's clock, a broken server)
SKEW_TOLERANCE, SKEW_LIMIT = 2.0, 3600.0
DESCRIPTION_LIMIT = 1500
_NOT_READY = "not finished processing"


def classify(status: int, body: Any, headers: Mapping[str, str]) -> PlatformError | None:
    """Mastodon's answer as a typed error (None when fine). Pure; tested from a table."""
    if status < 400:
        return None
    message = body.get("error", "") if isinstance(body, dict) else str(body or "")[:300]
    if status == 401:
        return CredentialsExpired(NAME, message, status=status)
    if status == 403:
        return CredentialsExpired(
            NAME, message, status=status,
            message_de=(
                "Mastodon verweigert den Zugriff: das Konto ist gesperrt, noch nicht bestätigt "
                "oder dem Zugangstoken fehlt eine Berechtigung (write:media, write:statuses). "
                "Bitte das Konto prüfen; der Beitrag wartet."
            ),
        )
    if status == 429:  # no Retry-After: X-RateLimit-Reset, measured on the server's clock
        wait = retry_after_seconds(headers, now=server_date(headers))
        return RateLimited(NAME, message or "too many requests", status=status,
                           retry_after=300.0 if wait is None else wait + 1.0)
    if status == 422 and _NOT_READY in message:
        return PlatformUnavailable(
            NAME, message, status=status, code="media_not_ready",
            message_de="Mastodon verarbeitet das Video noch. wtg versucht es gleich erneut.",
        )
    if status == 422 and "schedul" in message.lower():
        return ScheduleTooClose(NAME, message, status=status, code="schedule_refused")
    if status >= 500:
        return PlatformUnavailable(NAME, message or f"server error {status}", status=status)
    if status == 413:
        return RejectedByPlatform(
            NAME, message or "file too large", status=status,
            message_de="Mastodon: das Video ist für diesen Server zu groß. Bitte kürzer oder "
                       "kleiner exportieren.",
        )
    return RejectedByPlatform(
        NAME, message, status=status,
        message_de=f"Mastodon hat den Beitrag abgelehnt: {message or 'ohne Begründung'}. "
                   "Bitte Video und Text prüfen.",
    )


def server_date(headers: Mapping[str, str]) -> datetime | None:
    """The server's clock from its ``Date`` header (None when absent or unreadable)."""
    value = {k.lower(): v for k, v in headers.items()}.get("date")
    try:
        return email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


class MultipartFile:
    """A multipart/form-data body streamed from disk, with a known length.

    requests sends an object with ``__iter__`` and ``__len__`` as a stream with that
    Content-Length, so only one block of the file is in memory at a time.
    """

    def __init__(
        self, fields: list[tuple[str, str]], *, file_field: str, path: Path, size: int,
        mime: str, filename: str = "video.mp4", block: int = 1024 * 1024,
    ) -> None:
        self.boundary = "wtg-" + secrets.token_hex(16)
        self.path, self.size, self.block = path, size, block
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n" for name, value in fields
        ]
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
        )
        self.head = "".join(parts).encode("utf-8")
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as fh:
            for _offset, data in read_chunks(fh, 0, self.size, self.block):
                yield data
        yield self.tail


@register
class Mastodon(Platform):
    SPEC = PlatformSpec(
        name=NAME,
        label="Mastodon",
        text=LIMITS["mastodon"],  # episodes/capabilities/text.py
        chunk_size=1024 * 1024,  # read block for the streamed multipart body
        native_scheduling=True,
        min_schedule_lead=MIN_SCHEDULE_LEAD,
        max_schedule_lead=None,  # none documented (limits: 25 scheduled a day, 300 in all)
        processing_deadline=3600.0,  # the server transcodes; minutes for our episodes
        confirm_deadline=3600.0,  # the scheduler job runs every 5 min and posts at the time
    )

    opts: MastodonOptions

    def __init__(self, account: Any, credentials: Any) -> None:
        super().__init__(account, credentials)
        self.http = PlatformHTTP(NAME, account.api_base, classify)
        self._instance_max: int | None = None
        self._account_id: str | None = None
        self.skew: float | None = None  # server clock minus ours (seconds), from ``Date``
        self.find = Reconciler(self)

    # --- helpers --------------------------------------------------------------------------
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.require('access_token')}"}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One authorised request; the answer's ``Date`` updates :attr:`skew`."""
        kwargs["headers"] = {**self.auth(), **kwargs.get("headers", {})}
        resp = self.http.request(method, path, **kwargs)
        date = server_date(resp.headers)
        if date is not None:
            self.skew = (date + timedelta(seconds=1.5) - datetime.now(UTC)).total_seconds()
        return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.request(method, path, **kwargs)
        try:
            return resp.json()
        except ValueError:
            from .errors import ProtocolError

            raise ProtocolError(NAME, f"expected JSON, got {resp.text[:200]!r}",
                                status=resp.status_code) from None

    def learned_options(self) -> dict[str, str]:
        return {"max_characters": str(self._instance_max)} if self._instance_max else {}

    def text_limits(self) -> TextLimits:
        """The capability data, with the instance's own ``max_characters`` once learned."""
        return text_limits(self.account, instance_max=self._instance_max)

    def own_account_id(self, *, fresh: bool = False) -> str:
        if fresh or self._account_id is None:
            configured = self.opts.account_id
            if configured and not fresh:
                self._account_id = configured
            else:
                me = self.json("GET", "/api/v1/accounts/verify_credentials")
                self._account_id = str(me["id"])
        return self._account_id

    # --- hooks ----------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        me = self.json("GET", "/api/v1/accounts/verify_credentials")
        self._account_id = str(me["id"])
        try:
            info = self.json("GET", "/api/v2/instance")
        except RejectedByPlatform:  # very old servers have no v2 instance: keep the default
            return
        limit = info.get("configuration", {}).get("statuses", {}).get("max_characters")
        if isinstance(limit, int) and limit > 0:
            self._instance_max = limit

    def _upload(self, ctx: PostContext) -> None:
        if ctx.remote.get("media_id"):
            return  # a single request: once the id is recorded the server holds all bytes
        text = ctx.text.title or ctx.text.body
        body = MultipartFile(
            [("description", text[:DESCRIPTION_LIMIT])],
            file_field="file", path=ctx.video.path, size=ctx.video.size, mime=ctx.video.mime,
            block=self.SPEC.chunk_size,
        )
        # an upload whose answer is lost leaves an unattached media on the server, which
        # Mastodon removes by itself; uploading again is harmless
        media = self.json("POST", "/api/v2/media", data=body,
                          headers={"Content-Type": body.content_type}, timeout=(5.0, 300.0))
        ready = bool(media.get("url"))
        ctx.record({"media_id": str(media["id"]), "media_ready": ready})
        if ctx.progress:
            ctx.progress(ctx.video.size, ctx.video.size)

    def _poll(self, ctx: PostContext) -> Processing:
        ids = self.find.ids(ctx)
        if ids.status_id:
            return Processing(state=ProcessingState.PUBLISHED)
        if ids.scheduled_id or ctx.remote.get("media_ready"):
            return Processing(state=ProcessingState.READY)
        try:
            resp = self.request("GET", f"/api/v1/media/{ctx.remote['media_id']}")
        except RejectedByPlatform as exc:
            if exc.status == 422:
                raise ProcessingFailed(NAME, exc.detail, status=422) from exc
            raise
        media = resp.json()
        if resp.status_code == 200 and media.get("url"):  # 206, or 200 with url null: not yet
            ctx.record({"media_ready": True})
            return Processing(state=ProcessingState.READY)
        return Processing(state=ProcessingState.PENDING, detail="processing",
                          retry_after=self.opts.poll_interval)

    def _publish(self, ctx: PostContext) -> Published:
        ids = self.find.ids(ctx)
        if ids.status_id or ids.scheduled_id or ctx.remote.get("status_attempt_at"):
            # sent before (or its outcome unknown): never a second status
            found = self.find.published(ctx)
            if found is not None:
                return found
        if self._poll(ctx).state is ProcessingState.PENDING:
            # never attach unprocessed media (the server answers 422)
            raise PlatformUnavailable(
                NAME, "media still processing", code="media_not_ready",
                message_de="Mastodon verarbeitet das Video noch; wtg veröffentlicht, sobald "
                           "es fertig ist.",
            )
        send_at = self._schedule_time(ctx) if ctx.scheduled_at else None
        ctx.record({"status_attempt_at": datetime.now(UTC).isoformat(),
                    "status_attempt_for": ctx.scheduled_at.isoformat() if send_at else None})
        return self.post_status(ctx, send_at)

    def _find_published(self, ctx: PostContext) -> Published | None:
        return self.find.published(ctx)

    def _delete(self, ctx: PostContext) -> Deleted:
        """``DELETE /api/v1/statuses/:id`` on the recorded status (404: deleted before). A
        scheduled status is cancelled with ``DELETE /api/v1/scheduled_statuses/:id``; if that is
        gone, the server published it as a new status, which is looked up read-only by our
        media id (never by replaying the POST) and deleted."""
        ids = self.find.ids(ctx)
        if ids.status_id:
            return self._delete_status(ids.status_id)
        if ids.scheduled_id:
            try:
                self.json("DELETE", f"/api/v1/scheduled_statuses/{ids.scheduled_id}")
                return Deleted(remote_id=ids.scheduled_id)
            except RejectedByPlatform as exc:
                if exc.status not in (404, 410):
                    raise
        if ids.scheduled_id or ctx.remote.get("status_attempt_at"):
            found = self.find.search_statuses(
                ctx, since=_since(ctx.remote.get("status_attempt_at")))
            if found is not None:
                return self._delete_status(found.remote_id)
        return Deleted(remote_id="", existed=False)

    def _delete_status(self, sid: str) -> Deleted:
        try:
            self.json("DELETE", f"/api/v1/statuses/{sid}")
        except RejectedByPlatform as exc:
            if exc.status in (404, 410):
                return Deleted(remote_id=sid, existed=False)
            raise
        return Deleted(remote_id=sid)

    def _schedule_time(self, ctx: PostContext) -> datetime:
        """The ``scheduled_at`` to send for ``ctx.scheduled_at`` (shifted by a server clock that
        runs ahead), or ScheduleTooClose when it is too near to hand over safely."""
        assert ctx.scheduled_at is not None
        if self.skew is None:
            self.request("GET", "/api/v1/accounts/verify_credentials")  # learn the server clock
        lead = (ctx.scheduled_at - datetime.now(UTC)).total_seconds()
        minimum = self.min_schedule_lead()
        if lead < minimum:
            raise ScheduleTooClose(
                NAME, f"scheduled_at only {lead:.0f}s ahead (minimum {minimum:.0f}s)",
                code="too_close")
        skew = self.skew or 0.0
        shift = skew if SKEW_TOLERANCE < skew <= SKEW_LIMIT else 0.0
        return ctx.scheduled_at + timedelta(seconds=shift)

    def post_status(self, ctx: PostContext, send_at: datetime | None) -> Published:
        """The status POST with the post's Idempotency-Key (also the documented replay)."""
        form: list[tuple[str, str]] = [
            ("status", ctx.text.body),
            ("media_ids[]", str(ctx.remote["media_id"])),
            ("visibility", self.opts.visibility),
            ("language", ctx.text.language or "de"),
        ]
        if send_at is not None:  # whole seconds, rounded up: never a moment early
            whole = send_at.astimezone(UTC).replace(microsecond=0)
            whole += timedelta(seconds=1 if send_at.microsecond else 0)
            form.append(("scheduled_at", whole.isoformat().replace("+00:00", "Z")))
        status = self.json("POST", "/api/v1/statuses", data=form,
                           headers={"Idempotency-Key": ctx.idempotency_key})
        return self.find.record_answer(ctx, status)


def _since(value: Any) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


__all__ = ["IDEMPOTENCY_WINDOW", "Mastodon", "MultipartFile", "classify", "server_date"]

"""Every wait of a post has a deadline: the phases, their backoff and their German explanations.

A post waits for the platform in one *phase* at a time, recorded on the post as
``remote["wait"] = {"phase", "since", "polls"}`` (real time, UTC):

    processing  the upload is complete, the platform still processes it (before publishing)
    confirm     the publish call was acknowledged (Facebook), or a natively scheduled post's slot
                has passed, and the platform does not show the post public yet
    reconcile   the outcome of a publish call is unknown and the read-only lookup keeps failing
    finishing   the video is online; captions, thumbnail or playlist are not accepted yet

The interval between looks starts at the platform's suggestion (never below
``poll_interval_min``), grows by half each look and is capped by ``poll_interval_max`` — so a
long wait costs a few calls an hour, within every platform's rate limits. Past the phase's
deadline (``PlatformSpec.*_deadline``, or the account options ``processing_deadline_minutes``,
``confirm_deadline_minutes``, ``finish_deadline_minutes``) the post goes to ``needs_attention``
with :func:`overdue_de` and a notification. Pure: the orchestrator records the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from episodes.capabilities import Options

PHASES = ("processing", "confirm", "reconcile", "finishing")
#: growth of the interval per look
BACKOFF = 1.5
#: the longest countdown a task is re-sent with (longer waits are split: Celery ETAs stay far
#: below the broker's visibility timeout, and every waiting post is looked at regularly)
MAX_COUNTDOWN = 300.0


@dataclass(frozen=True, kw_only=True)
class Deadlines:
    """Seconds each phase may last (real time)."""

    processing: float
    confirm: float
    finishing: float

    def of(self, phase: str) -> float:
        return self.finishing if phase == "finishing" else (
            self.processing if phase == "processing" else self.confirm)

    @classmethod
    def for_account(cls, spec: Any, opts: Options) -> Deadlines:
        """The platform's deadlines, overridden per account (minutes) where its typed options
        (``Platform.opts``) set them."""

        def pick(minutes: float | None, default: float) -> float:
            return minutes * 60.0 if minutes is not None else float(default)

        return cls(processing=pick(opts.processing_deadline_minutes, spec.processing_deadline),
                   confirm=pick(opts.confirm_deadline_minutes, spec.confirm_deadline),
                   finishing=pick(opts.finish_deadline_minutes, spec.finish_deadline))


@dataclass(frozen=True, kw_only=True)
class Look:
    """The decision after one look that found the platform not done yet."""

    record: dict[str, Any]  # the new ``remote["wait"]``
    again: float | None  # seconds until the next look; None: the deadline has passed
    waited: float  # seconds spent in this phase so far


def next_look(previous: Mapping[str, Any] | None, phase: str, now: datetime, *,
              deadline: float, suggested: float, lo: float, hi: float) -> Look:
    """When to look again in ``phase`` (pure). A new phase starts its own clock."""
    prev = dict(previous or {})
    if prev.get("phase") != phase:
        prev = {"phase": phase, "since": now.isoformat(), "polls": 0}
    since = datetime.fromisoformat(str(prev["since"]))
    waited = max(0.0, (now - since).total_seconds())
    polls = int(prev.get("polls", 0)) + 1
    record = {**prev, "polls": polls}
    if waited >= deadline:
        return Look(record=record, again=None, waited=waited)
    interval = max(lo, suggested) * BACKOFF ** min(polls - 1, 30)
    interval = min(interval, hi, MAX_COUNTDOWN)
    # the last look falls on the deadline itself, so it is never overshot by a long interval
    again = max(lo, min(interval, deadline - waited + 0.01))
    return Look(record=record, again=again, waited=waited)


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} Sekunden"
    if seconds < 3 * 3600:
        return f"{seconds / 60:.0f} Minuten"
    return f"{seconds / 3600:.1f} Stunden".replace(".", ",")


def overdue_de(phase: str, platform: str, waited: float, *, detail: str = "") -> str:
    """The German explanation for staff when ``phase`` passed its deadline."""
    took = _minutes(waited)
    why = f" Letzte Rückmeldung: {detail}" if detail else ""
    if phase == "processing":
        text = (f"{platform} verarbeitet das hochgeladene Video seit {took} – länger als "
                "vorgesehen. wtg wartet nicht weiter. Bitte im Konto nachsehen, ob das Video "
                "dort hängt; „Erneut versuchen“ prüft zuerst, ob es inzwischen bereit ist, und "
                "lädt nur bei Bedarf neu hoch.")
    elif phase == "confirm":
        text = (f"{platform} hat den Beitrag angenommen, zeigt ihn aber nach {took} noch nicht "
                "als veröffentlicht. Bitte im Konto nachsehen. „Erneut versuchen“ prüft zuerst, "
                "ob er inzwischen online ist – es wird nichts doppelt gesendet.")
    elif phase == "reconcile":
        text = (f"Ob {platform} den Beitrag veröffentlicht hat, ließ sich seit {took} nicht "
                "klären, weil die Abfrage bei der Plattform immer wieder scheiterte. wtg sendet "
                "ihn nicht noch einmal, solange das unklar ist. Bitte im Konto nachsehen und "
                "dann „Erneut versuchen“.")
    else:
        text = (f"Video ist online, Untertitel fehlen: {platform} hat die Untertitel (bzw. "
                f"Vorschaubild oder Playlist) seit {took} nicht angenommen. „Erneut versuchen“ "
                "sendet nur das Fehlende, das Video bleibt online.")
    return text + why


__all__ = ["BACKOFF", "MAX_COUNTDOWN", "PHASES", "Deadlines", "Look", "next_look", "overdue_de"]

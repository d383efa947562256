"""The life of a post (one episode on one account), as an explicit state machine. Pure.

    pending -> preparing -> ready -> queued -> uploading -> processing -> publishing
            -> finishing -> published
    (pending/ready) -> cancelled | missed | skipped
    (queued .. publishing) -> failed | needs_attention        (staff: retry -> queued)
    publishing -> unconfirmed -> (reconciled with the platform) -> published | publishing
    (published | scheduled | needs_attention | failed) -> withdrawing
        -> withdrawn | withdraw_attention
    withdraw_attention -> withdrawing (staff: delete again) | withdrawn (staff: deleted by hand)

* ``queued``: the scheduler (or a person: publish-now, retry) handed it to a publish worker.
* ``publishing``: written *before* the irreversible call. A crash or an unknown outcome there
  leaves ``publishing``/``unconfirmed``; the next worker reconciles with the platform first.
* ``processing`` after ``publishing``: the platform confirmed receipt of the publish call and
  still processes (Facebook); polling, never publishing again, brings it to ``published``.
* ``finishing``: the video is online (or handed to the platform's scheduler); its follow-up parts
  are still being sent: the German caption track (required, BITV 2.0), thumbnail, playlist. Only
  then is the post ``published`` (or ``scheduled``). A retry from ``needs_attention`` re-sends only
  what is missing (queued -> finishing).
* ``scheduled``: uploaded ahead; the platform itself publishes at the slot (native scheduling);
  ``published`` only once the platform shows it public at or after the slot.
* ``missed``: the slot passed while wtg was down, outside the grace window; waits for a decision.
* ``withdrawing``: a second person approved withdrawing the episode (a volunteer withdrew their
  consent); a worker deletes the post on the platform through its documented delete call, exactly
  once (the delete targets only the recorded remote id; a delete whose answer was lost is simply
  sent again, and "already gone" counts as deleted). ``withdraw_attention``: the platform offers
  no delete call (Instagram, TikTok) or refused it; a person deletes it in the app and confirms.

Every transition is a compare-and-set in the database (``episodes.store``): a worker moves a post
only from the state it read, so two workers can never both publish the same post.
"""

from __future__ import annotations

from enum import StrEnum


class PostState(StrEnum):
    PENDING = "pending"
    PREPARING = "preparing"
    READY = "ready"
    QUEUED = "queued"
    UPLOADING = "uploading"
    PROCESSING = "processing"
    PUBLISHING = "publishing"
    FINISHING = "finishing"
    UNCONFIRMED = "unconfirmed"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"
    CANCELLED = "cancelled"
    MISSED = "missed"
    SKIPPED = "skipped"
    WITHDRAWING = "withdrawing"
    WITHDRAWN = "withdrawn"
    WITHDRAW_ATTENTION = "withdraw_attention"


S = PostState

#: state -> the states it may move to
TRANSITIONS: dict[PostState, frozenset[PostState]] = {
    S.PENDING: frozenset({S.PREPARING, S.READY, S.CANCELLED, S.MISSED, S.SKIPPED}),
    S.PREPARING: frozenset({S.READY, S.PENDING, S.CANCELLED}),
    S.READY: frozenset({S.QUEUED, S.PENDING, S.PREPARING, S.CANCELLED, S.MISSED, S.SKIPPED}),
    S.QUEUED: frozenset(
        {S.UPLOADING, S.PUBLISHING, S.UNCONFIRMED, S.FINISHING, S.READY, S.FAILED,
         S.NEEDS_ATTENTION, S.CANCELLED}
    ),
    S.UPLOADING: frozenset(
        {S.PROCESSING, S.QUEUED, S.FAILED, S.NEEDS_ATTENTION, S.UNCONFIRMED}
    ),
    S.PROCESSING: frozenset(
        {S.PUBLISHING, S.FINISHING, S.PUBLISHED, S.SCHEDULED, S.QUEUED, S.FAILED,
         S.NEEDS_ATTENTION}
    ),
    S.PUBLISHING: frozenset(
        {S.FINISHING, S.PUBLISHED, S.SCHEDULED, S.UNCONFIRMED, S.PROCESSING, S.FAILED,
         S.NEEDS_ATTENTION}
    ),
    S.FINISHING: frozenset({S.PUBLISHED, S.SCHEDULED, S.NEEDS_ATTENTION}),
    S.UNCONFIRMED: frozenset(
        {S.FINISHING, S.PUBLISHED, S.SCHEDULED, S.PUBLISHING, S.PROCESSING, S.QUEUED, S.FAILED,
         S.NEEDS_ATTENTION}
    ),
    S.SCHEDULED: frozenset({S.PUBLISHED, S.NEEDS_ATTENTION, S.FAILED, S.WITHDRAWING}),
    # out: only a withdrawal approved by a second person takes it back
    S.PUBLISHED: frozenset({S.WITHDRAWING}),
    S.FAILED: frozenset({S.QUEUED, S.READY, S.PENDING, S.CANCELLED, S.WITHDRAWING}),
    S.NEEDS_ATTENTION: frozenset({S.QUEUED, S.READY, S.PENDING, S.CANCELLED, S.WITHDRAWING}),
    S.CANCELLED: frozenset({S.PENDING, S.READY}),
    S.MISSED: frozenset({S.QUEUED, S.READY, S.PENDING, S.SKIPPED, S.CANCELLED}),
    S.SKIPPED: frozenset({S.PENDING, S.READY, S.CANCELLED}),
    S.WITHDRAWING: frozenset({S.WITHDRAWN, S.WITHDRAW_ATTENTION}),
    S.WITHDRAW_ATTENTION: frozenset({S.WITHDRAWING, S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}

#: a worker owns the post in these states (a lease guards them)
IN_FLIGHT = frozenset(
    {S.QUEUED, S.UPLOADING, S.PROCESSING, S.PUBLISHING, S.FINISHING, S.UNCONFIRMED})
#: nothing more will happen without a person
WAITING_FOR_STAFF = frozenset({S.FAILED, S.NEEDS_ATTENTION, S.MISSED})
#: a withdrawal deletes these on the platform (failed/needs_attention: whatever was sent there)
WITHDRAWABLE = frozenset({S.PUBLISHED, S.SCHEDULED, S.NEEDS_ATTENTION, S.FAILED})
#: the post is out (or the platform will publish it by itself)
DONE = frozenset({S.PUBLISHED, S.SCHEDULED})
#: the slot may hand these to a worker
DUE_FROM = frozenset({S.PENDING, S.PREPARING, S.READY})

LABEL_DE: dict[PostState, str] = {
    S.PENDING: "wartet",
    S.PREPARING: "Video wird vorbereitet",
    S.READY: "bereit",
    S.QUEUED: "in der Warteschlange",
    S.UPLOADING: "wird hochgeladen",
    S.PROCESSING: "wird von der Plattform verarbeitet",
    S.PUBLISHING: "wird veröffentlicht",
    S.FINISHING: "online – Untertitel und Vorschaubild werden übertragen",
    S.UNCONFIRMED: "unbestätigt – wird geprüft",
    S.SCHEDULED: "bei der Plattform eingeplant",
    S.PUBLISHED: "veröffentlicht",
    S.FAILED: "fehlgeschlagen",
    S.NEEDS_ATTENTION: "braucht Aufmerksamkeit",
    S.CANCELLED: "abgesagt",
    S.MISSED: "verpasst",
    S.SKIPPED: "übersprungen",
    S.WITHDRAWING: "wird gelöscht (zurückgezogen)",
    S.WITHDRAWN: "zurückgezogen – gelöscht",
    S.WITHDRAW_ATTENTION: "Löschen braucht Aufmerksamkeit",
}


class TransitionNotAllowed(ValueError):
    def __init__(self, current: PostState, target: PostState) -> None:
        self.current = current
        self.target = target
        super().__init__(f"post state {current} cannot move to {target}")


def can_move(current: PostState, target: PostState) -> bool:
    return target in TRANSITIONS[current]


def sources_of(target: PostState) -> frozenset[PostState]:
    """Every state from which ``target`` may be reached."""
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)

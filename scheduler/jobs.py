"""What happens at a slot, before it, and in the periodic sweep: decides what is due and hands it
to the workers by task name (``send_task``). Never talks to a platform, never imports one.

* :func:`fire_slot` -- at a slot: every waiting post of the slot's episodes on an enabled
  account goes ``ready -> queued`` (compare-and-set) and ``wtg.publish.run`` is sent. The slot is
  claimed first (``SlotRun``, unique per series + slot), so a second firing changes nothing.
  Not ready (video, approval, captions): ``hold`` shifts the series by a week, ``skip`` lets the
  slot pass without the episode. A paused series is held. A slot found more than
  ``grace_hours`` late (the scheduler was down) is not posted: its posts become ``missed`` and
  staff are told.
* :func:`fire_preflight` -- 48 h / 2 h before: ``wtg.publish.preflight(episode_id, kind)``.
* :func:`fire_ahead` -- for accounts with native scheduling: queue the post ahead of the slot, so
  the platform publishes at the slot even if wtg is down then.
* :class:`Sweeper` -- every ``sweep_seconds``: slots that passed unhandled (catch-up), posts in
  flight whose worker died or whose message the broker lost, natively scheduled posts past
  their slot (confirm with the platform).

Every function takes the clock as an argument (``Deps.clock``), so tests control time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from config import NotReadyPolicy, Settings
from episodes import store
from episodes.calendar import format_de
from episodes.db import Database
from episodes.lifecycle import DUE_FROM, IN_FLIGHT, PostState
from episodes.models import Episode, Post, Series, utcnow
from episodes.slots import (
    claim_slot,
    due_slots,
    episodes_at,
    hold_series,
    not_ready,
    scheduled_past,
    stale_posts,
)
from workers.task_names import PUBLISH_PREFLIGHT, PUBLISH_RUN

from .clock import Clock

log = logging.getLogger("wtg.scheduler")
S = PostState
PUBLISH = PUBLISH_RUN
PREFLIGHT = PUBLISH_PREFLIGHT


class Sender(Protocol):
    """Hands a task to the broker by name (a Celery app)."""

    def send_task(self, name: str, args: Sequence[Any] | None = None, **options: Any) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class Deps:
    db: Database
    sender: Sender
    clock: Clock
    settings: Settings
    actor: str = "scheduler"


@dataclass(frozen=True, kw_only=True)
class SlotResult:
    series_id: int
    slot_at: datetime
    outcome: str  # enqueued | held | skipped | missed | empty | already | gone
    queued: tuple[int, ...] = ()  # post ids
    held: tuple[int, ...] = ()  # episode numbers
    skipped: tuple[int, ...] = ()
    missed: tuple[int, ...] = ()


# --- the slot ---------------------------------------------------------------------------------
def fire_slot(deps: Deps, series_id: int, slot_at: datetime) -> SlotResult:
    """Handle one slot of one series, exactly once (see the module docstring)."""
    now = deps.clock.now()
    with deps.db.session() as s:
        series = s.get(Series, series_id)
        if series is None:
            return SlotResult(series_id=series_id, slot_at=slot_at, outcome="gone")
        eps = [e for e in episodes_at(s, series_id, slot_at) if _waiting(e)]
        run = claim_slot(s, series_id, slot_at, "empty",
                         episode_id=eps[0].id if eps else None)
        if run is None:
            return SlotResult(series_id=series_id, slot_at=slot_at, outcome="already")
        r = _Slot(deps, s, series, slot_at, now)
        if not eps:
            pass
        elif series.paused:
            r.hold(eps, reasons=["Die Reihe ist pausiert (wtg pause)."])
        elif now - slot_at > timedelta(hours=deps.settings.grace_hours):
            r.miss(eps)
        else:
            r.due(eps)
        run.outcome = r.outcome()
        run.details = {"episodes": [e.number for e in eps], "queued": r.queued,
                       "held": r.held, "skipped": r.skipped, "missed": r.missed,
                       "late_seconds": round((now - slot_at).total_seconds(), 3)}
        result = SlotResult(series_id=series_id, slot_at=slot_at, outcome=run.outcome,
                            queued=tuple(r.queued), held=tuple(r.held),
                            skipped=tuple(r.skipped), missed=tuple(r.missed))
    send_publish(deps, result.queued)
    if eps:
        log.info("slot %s of series %s: %s", slot_at.isoformat(), series_id, result.outcome)
    return result


class _Slot:
    """The decisions for one slot, inside the caller's transaction."""

    def __init__(self, deps: Deps, s: Any, series: Series, slot_at: datetime,
                 now: datetime) -> None:
        self.deps, self.s, self.series, self.slot_at, self.now = deps, s, series, slot_at, now
        self.tz = ZoneInfo(series.timezone)
        self.queued: list[int] = []
        self.held: list[int] = []
        self.skipped: list[int] = []
        self.missed: list[int] = []

    def outcome(self) -> str:
        for name, hit in (("missed", self.missed), ("held", self.held),
                          ("skipped", self.skipped), ("enqueued", self.queued)):
            if hit:
                return name
        return "empty"

    def due(self, eps: list[Episode]) -> None:
        waiting: list[tuple[Episode, list[str]]] = []
        for ep in eps:  # ready ones first: a hold must not carry them along
            problems = not_ready(ep)
            if problems:
                waiting.append((ep, [p.message_de for p in problems]))
            else:
                self.queued += queue_posts(self.deps, self.s, ep)
        if not waiting:
            return
        if self.deps.settings.not_ready_policy is NotReadyPolicy.SKIP:
            for ep, reasons in waiting:
                self.skip(ep, reasons)
        else:
            self.hold([ep for ep, _ in waiting], reasons=[r for _, rs in waiting for r in rs])

    def hold(self, eps: list[Episode], *, reasons: list[str]) -> None:
        first = min(eps, key=lambda e: e.number)
        self.s.expire_all()  # posts queued a moment ago must not move along
        shifts = hold_series(self.s, self.series, first.number, self.slot_at, self.now)
        self.held += [e.number for e in eps]
        moved = "; ".join(f"{_label(sh.number)} → {format_de(sh.new, self.tz)}" for sh in shifts)
        store.audit(self.s, self.deps.actor, "slot.hold", f"episode:{first.id}",
                    slot=self.slot_at, reasons=reasons,
                    shifts=[{"number": x.number, "old": x.old, "new": x.new} for x in shifts])
        store.notify(
            self.s, "warning",
            f"{_label(first.number)} verschoben: nicht bereit zum Termin "
            f"{format_de(self.slot_at, self.tz)}",
            " ".join(reasons) + f" Die Reihe rückt eine Woche nach: {moved}."
            + _past_end(self.series, shifts, self.tz),
            episode_id=first.id,
        )

    def skip(self, ep: Episode, reasons: list[str]) -> None:
        for p in ep.posts:
            if p.state in _DUE:
                store.transition(self.s, p.id, S.SKIPPED, expect=[S(p.state)])
        self.skipped.append(ep.number)
        store.audit(self.s, self.deps.actor, "slot.skip", f"episode:{ep.id}",
                    slot=self.slot_at, reasons=reasons)
        store.notify(
            self.s, "warning",
            f"{_label(ep.number)} übersprungen: nicht bereit zum Termin "
            f"{format_de(self.slot_at, self.tz)}",
            " ".join(reasons) + " Der Termin ist ohne diese Folge vergangen; nachholen mit "
            f"„wtg reschedule {ep.number} …“ oder „wtg publish-now {ep.number}“.",
            episode_id=ep.id,
        )

    def miss(self, eps: list[Episode]) -> None:
        late = self.now - self.slot_at
        for ep in eps:
            for p in ep.posts:
                if p.state in _DUE:
                    store.transition(self.s, p.id, S.MISSED, expect=[S(p.state)])
            self.missed.append(ep.number)
            store.audit(self.s, self.deps.actor, "slot.missed", f"episode:{ep.id}",
                        slot=self.slot_at, late_hours=round(late.total_seconds() / 3600, 2))
            store.notify(
                self.s, "error",
                f"{_label(ep.number)} verpasst: Termin {format_de(self.slot_at, self.tz)}",
                f"wtg lief zum Termin nicht und ist erst {_hours(late)} später wieder da – "
                f"mehr als die erlaubten {self.deps.settings.grace_hours:g} Stunden. Die Folge "
                f"wurde nicht gesendet. Bitte entscheiden: „wtg retry {ep.number}“ (jetzt "
                f"senden) oder „wtg reschedule {ep.number} …“ (neuer Termin).",
                episode_id=ep.id,
            )


def queue_posts(deps: Deps, s: Any, ep: Episode, *, native_only: bool = False) -> list[int]:
    """Waiting posts of ``ep`` on enabled accounts: ``ready -> queued``; returns their ids.
    The caller sends them after its transaction commits."""
    out = []
    for p in sorted(ep.posts, key=lambda p: p.id):
        acc = _account(deps.settings, p)
        if acc is None or (native_only and not acc.native_scheduling):
            continue
        if p.state in (S.PENDING, S.PREPARING):  # the media worker has not flipped it yet
            store.transition(s, p.id, S.READY, expect=[S(p.state)])
        if store.transition(s, p.id, S.QUEUED, expect=[S.READY], queued_at=utcnow()):
            out.append(p.id)
    if out:
        store.audit(s, deps.actor, "slot.native_ahead" if native_only else "slot.enqueue",
                    f"episode:{ep.id}", posts=out, slot=ep.slot_at)
    return out


def send_tasks(deps: Deps, task: str, post_ids: Sequence[int]) -> int:
    """Send ``task`` for each post; a broker error is logged, not raised (the sweep sends again
    for posts whose state says they are still waiting)."""
    sent = 0
    for pid in post_ids:
        try:
            deps.sender.send_task(task, args=[pid])
            sent += 1
        except Exception:  # the broker is down: the sweep retries
            log.exception("could not send %s for post %s", task, pid)
    return sent


def send_publish(deps: Deps, post_ids: Sequence[int]) -> int:
    """Send ``wtg.publish.run`` for each post (see :func:`send_tasks`)."""
    return send_tasks(deps, PUBLISH, post_ids)


def catch_up(deps: Deps) -> list[SlotResult]:
    """Every slot that passed without being handled (downtime, a lost job), oldest first."""
    now = deps.clock.now()
    with deps.db.session() as s:
        todo = [(series.id, slot) for series in store.all_series(s)
                for slot in due_slots(s, series.id, now)]
    return [fire_slot(deps, series_id, slot) for series_id, slot in todo]


# --- before the slot --------------------------------------------------------------------------
def fire_preflight(deps: Deps, episode_id: int, kind: str) -> bool:
    """Ask a worker for the pre-flight checks of an episode still waiting for its slot."""
    with deps.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None or not _waiting(ep):
            return False
    try:
        deps.sender.send_task(PREFLIGHT, args=[episode_id, kind])
    except Exception:
        log.exception("could not send %s for episode %s", PREFLIGHT, episode_id)
        return False
    return True


def fire_ahead(deps: Deps, series_id: int, slot_at: datetime) -> list[int]:
    """Native scheduling: queue the slot's posts for accounts that let the platform publish at
    the slot. Only a ready, approved episode of an active series; otherwise the slot decides."""
    if deps.clock.now() >= slot_at:
        return []
    queued: list[int] = []
    with deps.db.session() as s:
        series = s.get(Series, series_id)
        if series is None or series.paused:
            return []
        for ep in episodes_at(s, series_id, slot_at):
            if _waiting(ep) and not not_ready(ep):
                queued += queue_posts(deps, s, ep, native_only=True)
    send_publish(deps, queued)
    return queued


# --- the sweep --------------------------------------------------------------------------------
@dataclass
class SweepReport:
    slots: list[SlotResult] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    confirm: list[int] = field(default_factory=list)


class Sweeper:
    """The periodic safety net. Remembers what it re-sent, so a post waiting in a long queue is
    sent again at most once per ``lease_seconds``."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._sent: dict[int, float] = {}

    def __call__(self, *, idle_seconds: float | None = None) -> SweepReport:
        """One sweep. ``idle_seconds`` (default ``lease_seconds``): how long a post without a
        live lease must have sat still to be sent again; a new leader passes 0, because the
        scheduler before it may have died between queueing a post and sending it."""
        report = SweepReport(slots=catch_up(self.deps))
        lease = self.deps.settings.lease_seconds
        idle = lease if idle_seconds is None else idle_seconds
        idle_since = utcnow() - timedelta(seconds=idle)
        with self.deps.db.session() as s:
            stale = [p.id for p in stale_posts(s, IN_FLIGHT, idle_since)]
            confirm = [p.id for p in scheduled_past(s, self.deps.clock.now())]
        report.resent = self._send(stale, lease)
        report.confirm = self._send(confirm, lease)
        from .controls import resend_withdrawals  # controls imports this module

        report.resent += resend_withdrawals(self.deps, self._sent, idle_since, lease)
        if report.resent:
            log.warning("re-sent posts whose worker or message was lost: %s", report.resent)
        return report

    def _send(self, post_ids: list[int], every: float) -> list[int]:
        now = time.monotonic()
        due = [pid for pid in post_ids if now - self._sent.get(pid, -1e18) >= every]
        for pid in due:
            self._sent[pid] = now
        send_publish(self.deps, due)
        return due


# --- helpers ----------------------------------------------------------------------------------
_DUE = {str(x) for x in DUE_FROM}


def _waiting(ep: Episode) -> bool:
    return any(p.state in _DUE for p in ep.posts)


def _account(settings: Settings, post: Post) -> Any:
    try:
        acc = settings.account(post.account.name)
    except KeyError:
        return None
    return acc if acc.enabled and post.account.enabled else None


def _label(number: int) -> str:
    return "Trailer" if number == 0 else f"Folge {number}"


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} Stunden" if hours < 48 else f"{hours / 24:.1f} Tage".replace(".", ",")


def _past_end(series: Series, shifts: Sequence[Any], tz: ZoneInfo) -> str:
    if shifts and shifts[-1].new.astimezone(tz).date() > series.last_date:
        return f" Die Staffel endet dadurch erst am {format_de(shifts[-1].new, tz)}."
    return ""


__all__ = [
    "PREFLIGHT", "PUBLISH", "Deps", "Sender", "SlotResult", "SweepReport", "Sweeper", "catch_up",
    "fire_ahead", "fire_preflight", "fire_slot", "queue_posts", "send_publish", "send_tasks",
]

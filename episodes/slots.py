"""Slots in the database: which slots were handled, which episodes are due, whether an episode
is ready, the hold that shifts the series by a week, the virtual clock's anchor. SQL and domain
rules only (the scheduler room decides when to call these; no Celery, no HTTP here).

A slot is a series' instant (aware UTC). ``SlotRun`` (unique per series + slot) is the record that
the scheduler handled it: :func:`claim_slot` inserts it and returns False for every later caller,
so a slot that fires twice (two scheduler instances, a retry, the catch-up after downtime) is
handled exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from .calendar import next_weekly_slot, parse_time
from .lifecycle import DUE_FROM, PostState
from .models import Episode, Lease, MediaStatus, Post, SchedulerClock, Series, SlotRun, utcnow

S = PostState
_DUE = [str(x) for x in DUE_FROM]


@dataclass(frozen=True)
class NotReady:
    """Why an episode cannot go out at its slot: a stable code and a German sentence."""

    code: str  # media | approval | captions
    message_de: str


@dataclass(frozen=True)
class Shift:
    """One episode moved by a hold."""

    number: int
    old: datetime
    new: datetime


# --- readiness (pure over loaded rows) --------------------------------------------------------
def not_ready(ep: Episode) -> list[NotReady]:
    """Everything that keeps ``ep`` from going out now; empty means ready."""
    out = []
    if ep.media_status != MediaStatus.VERIFIED:
        out.append(NotReady(
            "media", f"Das Video ist nicht fertig geprüft (Stand: {ep.media_status})."))
    if not ep.approved:
        out.append(NotReady("approval", "Die Folge ist (in dieser Fassung) nicht freigegeben."))
    sidecar_missing = any(
        r.verified and (r.details or {}).get("captions") == "sidecar" and not r.captions_srt
        for r in ep.renditions
    )
    if not ep.subtitle_path or sidecar_missing:
        out.append(NotReady("captions", "Die Untertitel fehlen."))
    return out


def calendar_of(series: Series) -> dict[str, Any]:
    """Keyword arguments for ``episodes.calendar`` from a series row."""
    return {
        "weekday": series.weekday,
        "at": parse_time(series.time_of_day),
        "tz": ZoneInfo(series.timezone),
        "blackout": [date.fromisoformat(d) for d in series.blackout_dates or []],
    }


# --- slot runs --------------------------------------------------------------------------------
def claim_slot(
    s: Session, series_id: int, slot_at: datetime, outcome: str, *,
    episode_id: int | None = None, details: dict[str, Any] | None = None,
) -> SlotRun | None:
    """Record that the slot is being handled; None if someone already did (nothing written)."""
    run = SlotRun(series_id=series_id, slot_at=slot_at, outcome=outcome, episode_id=episode_id,
                  details=details or {})
    try:
        with s.begin_nested():
            s.add(run)
            s.flush()
    except IntegrityError:
        return None
    return run


def handled_slots(s: Session, series_id: int) -> set[datetime]:
    return set(s.scalars(select(SlotRun.slot_at).where(SlotRun.series_id == series_id)))


def slot_runs(s: Session, series_id: int) -> list[SlotRun]:
    return list(s.scalars(
        select(SlotRun).where(SlotRun.series_id == series_id).order_by(SlotRun.slot_at)))


def due_slots(s: Session, series_id: int, until: datetime) -> list[datetime]:
    """Slots up to ``until`` with a post still waiting for them and no SlotRun yet, in order."""
    q = (
        select(Episode.slot_at).join(Post, Post.episode_id == Episode.id)
        .where(Episode.series_id == series_id, Episode.slot_at.is_not(None),
               Episode.slot_at <= until, Post.state.in_(_DUE))
        .distinct()
    )
    done = handled_slots(s, series_id)
    return sorted(t for t in s.scalars(q) if t not in done)


def episodes_at(s: Session, series_id: int, slot_at: datetime) -> list[Episode]:
    """Episodes of the series at this slot, with posts, accounts and renditions loaded."""
    q = (
        select(Episode).where(Episode.series_id == series_id, Episode.slot_at == slot_at)
        .order_by(Episode.number)
        .options(selectinload(Episode.posts).selectinload(Post.account),
                 selectinload(Episode.renditions))
    )
    return list(s.scalars(q))


def upcoming(s: Session, series_id: int) -> list[Episode]:
    """Episodes with a slot and a post still waiting for it, in slot order."""
    q = (
        select(Episode).where(Episode.series_id == series_id, Episode.slot_at.is_not(None))
        .options(selectinload(Episode.posts).selectinload(Post.account))
        .order_by(Episode.slot_at, Episode.number)
    )
    return [e for e in s.scalars(q) if any(p.state in _DUE for p in e.posts)]


def is_movable(ep: Episode) -> bool:
    """An episode can change its slot while every post still waits for it."""
    return bool(ep.posts) and all(p.state in _DUE for p in ep.posts)


def set_slot(s: Session, ep: Episode, when: datetime) -> None:
    """Move an episode and its waiting posts to ``when``."""
    ep.slot_at = when
    s.execute(
        update(Post).where(Post.episode_id == ep.id, Post.state.in_(_DUE)).values(slot_at=when)
    )


def hold_series(s: Session, series: Series, number: int, slot_at: datetime,
                now: datetime) -> list[Shift]:
    """Episode ``number`` and every later one still waiting move one slot later (the first
    calendar slot after both the held slot and ``now``; later episodes keep their order and
    each lands on a later slot than the one before)."""
    cal = calendar_of(series)
    eps = [e for e in series.episodes
           if e.number >= number and e.slot_at is not None and e.slot_at >= slot_at
           and is_movable(e)]
    shifts = []
    floor = max(slot_at, now)
    for ep in sorted(eps, key=lambda e: (e.slot_at, e.number)):
        assert ep.slot_at is not None
        new = next_weekly_slot(max(ep.slot_at, floor), **cal)
        shifts.append(Shift(ep.number, ep.slot_at, new))
        set_slot(s, ep, new)
        floor = new
    s.flush()
    return shifts


# --- posts for the sweep ----------------------------------------------------------------------
def stale_posts(s: Session, states: Iterable[PostState], idle_since: datetime) -> list[Post]:
    """Posts in ``states`` with no live lease whose state has not changed since ``idle_since``
    (their worker died, or the broker lost the message)."""
    now = utcnow()
    q = select(Post).where(
        Post.state.in_([str(x) for x in states]),
        (Post.lease_until.is_(None)) | (Post.lease_until < now),
        Post.state_changed_at < idle_since,
    )
    return list(s.scalars(q.order_by(Post.id)))


def scheduled_past(s: Session, now: datetime) -> list[Post]:
    """Natively scheduled posts whose slot has passed: to be confirmed with the platform."""
    q = select(Post).where(Post.state == str(S.SCHEDULED), Post.slot_at <= now)
    return list(s.scalars(q.order_by(Post.id)))


# --- leases and the clock ---------------------------------------------------------------------
def lease_holder(s: Session, name: str) -> tuple[str, datetime] | None:
    row = s.get(Lease, name, populate_existing=True)
    return (row.owner, row.expires_at) if row else None


def release_named_lease(s: Session, name: str, owner: str) -> None:
    """Give up a named lease at once (a clean shutdown: the standby need not wait)."""
    s.execute(update(Lease).where(Lease.name == name, Lease.owner == owner)
              .values(expires_at=utcnow() - timedelta(seconds=1)))


def clock_anchor(
    s: Session, *, scale: float, virtual_start: datetime | None, real_now: datetime,
    name: str = "default", create: bool = True,
) -> tuple[datetime, datetime]:
    """(virtual, real) instants that are the same moment. The first caller records them; later
    callers with the same scale and start (None: any start) get the recorded pair, so every
    process (and a standby taking over) reads one clock. Other settings start a new clock."""
    row = s.get(SchedulerClock, name, populate_existing=True)
    if row and row.scale == scale and virtual_start in (None, row.virtual_start):
        return row.virtual_start, row.real_start
    virtual_start = virtual_start or real_now
    if not create:
        return virtual_start, real_now
    if row is None:
        row = SchedulerClock(name=name)
        s.add(row)
    row.scale, row.virtual_start, row.real_start = scale, virtual_start, real_now
    s.flush()
    return virtual_start, real_now


__all__ = [
    "NotReady", "Shift", "calendar_of", "claim_slot", "clock_anchor", "due_slots", "episodes_at",
    "handled_slots", "hold_series", "is_movable", "lease_holder", "not_ready",
    "release_named_lease", "scheduled_past", "set_slot", "slot_runs", "stale_posts", "upcoming",
]

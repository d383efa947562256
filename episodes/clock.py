"""The clock of slots: real time, or a virtual time running ``scale`` times faster (the demo
and the tests compress a season of weekly slots into about a minute).

    virtual = anchor_virtual + (real - anchor_real) * scale

Slot times are stored as the season says (virtual instants); the runner converts them to real
instants for APScheduler with :meth:`ScaledClock.to_real`. Hours in the settings (``grace_hours``,
``preflight_hours``, ``native_schedule_hours``) are virtual; seconds (``lease_seconds``,
``sweep_seconds``, ``leader_lease_seconds``) are real. The anchor is kept in the database
(``scheduler_clock``), so a standby scheduler taking over continues the same clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from config import Settings

from .db import Database
from .slots import clock_anchor


class Clock(Protocol):
    """What the scheduler's logic asks of time."""

    def now(self) -> datetime:
        """The current (virtual) instant, aware."""
        ...

    def to_real(self, virtual: datetime) -> datetime: ...

    def to_virtual(self, real: datetime) -> datetime: ...


@dataclass(frozen=True)
class ScaledClock:
    """``scale`` virtual seconds pass per real second, starting at the anchors."""

    anchor_virtual: datetime
    anchor_real: datetime
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError("scale must be positive")
        if self.anchor_virtual.tzinfo is None or self.anchor_real.tzinfo is None:
            raise ValueError("clock anchors must be timezone-aware")

    def now(self) -> datetime:
        return self.to_virtual(datetime.now(UTC))

    def to_virtual(self, real: datetime) -> datetime:
        return (self.anchor_virtual + (real - self.anchor_real) * self.scale).astimezone(UTC)

    def to_real(self, virtual: datetime) -> datetime:
        return (self.anchor_real + (virtual - self.anchor_virtual) / self.scale).astimezone(UTC)

    def real_seconds(self, virtual: timedelta) -> float:
        """How many real seconds a span of virtual time lasts."""
        return virtual.total_seconds() / self.scale


def real_clock() -> ScaledClock:
    now = datetime.now(UTC)
    return ScaledClock(now, now, 1.0)


def clock_for(settings: Settings, db: Database, *, create: bool = True) -> ScaledClock:
    """The clock the settings ask for. Without ``clock_start`` and with ``time_scale`` 1 this is
    the real clock; otherwise the anchor comes from (and, with ``create``, goes to) the
    database. A command that only reads (``create=False``) gets a provisional anchor "now" if no
    scheduler has started the clock yet."""
    scale = float(settings.time_scale)
    if settings.clock_start is None and scale == 1.0:
        return real_clock()
    start = settings.clock_start
    if start is not None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(settings.timezone))
        start = start.astimezone(UTC)
    with db.session() as s:
        virtual, real = clock_anchor(s, scale=scale, virtual_start=start,
                                     real_now=datetime.now(UTC), create=create)
    return ScaledClock(virtual, real, scale)


__all__ = ["Clock", "ScaledClock", "clock_for", "real_clock"]

"""The scheduler's clock (see :mod:`episodes.clock`, where it lives so that workers and the
dashboard read the same virtual time), plus :class:`ManualClock` for tests of the scheduler's
logic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from episodes.clock import Clock, ScaledClock, clock_for, real_clock


@dataclass
class ManualClock:
    """A clock that moves only when told to (pure tests, benchmarks of logic)."""

    current: datetime
    scale: float = 1.0
    _real: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.current.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current

    def to_virtual(self, real: datetime) -> datetime:
        return self.current + (real - self._real) * self.scale

    def to_real(self, virtual: datetime) -> datetime:
        return self._real + (virtual - self.current) / self.scale


__all__ = ["Clock", "ManualClock", "ScaledClock", "clock_for", "real_clock"]

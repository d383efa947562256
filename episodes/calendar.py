"""The slot calendar: which episode goes out when. Pure (no I/O, no clock).

Slots are the series' weekday and local time in its timezone, weekly from the first to the last
date, minus blackout dates. Local wall-clock time is kept across daylight-saving changes
(17:00 stays 17:00 in winter and summer; the UTC instant moves). Episodes take the slots in order
of their number (trailer, 0, first); an episode with an explicit slot keeps it, and the others
fill the remaining slots in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def local_slot(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The aware instant of wall-clock ``at`` on ``day`` in ``tz`` (DST-correct)."""
    naive = datetime.combine(day, at)
    # fold=0 picks the first of two instants in the autumn hour that happens twice; a time in
    # the spring gap is moved forward by the gap, as a clock on the wall would be.
    aware = naive.replace(tzinfo=tz)
    roundtrip = aware.astimezone(UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != naive:  # in the gap
        aware = roundtrip
    return aware


def weekly_slots(
    *,
    first: date,
    last: date,
    weekday: int,
    at: time,
    tz: ZoneInfo,
    blackout: Iterable[date] = (),
) -> list[datetime]:
    """Every slot of the season, in order, as aware datetimes in ``tz``."""
    blocked = set(blackout)
    day = first + timedelta(days=(weekday - first.weekday()) % 7)
    out = []
    while day <= last:
        if day not in blocked:
            out.append(local_slot(day, at, tz))
        day += timedelta(days=7)
    return out


def assign_slots(
    numbers: Sequence[int],
    slots: Sequence[datetime],
    overrides: Mapping[int, datetime] | None = None,
) -> dict[int, datetime | None]:
    """Episode number -> slot. Overrides are kept; the rest take free slots in number order.
    An episode left without a slot (more episodes than slots) maps to None."""
    overrides = dict(overrides or {})
    taken = {o for o in overrides.values()}
    free = [s for s in slots if s not in taken]
    out: dict[int, datetime | None] = {}
    for n in sorted(numbers):
        if n in overrides:
            out[n] = overrides[n]
        else:
            out[n] = free.pop(0) if free else None
    return out


def parse_weekday(value: str | int) -> int:
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise ValueError("Wochentag muss 0 (Montag) bis 6 (Sonntag) sein")
    v = value.strip().lower()
    for names in (WEEKDAYS_EN, tuple(d.lower() for d in WEEKDAYS_DE)):
        if v in names:
            return names.index(v)
    raise ValueError(f"unbekannter Wochentag {value!r} (z. B. donnerstag oder thursday)")


def parse_time(value: str) -> time:
    try:
        hh, mm = value.strip().split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ValueError(f"Uhrzeit {value!r} bitte als HH:MM angeben, z. B. 17:00") from None


def next_weekly_slot(
    after: datetime,
    *,
    weekday: int,
    at: time,
    tz: ZoneInfo,
    blackout: Iterable[date] = (),
) -> datetime:
    """The first slot of the weekly calendar strictly after ``after``, skipping blackout dates.
    Not bounded by the season's last date: a held series may run past it."""
    blocked = set(blackout)
    day = after.astimezone(tz).date()
    day += timedelta(days=(weekday - day.weekday()) % 7)
    for _ in range(60 * 53):  # sixty years of weeks: only an all-blackout calendar gets here
        if day not in blocked:
            slot = local_slot(day, at, tz)
            if slot.astimezone(UTC) > after.astimezone(UTC):  # absolute, not wall clock
                return slot
        day += timedelta(days=7)
    raise ValueError("kein freier Sendetermin gefunden (alle Termine gesperrt?)")


_ZONE_DE = {"CET": "MEZ", "CEST": "MESZ"}


def format_de(when: datetime, tz: ZoneInfo) -> str:
    """``Do 03.11.2022 17:00 MEZ``: an instant as staff read it, in the series' timezone."""
    local = when.astimezone(tz)
    zone = local.tzname() or ""
    return (f"{WEEKDAYS_DE[local.weekday()][:2]} {local:%d.%m.%Y %H:%M} "
            f"{_ZONE_DE.get(zone, zone)}").strip()

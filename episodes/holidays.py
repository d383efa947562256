"""Public holidays of Mecklenburg-Vorpommern, computed (no data file, no network). Pure.

Neujahr, Internationaler Frauentag (8 March, a holiday in MV since 2023), Karfreitag,
Ostermontag, Tag der Arbeit, Christi Himmelfahrt, Pfingstmontag, Tag der Deutschen Einheit,
Reformationstag, 1. und 2. Weihnachtsfeiertag. The calendar shows them beside each day.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def holidays_mv(year: int) -> dict[date, str]:
    """Date -> German name of every public holiday in Mecklenburg-Vorpommern in ``year``."""
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Neujahr",
        easter - timedelta(days=2): "Karfreitag",
        easter + timedelta(days=1): "Ostermontag",
        date(year, 5, 1): "Tag der Arbeit",
        easter + timedelta(days=39): "Christi Himmelfahrt",
        easter + timedelta(days=50): "Pfingstmontag",
        date(year, 10, 3): "Tag der Deutschen Einheit",
        date(year, 10, 31): "Reformationstag",
        date(year, 12, 25): "1. Weihnachtsfeiertag",
        date(year, 12, 26): "2. Weihnachtsfeiertag",
    }
    if year >= 2023:
        days[date(year, 3, 8)] = "Internationaler Frauentag"
    return dict(sorted(days.items()))


def holiday_mv(day: date) -> str | None:
    """The holiday's name on ``day``, or None."""
    return holidays_mv(day.year).get(day)


__all__ = ["easter_sunday", "holiday_mv", "holidays_mv"]

"""Public holidays of Mecklenburg-Vorpommern, computed without a data file."""

from __future__ import annotations

from datetime import date

import pytest

from episodes.holidays import easter_sunday, holiday_mv, holidays_mv


@pytest.mark.parametrize(("year", "easter"), [
    (2022, date(2022, 4, 17)), (2023, date(2023, 4, 9)), (2024, date(2024, 3, 31)),
    (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
    (2038, date(2038, 4, 25)), (2049, date(2049, 4, 18)),
])
def test_easter_sunday(year: int, easter: date) -> None:
    """Easter Sunday matches the published dates, including the extremes of its range."""
    assert easter_sunday(year) == easter


def test_the_2026_holidays_of_mecklenburg_vorpommern() -> None:
    """2026 in MV: eleven holidays with their German names, Women's Day included."""
    assert holidays_mv(2026) == {
        date(2026, 1, 1): "Neujahr",
        date(2026, 3, 8): "Internationaler Frauentag",
        date(2026, 4, 3): "Karfreitag",
        date(2026, 4, 6): "Ostermontag",
        date(2026, 5, 1): "Tag der Arbeit",
        date(2026, 5, 14): "Christi Himmelfahrt",
        date(2026, 5, 25): "Pfingstmontag",
        date(2026, 10, 3): "Tag der Deutschen Einheit",
        date(2026, 10, 31): "Reformationstag",
        date(2026, 12, 25): "1. Weihnachtsfeiertag",
        date(2026, 12, 26): "2. Weihnachtsfeiertag",
    }


def test_womens_day_only_since_2023_and_no_other_states_holidays() -> None:
    """8 March is a holiday in MV from 2023 on; Fronleichnam and Allerheiligen never are."""
    assert holiday_mv(date(2022, 3, 8)) is None
    assert holiday_mv(date(2023, 3, 8)) == "Internationaler Frauentag"
    assert holiday_mv(date(2026, 6, 4)) is None  # Fronleichnam (Bavaria etc.)
    assert holiday_mv(date(2026, 11, 1)) is None  # Allerheiligen
    assert holiday_mv(date(2022, 10, 31)) == "Reformationstag"

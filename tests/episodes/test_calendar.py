"""The slot calendar: weekly wall-clock slots across DST, blackouts and overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from episodes.calendar import assign_slots, local_slot, parse_time, parse_weekday, weekly_slots

BERLIN = ZoneInfo("Europe/Berlin")


def test_wall_clock_time_is_kept_across_the_autumn_change():
    """17:00 stays 17:00 local before and after the end of summer time; UTC moves by an hour."""
    slots = weekly_slots(first=date(2022, 10, 20), last=date(2022, 11, 3), weekday=3,
                         at=time(17, 0), tz=BERLIN)
    assert [s.astimezone(BERLIN).hour for s in slots] == [17, 17, 17]
    assert [s.astimezone(UTC).hour for s in slots] == [15, 15, 16]  # DST ended 30 Oct 2022
    assert [s.utcoffset() for s in slots] == [timedelta(hours=2)] * 2 + [timedelta(hours=1)]


def test_wall_clock_time_is_kept_across_the_spring_change():
    """Across the start of summer time the UTC instant moves the other way."""
    slots = weekly_slots(first=date(2023, 3, 23), last=date(2023, 3, 30), weekday=3,
                         at=time(17, 0), tz=BERLIN)
    assert [s.astimezone(UTC).hour for s in slots] == [16, 15]


def test_time_in_the_spring_gap_moves_forward():
    """02:30 on 26 March 2023 does not exist in Berlin; the slot is 03:30 summer time."""
    slot = local_slot(date(2023, 3, 26), time(2, 30), BERLIN)
    assert slot.astimezone(BERLIN).replace(tzinfo=None) == datetime(2023, 3, 26, 3, 30)
    assert slot.astimezone(UTC) == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)


def test_time_in_the_autumn_overlap_takes_the_first_instant():
    """02:30 on 30 October 2022 happens twice; the slot is the first (summer time) one."""
    slot = local_slot(date(2022, 10, 30), time(2, 30), BERLIN)
    assert slot.astimezone(UTC) == datetime(2022, 10, 30, 0, 30, tzinfo=UTC)


def test_first_date_not_on_the_weekday_starts_at_the_next_one():
    """A season starting on a Monday begins with the following Thursday."""
    slots = weekly_slots(first=date(2022, 10, 31), last=date(2022, 11, 10), weekday=3,
                         at=time(17, 0), tz=BERLIN)
    assert [s.date() for s in slots] == [date(2022, 11, 3), date(2022, 11, 10)]


def test_blackouts_are_left_out():
    """The Christmas weeks give no slot; the last date is included."""
    slots = weekly_slots(first=date(2022, 11, 3), last=date(2023, 1, 26), weekday=3,
                         at=time(17, 0), tz=BERLIN,
                         blackout=[date(2022, 12, 22), date(2022, 12, 29)])
    days = [s.date() for s in slots]
    assert len(days) == 11
    assert date(2022, 12, 22) not in days and date(2022, 12, 29) not in days
    assert days[-1] == date(2023, 1, 26)


def test_blackout_on_another_weekday_changes_nothing():
    """A blackout that is not on the series' weekday removes no slot."""
    slots = weekly_slots(first=date(2022, 11, 3), last=date(2022, 11, 10), weekday=3,
                         at=time(17, 0), tz=BERLIN, blackout=[date(2022, 11, 4)])
    assert len(slots) == 2


def test_overrides_keep_their_slot_and_the_others_fill_in_order():
    """An episode with its own slot keeps it; the rest take the free slots by number."""
    slots = weekly_slots(first=date(2022, 11, 3), last=date(2022, 11, 24), weekday=3,
                         at=time(17, 0), tz=BERLIN)
    special = datetime(2022, 11, 19, 11, 0, tzinfo=BERLIN)  # a Saturday
    out = assign_slots([0, 1, 2, 3], slots, {2: special, 1: slots[0]})
    assert out == {0: slots[1], 1: slots[0], 2: special, 3: slots[2]}


def test_more_episodes_than_slots_leaves_the_last_without_a_slot():
    """Episodes beyond the last slot map to None (the season file reports it)."""
    slots = weekly_slots(first=date(2022, 11, 3), last=date(2022, 11, 10), weekday=3,
                         at=time(17, 0), tz=BERLIN)
    assert assign_slots([0, 1, 2], slots) == {0: slots[0], 1: slots[1], 2: None}


@pytest.mark.parametrize(("text", "number"), [
    ("thursday", 3), ("Donnerstag", 3), (" donnerstag ", 3), ("montag", 0), ("Sunday", 6),
    (3, 3), (0, 0), (6, 6),
])
def test_weekday_names_in_german_and_english(text: str | int, number: int):
    """Weekdays are accepted in German, English or as 0-6 (Monday = 0)."""
    assert parse_weekday(text) == number


@pytest.mark.parametrize("bad", ["donnerstg", "Do", 7, -1, ""])
def test_unknown_weekday_is_a_german_error(bad: str | int):
    """An unknown weekday raises ValueError with a German hint."""
    with pytest.raises(ValueError, match="Wochentag"):
        parse_weekday(bad)


@pytest.mark.parametrize(("text", "at"), [("17:00", time(17, 0)), (" 9:05 ", time(9, 5))])
def test_time_parses(text: str, at: time):
    """HH:MM is read as a wall-clock time."""
    assert parse_time(text) == at


@pytest.mark.parametrize("bad", ["17 Uhr", "25:00", "17:60", "1700", "17:00:00"])
def test_bad_time_is_a_german_error(bad: str):
    """Anything that is not HH:MM raises ValueError asking for HH:MM."""
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time(bad)

"""The slot calendar: weekly local times across DST, blackout dates, order, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from episodes.calendar import assign_slots, format_de, next_weekly_slot, weekly_slots

from .kit import BERLIN


def test_thursday_slot_keeps_local_time_across_october_dst_end() -> None:
    """17:00 stays 17:00 in Berlin when summer time ends (last Sunday of October): the UTC
    instant moves from 15:00 to 16:00."""
    slots = weekly_slots(first=date(2022, 10, 20), last=date(2022, 11, 3), weekday=3,
                         at=time(17, 0), tz=BERLIN)
    assert [s.astimezone(UTC).hour for s in slots] == [15, 15, 16]
    assert [s.date() for s in slots] == [date(2022, 10, 20), date(2022, 10, 27),
                                         date(2022, 11, 3)]
    assert slots[2].astimezone(UTC) - slots[1].astimezone(UTC) == timedelta(days=7, hours=1)


def test_thursday_slot_keeps_local_time_across_march_dst_start() -> None:
    """When summer time starts (last Sunday of March) 17:00 moves from 16:00 to 15:00 UTC."""
    slots = weekly_slots(first=date(2023, 3, 23), last=date(2023, 3, 30), weekday=3,
                         at=time(17, 0), tz=BERLIN)
    assert [s.astimezone(UTC).hour for s in slots] == [16, 15]
    assert all(s.astimezone(BERLIN).hour == 17 for s in slots)


def test_sunday_slot_in_the_spring_gap_moves_forward_and_autumn_repeat_takes_first() -> None:
    """A Sunday 02:30 slot does not exist on 26.03.2023 (taken as 03:30 summer time) and
    happens twice on 30.10.2022 (the first, summer-time instant is used)."""
    spring = weekly_slots(first=date(2023, 3, 26), last=date(2023, 3, 26), weekday=6,
                          at=time(2, 30), tz=BERLIN)[0]
    assert spring.astimezone(UTC) == datetime(2023, 3, 26, 1, 30, tzinfo=UTC)
    assert spring.astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    autumn = weekly_slots(first=date(2022, 10, 30), last=date(2022, 10, 30), weekday=6,
                          at=time(2, 30), tz=BERLIN)[0]
    assert autumn.astimezone(UTC) == datetime(2022, 10, 30, 0, 30, tzinfo=UTC)


def test_blackout_dates_are_skipped_and_episodes_take_slots_trailer_first() -> None:
    """Christmas week is skipped; the trailer (0) gets the first slot, an override is kept and
    the others fill the remaining slots in order."""
    slots = weekly_slots(first=date(2022, 12, 8), last=date(2023, 1, 12), weekday=3,
                         at=time(17, 0), tz=BERLIN,
                         blackout=[date(2022, 12, 22), date(2022, 12, 29)])
    assert [s.date() for s in slots] == [date(2022, 12, 8), date(2022, 12, 15),
                                         date(2023, 1, 5), date(2023, 1, 12)]
    override = datetime(2022, 12, 15, 17, 0, tzinfo=BERLIN)
    got = assign_slots([2, 0, 1, 3], slots, {2: override})
    assert got == {0: slots[0], 1: slots[2], 2: override, 3: slots[3]}


def test_next_weekly_slot_skips_blackouts_and_crosses_dst_and_season_end() -> None:
    """The slot after a held one is the next free Thursday 17:00, even past the last date."""
    held = datetime(2022, 10, 20, 17, 0, tzinfo=BERLIN)
    nxt = next_weekly_slot(held, weekday=3, at=time(17, 0), tz=BERLIN,
                           blackout=[date(2022, 10, 27)])
    assert nxt == datetime(2022, 11, 3, 17, 0, tzinfo=BERLIN)
    assert nxt.astimezone(UTC).hour == 16
    assert next_weekly_slot(held - timedelta(minutes=1), weekday=3, at=time(17, 0),
                            tz=BERLIN) == held


def test_format_de_names_weekday_and_winter_or_summer_time() -> None:
    """Staff read „Do 03.11.2022 17:00 MEZ“ (and MESZ in summer)."""
    assert format_de(datetime(2022, 11, 3, 16, 0, tzinfo=UTC), BERLIN) == "Do 03.11.2022 17:00 MEZ"
    assert format_de(datetime(2023, 6, 1, 15, 0, tzinfo=UTC), BERLIN) == "Do 01.06.2023 17:00 MESZ"

"""The wanted APScheduler jobs (pure) and the virtual clock shared through the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config import Settings
from episodes.db import Database
from scheduler.clock import ScaledClock, clock_for
from scheduler.plan import WaitingEpisode, plan_jobs

from .kit import FIRST, scheduler_settings


def test_plan_has_stable_ids_and_leaves_out_passed_events() -> None:
    """Each waiting episode gets a slot job and 48 h / 2 h pre-flight jobs with stable ids; a
    native account adds an ahead job; events already past are not planned."""
    eps = [WaitingEpisode(series_id=1, episode_id=10, number=0, slot_at=FIRST, native=True),
           WaitingEpisode(series_id=1, episode_id=11, number=1,
                          slot_at=FIRST + timedelta(weeks=1))]
    now = FIRST - timedelta(hours=3)
    plan = plan_jobs(eps, now=now, preflight_hours=(48.0, 2.0), native_hours=2.0)
    assert sorted(plan) == sorted([
        "slot:1:20221103T170000+0100", "preflight:10:2h", "ahead:1:20221103T170000+0100",
        "slot:1:20221110T170000+0100", "preflight:11:48h", "preflight:11:2h"])
    assert plan["preflight:11:48h"].at == FIRST + timedelta(weeks=1, hours=-48)
    assert plan["slot:1:20221103T170000+0100"].args == (1, FIRST.isoformat())
    assert plan == plan_jobs(eps, now=now, preflight_hours=(48.0, 2.0), native_hours=2.0)


def test_scaled_clock_converts_both_ways() -> None:
    """With a week per 4 real seconds, a slot a week after the virtual anchor runs 4 s after
    the real anchor, and back."""
    real0 = datetime(2030, 1, 1, tzinfo=UTC)
    clock = ScaledClock(FIRST, real0, 604800 / 4)
    assert clock.to_real(FIRST + timedelta(weeks=1)) == real0 + timedelta(seconds=4)
    assert clock.to_virtual(real0 + timedelta(seconds=2)) == FIRST + timedelta(days=3.5)
    with pytest.raises(ValueError):
        ScaledClock(FIRST, real0, 0)


def test_clock_anchor_is_shared_so_a_takeover_continues_the_clock(tmp_path) -> None:
    """The first scheduler records the anchor; a later process with the same settings reads the
    same anchor (virtual time continues); new settings start a new clock."""
    settings: Settings = scheduler_settings(tmp_path, time_scale=1000.0,
                                            clock_start=FIRST.isoformat())
    db = Database(settings.database_url)
    db.migrate()
    first = clock_for(settings, db)
    second = clock_for(settings, db)
    assert (second.anchor_real, second.anchor_virtual) == (first.anchor_real, first.anchor_virtual)
    assert abs((first.now() - FIRST).total_seconds()) < 1000 * 5
    other = clock_for(settings.model_copy(update={"time_scale": 10.0}), db)
    assert other.anchor_real > first.anchor_real and other.scale == 10.0
    db.dispose()


def test_real_time_needs_no_anchor(tmp_path) -> None:
    """With time_scale 1 and no clock_start the clock is the real clock."""
    settings = scheduler_settings(tmp_path)
    clock = clock_for(settings, Database(settings.database_url))
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 1

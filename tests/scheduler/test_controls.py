"""Manual controls: publish-now, retry, pause/resume, reschedule -- compare-and-set moves,
refusals in German, and the actor in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config import Settings
from episodes.db import Database
from episodes.models import AuditEntry, Episode, Post, Series
from scheduler.clock import ManualClock
from scheduler.controls import (
    ControlError,
    parse_when,
    publish_now,
    reschedule,
    retry,
    set_paused,
)
from scheduler.jobs import catch_up, fire_slot

from .kit import BERLIN, FIRST, Recorder, deps, make_series, slot_of, states


def _actions(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return [(a.actor, a.action) for a in s.query(AuditEntry).order_by(AuditEntry.id)]


def test_publish_now_queues_one_platform_and_records_the_actor(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """``publish-now 1 --platform mastodon`` queues only the Mastodon post, sends it, and the
    audit trail names who did it; a second call has nothing left to send."""
    make_series(sdb, ssettings)
    d = deps(sdb, ssettings, clock, sender)
    done = publish_now(d, 1, platform="mastodon", actor="anna")
    assert len(done.post_ids) == 1 and sender.posts() == list(done.post_ids)
    assert states(sdb, 1) == ["queued", "ready"]
    assert ("anna", "post.publish_now") in _actions(sdb)
    with pytest.raises(ControlError, match="nichts zu senden"):
        publish_now(d, 1, platform="mastodon", actor="anna")


def test_publish_now_refuses_an_unapproved_episode(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """An episode without approval is never sent by hand either; nothing changes."""
    make_series(sdb, ssettings, approved=False)
    with pytest.raises(ControlError, match="nicht freigegeben"):
        publish_now(deps(sdb, ssettings, clock, sender), 0, actor="anna")
    assert states(sdb, 0) == ["ready", "ready"] and sender.sent == []


def test_retry_sends_missed_posts_after_a_decision(
        sdb: Database, ssettings: Settings, sender: Recorder) -> None:
    """Posts missed during downtime wait; ``retry N`` queues and sends them, audited."""
    make_series(sdb, ssettings, episodes=2)
    late = ManualClock(FIRST + timedelta(days=2))
    d = deps(sdb, ssettings, late, sender)
    catch_up(d)
    assert states(sdb, 0) == ["missed", "missed"] and sender.sent == []
    done = retry(d, number=0, actor="bernd")
    assert len(done.post_ids) == 2 and states(sdb, 0) == ["queued", "queued"]
    assert ("bernd", "post.retry") in _actions(sdb)
    with pytest.raises(ControlError):
        retry(d, number=0, actor="bernd")
    with pytest.raises(ControlError, match="genau eins"):
        retry(d, actor="bernd")


def test_retry_one_failed_post(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """``retry --post ID`` moves just that failed post back to queued."""
    make_series(sdb, ssettings, episodes=1)
    with sdb.session() as s:
        post = s.query(Post).order_by(Post.id).first()
        post.state = "failed"
        pid = post.id
    done = retry(deps(sdb, ssettings, clock, sender), post_id=pid, actor="carla")
    assert done.post_ids == (pid,) and sender.posts() == [pid]


def test_pause_holds_slots_and_resume_lets_the_next_one_go(
        sdb: Database, ssettings: Settings, sender: Recorder) -> None:
    """Paused: the slot is held (the series moves a week); resumed: the next slot posts."""
    sid = make_series(sdb, ssettings, episodes=2)
    clock = ManualClock(FIRST)
    d = deps(sdb, ssettings, clock, sender)
    assert "gehalten" in set_paused(d, True, actor="dora").message_de
    assert fire_slot(d, sid, FIRST).outcome == "held"
    set_paused(d, False, actor="dora")
    clock.current = slot_of(sdb, 0)
    assert fire_slot(d, sid, slot_of(sdb, 0)).outcome == "enqueued"
    assert [a for a in _actions(sdb) if a[0] == "dora"] == [
        ("dora", "series.pause"), ("dora", "series.resume")]
    with sdb.session() as s:
        assert s.get(Series, sid).paused is False


def test_reschedule_moves_a_missed_episode_and_refuses_the_past(
        sdb: Database, ssettings: Settings, sender: Recorder) -> None:
    """A missed episode gets a new slot (its posts wait again, ready); a slot in the past or one
    the scheduler already handled is refused."""
    sid = make_series(sdb, ssettings, episodes=2)
    clock = ManualClock(FIRST + timedelta(days=1))
    d = deps(sdb, ssettings, clock, sender)
    catch_up(d)
    when = parse_when("2022-11-05 10:30", BERLIN)
    done = reschedule(d, 0, when, actor="emil")
    assert "Sa 05.11.2022 10:30 MEZ" in done.message_de
    assert states(sdb, 0) == ["ready", "ready"] and slot_of(sdb, 0) == when
    with sdb.session() as s:
        assert s.query(Episode).filter(Episode.number == 0).one().slot_override == when
    with pytest.raises(ControlError, match="Vergangenheit"):
        reschedule(d, 1, FIRST, actor="emil")
    clock.current = when
    assert fire_slot(d, sid, when).outcome == "enqueued"
    with pytest.raises(ControlError, match="schon gearbeitet"):
        clock.current = FIRST
        reschedule(d, 1, when, actor="emil")
    assert ("emil", "episode.reschedule") in _actions(sdb)


def test_parse_when_reads_local_time_across_dst_and_iso_offsets() -> None:
    """„YYYY-MM-DD HH:MM“ is Berlin wall-clock time (summer or winter); ISO offsets are kept."""
    assert parse_when("2023-06-01 17:00", BERLIN).astimezone(UTC).hour == 15
    assert parse_when("2022-12-01 17:00", BERLIN).astimezone(UTC).hour == 16
    assert parse_when("2022-12-01T17:00:00+00:00", BERLIN) == datetime(2022, 12, 1, 17, tzinfo=UTC)
    with pytest.raises(ControlError, match="nicht verstanden"):
        parse_when("nächsten Donnerstag", BERLIN)

"""What happens at a slot, with the clock under the test's control: exactly-once enqueueing,
hold and skip when an episode is not ready, the grace window after downtime, the sweep."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from config import Settings
from episodes.db import Database
from episodes.lifecycle import PostState
from episodes.models import AuditEntry, Episode, Notification, Post, Series, SlotRun
from scheduler.clock import ManualClock
from scheduler.jobs import Sweeper, catch_up, fire_ahead, fire_preflight, fire_slot

from .kit import FIRST, Recorder, deps, make_series, scheduler_settings, slot_of, states

WEEK = timedelta(weeks=1)


def _unapprove(db: Database, number: int) -> None:
    with db.session() as s:
        ep = s.scalars(select(Episode).where(Episode.number == number)).one()
        ep.approved_by = None


def test_slot_queues_every_ready_post_once_and_a_second_firing_changes_nothing(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """At its slot the trailer's posts go ready -> queued and are sent once; firing the same
    slot again (a second scheduler, a retry) sends nothing and leaves one SlotRun."""
    sid = make_series(sdb, ssettings)
    d = deps(sdb, ssettings, clock, sender)
    first = fire_slot(d, sid, FIRST.astimezone(UTC))
    assert first.outcome == "enqueued" and len(first.queued) == 2
    again = fire_slot(d, sid, FIRST.astimezone(UTC))
    assert again.outcome == "already"
    assert sorted(sender.posts()) == sorted(first.queued)
    assert states(sdb, 0) == ["queued", "queued"]
    assert states(sdb, 1) == ["ready", "ready"]
    with sdb.session() as s:
        assert s.query(SlotRun).count() == 1
        assert all(p.queued_at is not None for p in s.query(Post).filter(Post.state == "queued"))


def test_disabled_account_is_not_posted(tmp_path, sender: Recorder, clock: ManualClock) -> None:
    """A post on an account disabled in the settings stays where it is at the slot."""
    settings = scheduler_settings(tmp_path, accounts=[
        {"name": "mastodon-a", "platform": "mastodon", "api_base": "http://127.0.0.1:1"},
        {"name": "youtube-a", "platform": "youtube", "api_base": "http://127.0.0.1:1",
         "enabled": False}])
    db = Database(settings.database_url)
    db.migrate()
    sid = make_series(db, settings, episodes=1)
    result = fire_slot(deps(db, settings, clock, sender), sid, FIRST)
    assert len(result.queued) == 1
    assert states(db, 0) == ["queued", "ready"]
    db.dispose()


def test_hold_shifts_this_and_later_episodes_by_a_week_past_blackouts(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """An unapproved episode at its slot is held: it and every later one move to the next free
    slot (Christmas blackout skipped), staff get a notification, the audit names the shifts."""
    blackout = [(FIRST + 3 * WEEK).date()]
    sid = make_series(sdb, ssettings, episodes=3, blackout=blackout)
    _unapprove(sdb, 1)
    d = deps(sdb, ssettings, clock, sender)
    before = {n: slot_of(sdb, n) for n in range(3)}
    clock.current = before[1]
    result = fire_slot(d, sid, before[1])
    assert result.outcome == "held" and result.held == (1,)
    assert sender.sent == []
    assert slot_of(sdb, 0) == before[0]
    assert slot_of(sdb, 1) == before[2]  # one slot later
    assert slot_of(sdb, 2) == FIRST + 4 * WEEK  # FIRST + 3 weeks is a blackout date
    assert states(sdb, 1) == ["ready", "ready"]
    with sdb.session() as s:
        note = s.query(Notification).one()
        assert "Folge 1 verschoben" in note.title and "nicht freigegeben" in note.body
        audit = s.query(AuditEntry).filter(AuditEntry.action == "slot.hold").one()
        assert [x["number"] for x in audit.details["shifts"]] == [1, 2]
        assert s.query(SlotRun).one().outcome == "held"


def test_hold_runs_past_the_last_date_and_says_so(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """Holding the last episode moves it past the season's last date; the notice names the new
    end of the season."""
    sid = make_series(sdb, ssettings, episodes=2)
    _unapprove(sdb, 1)
    slot = slot_of(sdb, 1)
    clock.current = slot
    fire_slot(deps(sdb, ssettings, clock, sender), sid, slot)
    assert slot_of(sdb, 1) == slot + WEEK
    with sdb.session() as s:
        assert "Die Staffel endet dadurch erst am" in s.query(Notification).one().body


def test_skip_policy_lets_the_slot_pass_and_keeps_later_slots(
        tmp_path, clock: ManualClock, sender: Recorder) -> None:
    """With not_ready_policy=skip a not-ready episode's posts become skipped; the next episode
    keeps its slot."""
    settings = scheduler_settings(tmp_path, not_ready_policy="skip")
    db = Database(settings.database_url)
    db.migrate()
    sid = make_series(db, settings, episodes=3, ready=False)
    slot1, slot2 = slot_of(db, 1), slot_of(db, 2)
    clock.current = slot1
    result = fire_slot(deps(db, settings, clock, sender), sid, slot1)
    assert result.outcome == "skipped"
    assert states(db, 1) == ["skipped", "skipped"]
    assert slot_of(db, 2) == slot2
    with db.session() as s:
        assert "übersprungen" in s.query(Notification).one().title
    db.dispose()


def test_paused_series_holds_its_slot(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """While the series is paused a ready episode is held, not posted."""
    sid = make_series(sdb, ssettings, episodes=2)
    with sdb.session() as s:
        s.get(Series, sid).paused = True
    result = fire_slot(deps(sdb, ssettings, clock, sender), sid, FIRST)
    assert result.outcome == "held" and sender.sent == []
    assert slot_of(sdb, 0) == FIRST + WEEK and slot_of(sdb, 1) == FIRST + 2 * WEEK


def test_downtime_within_grace_posts_now_and_older_slots_become_missed(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """After downtime the catch-up posts a slot 5 h late (grace 6 h) but marks a slot a week
    older missed, notifies staff, and sends nothing for it."""
    make_series(sdb, ssettings, episodes=3)
    clock.current = slot_of(sdb, 1) + timedelta(hours=5)
    results = catch_up(deps(sdb, ssettings, clock, sender))
    assert [r.outcome for r in results] == ["missed", "enqueued"]
    assert states(sdb, 0) == ["missed", "missed"]
    assert states(sdb, 1) == ["queued", "queued"]
    assert states(sdb, 2) == ["ready", "ready"]
    assert len(sender.posts()) == 2
    with sdb.session() as s:
        note = s.query(Notification).one()
        assert note.level == "error" and "Trailer verpasst" in note.title
    assert catch_up(deps(sdb, ssettings, clock, sender)) == []


def test_grace_window_boundary(tmp_path, sender: Recorder) -> None:
    """A slot exactly at the grace limit still goes out; a minute later it is missed."""
    settings = scheduler_settings(tmp_path, grace_hours=6)
    db = Database(settings.database_url)
    db.migrate()
    sid = make_series(db, settings, episodes=2)
    at_limit = ManualClock(FIRST + timedelta(hours=6))
    assert fire_slot(deps(db, settings, at_limit, sender), sid, FIRST).outcome == "enqueued"
    late = ManualClock(slot_of(db, 1) + timedelta(hours=6, minutes=1))
    assert fire_slot(deps(db, settings, late, sender), sid, slot_of(db, 1)).outcome == "missed"
    db.dispose()


def test_sweep_resends_lost_posts_once_per_lease_and_confirms_scheduled_ones(
        tmp_path, clock: ManualClock, sender: Recorder) -> None:
    """A queued post whose message was lost (no lease, idle longer than lease_seconds) is sent
    again, not again in the same lease period; a natively scheduled post past its slot is sent
    for confirmation."""
    settings = scheduler_settings(tmp_path, lease_seconds=60)
    db = Database(settings.database_url)
    db.migrate()
    make_series(db, settings, episodes=2)
    old = datetime.now(UTC) - timedelta(seconds=120)
    with db.session() as s:
        posts = s.query(Post).order_by(Post.id).all()
        lost, scheduled, fresh = posts[0], posts[1], posts[2]
        lost.state, lost.state_changed_at = "queued", old
        scheduled.state = "scheduled"
        fresh.state = "queued"  # just queued: its message is on its way
        ids = lost.id, scheduled.id
    clock.current = FIRST + timedelta(minutes=1)
    sweep = Sweeper(deps(db, settings, clock, sender))
    with db.session() as s:  # nothing else is due: keep the catch-up out of this test
        for p in s.query(Post).filter(Post.state == "ready"):
            p.state = "published"
    report = sweep()
    assert report.resent == [ids[0]] and report.confirm == [ids[1]]
    assert sweep().resent == []
    assert sorted(sender.posts()) == sorted(ids)
    db.dispose()


def test_native_scheduling_queues_ahead_only_for_native_accounts(
        tmp_path, sender: Recorder) -> None:
    """Two hours before the slot only the account with native scheduling is queued; an
    unapproved episode is not queued ahead at all."""
    settings = scheduler_settings(tmp_path, accounts=[
        {"name": "mastodon-a", "platform": "mastodon", "api_base": "http://127.0.0.1:1"},
        {"name": "youtube-a", "platform": "youtube", "api_base": "http://127.0.0.1:1",
         "native_scheduling": True}])
    db = Database(settings.database_url)
    db.migrate()
    sid = make_series(db, settings, episodes=2)
    _unapprove(db, 1)
    d = deps(db, settings, ManualClock(FIRST - timedelta(hours=2)), sender)
    queued = fire_ahead(d, sid, FIRST.astimezone(UTC))
    assert len(queued) == 1
    with db.session() as s:
        assert s.get(Post, queued[0]).account.name == "youtube-a"
    assert fire_ahead(d, sid, slot_of(db, 1)) == []
    at_slot = deps(db, settings, ManualClock(FIRST), sender)
    assert len(fire_slot(at_slot, sid, FIRST.astimezone(UTC)).queued) == 1  # the other account
    assert len(set(sender.posts())) == 2 == len(sender.posts())
    db.dispose()


def test_preflight_is_sent_for_waiting_episodes_only(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """The 48 h pre-flight goes to a worker for an episode still waiting, not for one out."""
    make_series(sdb, ssettings, episodes=2)
    with sdb.session() as s:
        ep0 = s.query(Episode).filter(Episode.number == 0).one()
        ep1 = s.query(Episode).filter(Episode.number == 1).one()
        for p in ep1.posts:
            p.state = "published"
        ids = ep0.id, ep1.id
    d = deps(sdb, ssettings, clock, sender)
    assert fire_preflight(d, ids[0], "48h") is True
    assert fire_preflight(d, ids[1], "48h") is False
    assert sender.sent == [("wtg.publish.preflight", (ids[0], "48h"))]


def test_pending_post_of_a_ready_episode_is_still_queued(
        sdb: Database, ssettings: Settings, clock: ManualClock, sender: Recorder) -> None:
    """A post left pending although its episode is verified and approved is not lost at the
    slot: it goes pending -> ready -> queued."""
    sid = make_series(sdb, ssettings, episodes=1)
    with sdb.session() as s:
        s.query(Post).update({"state": str(PostState.PENDING)})
    assert len(fire_slot(deps(sdb, ssettings, clock, sender), sid, FIRST).queued) == 2


def test_blackout_in_fixture_calendar_is_respected(sdb: Database, ssettings: Settings) -> None:
    """Scheduler fixtures lay episodes on the weekly calendar minus blackout dates."""
    make_series(sdb, ssettings, episodes=2, blackout=[date(2022, 11, 10)])
    assert slot_of(sdb, 1) == FIRST + 2 * WEEK

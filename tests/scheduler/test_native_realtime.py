"""Native scheduling in real time (no compressed clock): a post whose lead is too short for the
platform's scheduler is published by wtg at its slot — never before — also when the scheduler
is restarted inside the window and fires a stored native-ahead job late."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, Rendition, Series
from sandbox import sandboxes
from scheduler.plan import slot_key
from scheduler.runner import JOB_TABLE, ahead_job

from ..integration.season_kit import FAST, account_settings, make_clip, write_season

pytestmark = pytest.mark.integration

BERLIN = "Europe/Berlin"


def _ready_season(stack, root: Path, slot: datetime) -> int:  # type: ignore[no-untyped-def]
    """One approved, media-ready episode at ``slot``; returns the series id."""
    root.mkdir(parents=True, exist_ok=True)
    clip = make_clip(root / "clip.mp4", seconds=1.0)
    season = write_season(root, accounts=["mastodon-a"], episodes=1, clip=clip, slots=[slot])
    stack.run("season", "load", str(season))
    data = clip.read_bytes()
    with stack.db.session() as s:
        ep = s.query(Episode).one()
        ep.media_status = MediaStatus.VERIFIED
        ep.edited_by, ep.approved_by = "redaktion", "freigabe"
        ep.approved_revision = ep.revision
        ep.renditions.append(Rendition(
            profile="landscape-burned", cache_key="test", path=str(clip),
            sha256=hashlib.sha256(data).hexdigest(), size=len(data), width=320, height=240,
            duration=1.0, verified=True, details={"captions": "burned"}))
        for p in ep.posts:
            p.state = str(PostState.READY)
        return s.query(Series).one().id


def _store_due_ahead_job(stack, series_id: int, slot: datetime) -> None:  # type: ignore[no-untyped-def]
    """What a scheduler that died before the native-ahead time leaves in its job store: the
    ahead job, now overdue (APScheduler fires it late, within the misfire grace). Written
    through APScheduler's own job store, without starting a scheduler."""
    jobstore = SQLAlchemyJobStore(engine=stack.db.engine, tablename=JOB_TABLE)
    owner = BackgroundScheduler(timezone=BERLIN)
    jobstore.start(owner, "default")
    due = datetime.now(UTC) - timedelta(seconds=5)
    jid = f"ahead:{series_id}:{slot_key(slot)}"
    jobstore.add_job(Job(owner, id=jid, func=ahead_job, args=[series_id, slot.isoformat()],
                         kwargs={}, trigger=DateTrigger(run_date=due), executor="default",
                         name=jid, misfire_grace_time=3600, coalesce=True, max_instances=1,
                         next_run_time=due))


def _post(stack) -> Post:  # type: ignore[no-untyped-def]
    with stack.db.session() as s:
        post = s.query(Post).one()
        s.expunge(post)
        return post


def test_late_native_ahead_job_after_a_restart_publishes_at_the_slot_not_before(
        make_stack, tmp_path: Path) -> None:
    """A native-ahead job stored by a scheduler that died fires late when the scheduler comes
    back, 20 s before the slot — far less lead than Mastodon's scheduler needs. wtg uploads at
    once, does not hand the post over, and publishes it itself at the slot, not a moment
    earlier; the scheduler restarted again inside the window changes nothing; exactly one
    status."""
    with sandboxes()["mastodon"]() as sb:
        entry, env = account_settings(sb, "mastodon-a")
        entry["native_scheduling"] = True
        stack = make_stack(accounts=[entry], env=env, extra={
            **FAST, "lease_seconds": 3.0, "sweep_seconds": 0.5, "leader_lease_seconds": 1.5,
            "timezone": BERLIN})
        slot = (datetime.now(UTC) + timedelta(seconds=25)).replace(microsecond=0)
        local = slot.astimezone(ZoneInfo(BERLIN)).replace(tzinfo=None)  # as the season file has it
        series_id = _ready_season(stack, tmp_path / "season", local)
        _store_due_ahead_job(stack, series_id, slot)
        stack.start_worker(queues="publish", concurrency=1)
        first = stack.spawn("scheduler", "--name", "first", name="scheduler-first")

        def uploaded() -> bool:
            return _post(stack).state in ("processing", "publishing", "published")
        stack.wait_for(uploaded, timeout=20, message="the late ahead job queued and uploaded")
        assert datetime.now(UTC) < slot, "the test machine was too slow to reach the window"
        stack.kill(first)  # restarted inside the window
        stack.spawn("scheduler", "--name", "second", name="scheduler-second")

        def published() -> Post | None:
            post = _post(stack)
            assert post.state not in ("failed", "needs_attention", "scheduled"), post.last_error
            return post if post.state == PostState.PUBLISHED else None
        post = stack.wait_for(published, timeout=60, message="published at the slot")
        with sb.lock:
            statuses = list(sb.statuses.values())
            scheduled = len(sb.scheduled)
        assert len(statuses) == 1 and scheduled == 0
        created = datetime.fromisoformat(statuses[0]["created_at"])
        assert created >= slot, (created, slot)
        assert (created - slot).total_seconds() < 15
        assert post.remote.get("scheduled_at") is None

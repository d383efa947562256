"""A real publish worker with an upload in flight lives through ten restarts of the embedded
broker (append-only file, alternately SIGKILL and SIGTERM): it is consuming again soon after each
restart, and every post is published exactly once with the clip's bytes."""

from __future__ import annotations

import hashlib
import subprocess
import threading
import time
from pathlib import Path

import kombu.exceptions
import redis

from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Post, utcnow
from sandbox import sandboxes
from tests.harness import Stack

from ..integration.season_kit import FAST, account_settings
from ..scheduler.procs import all_published, load_ready_season

RESTARTS = 10
SWEEP = 2.0  # sweep_seconds of this stack: after the broker is back, nothing waits longer
NODE = "pub@test"


def consuming(stack: Stack, node: str) -> bool:
    """The worker answers a ping through the broker (False while this process reconnects)."""
    try:
        return stack._pong(node)
    except (OSError, redis.RedisError, kombu.exceptions.OperationalError):
        return False


def held_eta(stack: Stack, node: str) -> int:
    """How many countdown tasks (a post waiting for the platform's processing) the worker holds
    unacknowledged in memory."""
    try:
        replies = stack.celery.control.inspect(destination=[node], timeout=0.5).scheduled()
    except (OSError, redis.RedisError, kombu.exceptions.OperationalError):
        return 0
    return len((replies or {}).get(node, []))


def celery_child(worker: subprocess.Popen[bytes]) -> int:
    """The pid of the Celery worker that `wtg worker` supervises."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def _state(stack: Stack, post_id: int) -> str:
    with stack.db.session() as s:
        return str(s.get(Post, post_id).state)  # type: ignore[union-attr]


def queue(stack: Stack, post_id: int) -> None:
    """Queue a ready post and hand it to the broker by name, as ``wtg publish-now`` does."""
    with stack.db.session() as s:
        assert store.transition(s, post_id, PostState.QUEUED, expect=[PostState.READY],
                                slot_at=utcnow())  # publish-now makes "now" the post's slot
    stack.celery.send_task("wtg.publish.run", args=[post_id], queue="publish")


def restart(stack: Stack, how: str) -> float:
    """SIGKILL or SIGTERM the broker, start it again on its port with its append-only file;
    returns the moment it answers again."""
    assert stack.broker is not None
    stack.broker.kill() if how == "kill" else stack.broker.stop()
    stack.broker.start()
    return time.monotonic()


def test_publish_worker_survives_ten_broker_restarts_with_tasks_in_flight(
        make_stack, tmp_path: Path) -> None:
    """Ten broker restarts (SIGKILL and SIGTERM), each while the worker is blocked in an upload
    or holds a post's processing poll as a countdown task: the Celery worker under `wtg worker`
    never ends (no supervisor restart needed), consumes again within one sweep interval of the
    broker's return, and the ten posts are each published exactly once with the clip's sha256."""
    with sandboxes()["mastodon"](processing_polls=1) as sb:
        entry, env = account_settings(sb, "mastodon-a")
        stack = make_stack(accounts=[entry], env=env, broker_url=None, extra={
            **FAST, "poll_interval_min": 2.0, "poll_interval_max": 2.0,
            "lease_seconds": 2.0, "sweep_seconds": SWEEP})
        load_ready_season(stack, tmp_path / "season", ["mastodon-a"], RESTARTS)
        sha = hashlib.sha256((tmp_path / "season" / "clip.mp4").read_bytes()).hexdigest()
        with stack.db.session() as s:
            ids = [p.id for p in s.query(Post).order_by(Post.id)]
        worker = stack.start_worker(queues="publish", concurrency=1, name=NODE)
        child = celery_child(worker)
        stack.spawn("scheduler", name="scheduler")  # the sweep: the database is the truth
        back_after: list[float] = []
        for i, post_id in enumerate(ids):
            hold = sb.hold_media = threading.Event() if i % 2 == 0 else None
            uploads = sb.media_posts_seen
            queue(stack, post_id)
            if hold is not None:  # the worker is inside an upload
                stack.wait_for(lambda n=uploads: sb.media_posts_seen > n, timeout=30,  # type: ignore[misc]
                               message=f"an upload in flight (post {post_id} queued)")
            else:  # the worker waits, holding the processing poll as a countdown task
                stack.wait_for(lambda p=post_id: _state(stack, p) == "processing"  # type: ignore[misc]
                               and held_eta(stack, NODE) > 0, timeout=30,
                               message=f"countdown task of post {post_id} held")
            back = restart(stack, "kill" if i % 4 < 2 else "term")
            stack.wait_for(lambda: consuming(stack, NODE) or worker.poll() is not None,
                           timeout=30, message=f"worker consuming after restart {i + 1}")
            back_after.append(time.monotonic() - back)
            assert worker.poll() is None, stack.log_text()
            sb.hold_media = None
            if hold is not None:
                hold.set()
        stack.wait_for(lambda: all_published(stack, len(ids)), timeout=60,
                       message="every post published")
        assert worker.poll() is None
        assert celery_child(worker) == child  # it lived through it; no restart was needed
        public = sb.snapshot()["published"]
        titles = sorted(p["text"].splitlines()[0] for p in public)
        assert len(public) == len(ids) == len(set(titles)), titles
        assert {p["sha256"] for p in public} == {sha}
        assert max(back_after) < SWEEP, back_after


"""Withdrawing an episode end to end below the dashboard: the real orchestrator publishes to
the Facebook, Instagram and Mastodon sandboxes, a second person approves the withdrawal, and
the withdraw worker (``workers.withdraw``) deletes each post through the platform's delete call
exactly once -- a lost answer is reconciled -- or, on Instagram, asks staff to delete it in the
app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from episodes import store, withdrawals
from episodes.lifecycle import PostState
from episodes.models import Episode, Notification, Post, utcnow
from episodes.review import ReviewError
from sandbox import Fault, sandboxes
from scheduler.clock import real_clock
from scheduler.controls import resend_withdrawals
from scheduler.jobs import Deps
from workers.withdraw import run_withdraw

from ..workers.world import World, make_world

S = PostState
ERIKA = SimpleNamespace(username="erika", role="editor")
ANTON = SimpleNamespace(username="anton", role="approver")
PLATFORMS = {"facebook-lup": "facebook", "instagram-lup": "instagram",
             "mastodon-lup": "mastodon"}


@pytest.fixture
def boxes() -> Iterator[dict[str, Any]]:
    started = {name: sandboxes()[platform]().start() for name, platform in PLATFORMS.items()}
    yield started
    for sb in started.values():
        sb.stop()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          boxes: dict[str, Any]) -> Iterator[World]:
    w = make_world(tmp_path, monkeypatch, boxes)
    yield w
    w.rt.db.dispose()


def publish_all(world: World) -> None:
    for name in PLATFORMS:
        world.queue(name)
        out = world.drive(name)
        assert out.state == "published", (name, out)


def drive_withdraw(world: World, name: str) -> Any:
    out = run_withdraw(world.rt, world.post_ids[name], "w1")
    while out.again is not None:
        out = run_withdraw(world.rt, world.post_ids[name], "w1")
    return out


def episode_of(world: World) -> Any:
    with world.rt.db.session() as s:
        return s.get(Post, world.post_ids["mastodon-lup"]).episode_id


def test_approved_withdrawal_deletes_each_post_exactly_once(
    world: World, boxes: dict[str, Any]
) -> None:
    """Only a second person can approve; then Facebook's delete (its answer lost once) and
    Mastodon's delete each remove the post once, and Instagram waits for staff to delete it in
    the app, with a German notification, until someone confirms."""
    publish_all(world)
    episode_id = episode_of(world)
    with world.rt.db.session() as s:
        w = withdrawals.request(s, s.get(Episode, episode_id), ERIKA,
                                "Einwilligung widerrufen (Anruf am 12.01.)")
        wid = w.id
    with world.rt.db.session() as s, pytest.raises(ReviewError) as own:
        withdrawals.approve(s, s.get(type(w), wid), SimpleNamespace(username="erika",
                                                                   role="admin"))
    assert own.value.code == "own_request"
    with world.rt.db.session() as s:
        started = withdrawals.approve(s, s.get(type(w), wid), ANTON)
    assert sorted(started) == sorted(world.post_ids.values())

    boxes["facebook-lup"].inject(Fault(method="DELETE", path=".", reset=True, after=True))
    fb = drive_withdraw(world, "facebook-lup")
    post = world.post("facebook-lup")
    assert fb.state == "withdrawn" and post.remote["deleted_existed"] is False
    assert boxes["facebook-lup"].snapshot()["deleted"] == [post.remote["video_id"]]
    assert boxes["facebook-lup"].snapshot()["published"] == []

    assert drive_withdraw(world, "mastodon-lup").state == "withdrawn"
    snap = boxes["mastodon-lup"].snapshot()
    assert snap["statuses"] == 0 and len(snap["deleted"]) == 1

    ig = drive_withdraw(world, "instagram-lup")
    post = world.post("instagram-lup")
    assert ig.state == "withdraw_attention"
    assert "Instagram-App löschen" in post.last_error["message_de"]
    assert len(boxes["instagram-lup"].snapshot()["published"]) == 1  # nothing deleted by guess
    with world.rt.db.session() as s:
        notes = [n.title for n in s.query(Notification).filter_by(post_id=post.id)]
        assert any("Instagram-App löschen" in t for t in notes)
        withdrawals.confirm_by_hand(s, s.get(Post, post.id), ERIKA)
    assert world.post("instagram-lup").state == S.WITHDRAWN
    with world.rt.db.session() as s:
        actions = [e.action for e in store.audit_log(s)]
    assert actions.count("post.withdrawn") == 2
    assert "post.withdraw_confirmed_by_hand" in actions
    assert "episode.withdraw_approve" in actions


def test_withdrawal_cancels_what_never_went_out_and_waits_for_busy_posts(
    world: World, boxes: dict[str, Any]
) -> None:
    """A post still waiting for its slot is cancelled (never sent later); while a worker sends
    a post, neither a request nor an approval goes through."""
    world.queue("mastodon-lup")
    assert world.drive("mastodon-lup").state == "published"
    episode_id = episode_of(world)
    with world.rt.db.session() as s:
        assert store.transition(s, world.post_ids["facebook-lup"], S.QUEUED)
    with world.rt.db.session() as s, pytest.raises(ReviewError) as busy:
        withdrawals.request(s, s.get(Episode, episode_id), ERIKA, "Einwilligung widerrufen")
    assert busy.value.code == "busy" and "wird gerade gesendet" in busy.value.message_de
    with world.rt.db.session() as s:
        assert store.transition(s, world.post_ids["facebook-lup"], S.READY)
        w = withdrawals.request(s, s.get(Episode, episode_id), ERIKA, "Einwilligung widerrufen")
        started = withdrawals.approve(s, w, ANTON)
    assert started == [world.post_ids["mastodon-lup"]]
    assert world.post("facebook-lup").state == S.CANCELLED
    assert world.post("instagram-lup").state == S.CANCELLED
    assert drive_withdraw(world, "mastodon-lup").state == "withdrawn"


def test_sweep_resends_a_withdrawal_whose_message_was_lost(world: World) -> None:
    """A withdrawing post without a live lease that sat still is sent to the workers again
    (the broker is not the truth), at most once per interval."""
    publish_all(world)
    with world.rt.db.session() as s:
        pid = world.post_ids["mastodon-lup"]
        assert store.transition(s, pid, S.WITHDRAWING)
        s.execute(update(Post).where(Post.id == pid)
                  .values(state_changed_at=utcnow() - timedelta(minutes=5)))
    sent: list[tuple[str, list[Any]]] = []

    class Sender:
        def send_task(self, name: str, args: Any = None, **kw: Any) -> None:
            sent.append((name, list(args or [])))

    deps = Deps(db=world.rt.db, sender=Sender(), clock=real_clock(),
                settings=world.rt.settings)
    memory: dict[int, float] = {}
    since = utcnow() - timedelta(seconds=30)
    assert resend_withdrawals(deps, memory, since, 60.0) == [pid]
    assert resend_withdrawals(deps, memory, since, 60.0) == []
    assert sent == [("wtg.publish.withdraw", [pid])]

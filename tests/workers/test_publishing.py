"""The publish orchestrator against real local protocol servers and a real database: every
fault ends in exactly one public post or a clear state for staff."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from episodes.lifecycle import PostState
from episodes.models import Notification, PublishAttempt
from sandbox import Fault, sandboxes
from sandbox.mastodon import MastodonSandbox
from workers.publishing import run_post

from .world import World, make_world


@pytest.fixture
def mastodon() -> Iterator[MastodonSandbox]:
    with MastodonSandbox(processing_polls=1) as sb:
        yield sb


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mastodon: MastodonSandbox
) -> Iterator[World]:
    w = make_world(tmp_path, monkeypatch, {"mastodon-lup": mastodon})
    yield w
    w.rt.db.dispose()


def test_queued_post_is_published_once_with_the_renditions_bytes(
    world: World, mastodon: MastodonSandbox
) -> None:
    """A queued post goes upload -> processing -> published; the server holds one post with the
    rendition's sha256 and the post records its public URL."""
    world.queue("mastodon-lup")
    out = world.drive("mastodon-lup")
    post = world.post("mastodon-lup")
    assert out.state == "published" and post.state == PostState.PUBLISHED
    public = mastodon.snapshot()["published"]
    assert [p["sha256"] for p in public] == [world.sha256]
    assert post.public_url == public[0]["url"]
    assert post.remote["publish_started"] and post.rendition_sha256 == world.sha256


def test_connection_dropped_after_publish_is_reconciled_not_reposted(
    world: World, mastodon: MastodonSandbox
) -> None:
    """The status POST is handled but its answer is lost: the post becomes unconfirmed, the next
    run reconciles (same Idempotency-Key) and the account has exactly one status."""
    mastodon.inject(Fault(method="POST", path=r"^/api/v1/statuses$", reset=True, after=True))
    world.queue("mastodon-lup")
    first = run_post(world.rt, world.post_ids["mastodon-lup"], "w1")
    while first.again is not None and first.state != "unconfirmed":
        first = run_post(world.rt, world.post_ids["mastodon-lup"], "w1")
    assert first.state == "unconfirmed"
    out = world.drive("mastodon-lup")
    assert out.state == "published"
    assert len(mastodon.snapshot()["published"]) == 1
    with world.rt.db.session() as s:
        steps = [a.outcome for a in s.query(PublishAttempt)]
    assert "unknown" in steps


def test_server_error_on_upload_is_retried_and_posts_once(
    world: World, mastodon: MastodonSandbox
) -> None:
    """A 500 on the media upload keeps the post uploading with a retry; the retry completes."""
    mastodon.inject(
        Fault(method="POST", path=r"^/api/v2/media$", status=500, body={"error": "boom"})
    )
    world.queue("mastodon-lup")
    first = run_post(world.rt, world.post_ids["mastodon-lup"], "w1")
    assert first.state == "uploading" and first.again is not None
    assert world.post("mastodon-lup").last_error["kind"] == "unavailable"
    assert world.drive("mastodon-lup").state == "published"
    assert len(mastodon.snapshot()["published"]) == 1


def test_revoked_token_waits_for_staff_with_a_german_message(
    world: World, mastodon: MastodonSandbox
) -> None:
    """A revoked token moves the post to needs_attention, keeps the reason and tells staff."""
    mastodon.revoke("mastodon-token-1")
    world.queue("mastodon-lup")
    out = world.drive("mastodon-lup")
    post = world.post("mastodon-lup")
    assert out.state == "needs_attention"
    assert post.last_error["kind"] == "credentials_expired"
    assert "Zugang" in post.last_error["message_de"]
    with world.rt.db.session() as s:
        assert s.query(Notification).filter_by(post_id=post.id).count() == 1
    assert mastodon.snapshot()["published"] == []


def test_processing_error_fails_the_post_and_a_retry_uploads_fresh(
    world: World, mastodon: MastodonSandbox
) -> None:
    """Processing that ends in an error fails the post; staff's retry uploads again and posts
    exactly once."""
    mastodon.fail_processing.append("unsupported codec")
    world.queue("mastodon-lup")
    assert world.drive("mastodon-lup").state == "failed"
    assert world.post("mastodon-lup").last_error["kind"] == "processing_failed"
    world.queue("mastodon-lup")
    assert world.drive("mastodon-lup").state == "published"
    assert len(mastodon.snapshot()["published"]) == 1


def test_two_workers_racing_publish_exactly_once(world: World, mastodon: MastodonSandbox) -> None:
    """Two workers run the same post at the same moment: one holds the lease, one post results."""
    world.queue("mastodon-lup")
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def work(name: str) -> None:
        barrier.wait()
        results[name] = world.drive("mastodon-lup", worker=name).state

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert world.post("mastodon-lup").state == PostState.PUBLISHED
    assert len(mastodon.snapshot()["published"]) == 1


def test_dead_workers_post_is_taken_over_after_its_lease_expires(
    world: World, mastodon: MastodonSandbox
) -> None:
    """A worker that died holding the lease in `publishing` blocks nobody for longer than the
    lease; the next worker reconciles first and the account ends with one post."""
    from datetime import timedelta

    from episodes import store
    from episodes.models import utcnow

    world.queue("mastodon-lup")
    pid = world.post_ids["mastodon-lup"]
    # the first worker uploads and publishes, then "dies" before recording the outcome
    assert world.drive("mastodon-lup", worker="dead").state == "published"
    with world.rt.db.session() as s:
        post = s.get(type(world.post("mastodon-lup")), pid)
        post.state = PostState.PUBLISHING  # as if killed after the remote call
        post.lease_owner, post.lease_until = "dead", utcnow() + timedelta(seconds=60)
    assert run_post(world.rt, pid, "next").note == "another worker holds the post"
    with world.rt.db.session() as s:
        s.get(type(world.post("mastodon-lup")), pid).lease_until = utcnow() - timedelta(seconds=1)
        assert store.take_lease(s, pid, "probe", 0.001)  # expired: free for anyone
    assert world.drive("mastodon-lup", worker="next").state == "published"
    assert len(mastodon.snapshot()["published"]) == 1


def test_facebook_publish_is_confirmed_by_polling_not_by_the_finish_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Facebook's `finish` only confirms receipt: the post waits in processing until a poll
    shows it public, then records the public URL; the Page has exactly one video."""
    with sandboxes()["facebook"]() as fb:
        w = make_world(tmp_path, monkeypatch, {"facebook-lup": fb})
        try:
            w.queue("facebook-lup")
            states = []
            out = run_post(w.rt, w.post_ids["facebook-lup"], "w1")
            states.append(out.state)
            while out.again is not None and len(states) < 60:
                out = run_post(w.rt, w.post_ids["facebook-lup"], "w1")
                states.append(out.state)
            post = w.post("facebook-lup")
            assert post.state == PostState.PUBLISHED, (states, post.last_error)
            assert post.remote.get("publish_sent")
            assert "processing" in states  # waited for the confirming poll
            public = fb.snapshot()["published"]
            assert [p["sha256"] for p in public] == [w.sha256]
            assert post.public_url
        finally:
            w.rt.db.dispose()


def test_native_scheduling_hands_the_post_to_the_platform_and_confirms_after_the_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With native scheduling a post queued ahead of its slot is uploaded and handed to the
    platform's own scheduler (state scheduled, nothing public yet, a second delivery changes
    nothing); after the slot the platform has published it as a new status, and only then is the
    post confirmed as published — never counted out while the platform still holds it."""
    import time
    from datetime import datetime, timedelta

    from episodes.models import utcnow

    with MastodonSandbox(processing_polls=1, min_schedule_lead=1.0) as sb:
        slot = utcnow() + timedelta(seconds=8)
        acc = sb.account("mastodon-lup")[0]
        w = make_world(tmp_path, monkeypatch, {"mastodon-lup": sb}, slot_at=slot,
                       account_extra={"native_scheduling": True,
                                      "options": {**acc.options, "min_schedule_lead": 2.0}})
        try:
            w.queue("mastodon-lup")
            assert w.drive("mastodon-lup").state == "scheduled"
            snap = sb.snapshot()
            assert (snap["scheduled"], snap["statuses"]) == (1, 0)
            assert w.drive("mastodon-lup").state == "scheduled"  # a second delivery: nothing
            assert w.post("mastodon-lup").remote["scheduled_at"]
            while utcnow() < slot + timedelta(seconds=1.5):  # the platform's scheduler runs
                time.sleep(0.1)
            assert w.drive("mastodon-lup").state == "published"
            snap = sb.snapshot()
            assert (snap["scheduled"], snap["statuses"]) == (0, 1)
            with sb.lock:
                (status,) = sb.statuses.values()
            assert datetime.fromisoformat(status["created_at"]) >= slot
        finally:
            w.rt.db.dispose()

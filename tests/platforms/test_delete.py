"""Withdrawing a post: each adapter's ``delete`` against its sandbox's documented delete call
(Facebook ``DELETE /{video-id}``, YouTube ``videos.delete``, Mastodon ``DELETE
/api/v1/statuses/:id`` and ``/scheduled_statuses/:id``), exactly once even when an answer is
lost, and ``DeleteByHand`` where the platform's API has no delete call (Instagram, TikTok)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox import Fault
from workers.platforms.base import ProcessingState
from workers.platforms.errors import ConnectionLost, DeleteByHand

WITH_DELETE = ["facebook", "mastodon", "youtube"]
BY_HAND = ["instagram", "tiktok"]


def _publish(kit: Any, make_ctx: Any, sb: Any, video: Any, *, post_id: int = 7) -> Any:
    """Upload, poll and publish one post as the orchestrator would; the fresh context."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video, post_id=post_id)
    adapter.upload(ctx)
    ctx, _state = kit.poll_until_done(adapter, kit.fresh(ctx))
    adapter.publish(ctx)
    if adapter.SPEC.confirm_after_publish:
        ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
        assert state.state is ProcessingState.PUBLISHED
    ctx = kit.fresh(ctx)
    ctx.record({"online": True, "publish_started": "2026-11-06T16:00:00+00:00"})
    return adapter, kit.fresh(ctx)


@pytest.mark.parametrize("platform", WITH_DELETE)
def test_delete_removes_the_post_and_a_second_delete_finds_it_gone(
    kit, make_ctx, start_sandbox, video, platform
) -> None:
    """delete takes the published post off the platform through its delete call; called again
    (as after a lost answer) it reports the post as already gone and deletes nothing else."""
    sb = start_sandbox(platform)
    adapter, ctx = _publish(kit, make_ctx, sb, video)
    assert len(kit.published(sb)) == 1
    first = adapter.delete(ctx)
    assert first.existed and first.remote_id
    assert kit.published(sb) == []
    again = adapter.delete(kit.fresh(ctx))
    assert (again.existed, again.remote_id) == (False, first.remote_id)
    assert sb.snapshot()["deleted"] == [first.remote_id]


@pytest.mark.parametrize("platform", WITH_DELETE)
def test_lost_delete_answer_is_reconciled_and_never_deletes_another_post(
    kit, make_ctx, start_sandbox, video, tmp_path, platform
) -> None:
    """The connection drops after the platform deleted the post: the adapter raises a
    transient ConnectionLost, the retry finds it gone, and the account's other post stays."""
    sb = start_sandbox(platform)
    other = kit.write_video(tmp_path / "other.mp4", 200_000, seed=2)
    _keep_adapter, keep = _publish(kit, make_ctx, sb, other, post_id=8)
    adapter, ctx = _publish(kit, make_ctx, sb, video)
    sb.inject(Fault(method="DELETE", path=".", reset=True, after=True))
    with pytest.raises(ConnectionLost):
        adapter.delete(ctx)
    retry = adapter.delete(kit.fresh(ctx))
    assert retry.existed is False
    left = kit.published(sb)
    assert [p["sha256"] for p in left] == [other.sha256]
    assert len(sb.snapshot()["deleted"]) == 1
    assert keep.remote  # the other post's recorded ids are untouched


@pytest.mark.parametrize("platform", BY_HAND)
def test_platform_without_a_delete_call_asks_staff_in_german(
    kit, make_ctx, start_sandbox, video, platform
) -> None:
    """Instagram's and TikTok's APIs document no delete: a published post raises DeleteByHand
    telling staff to delete it in the app; nothing is sent to the platform."""
    sb = start_sandbox(platform)
    adapter, ctx = _publish(kit, make_ctx, sb, video)
    seen = len(sb.requests_seen)
    with pytest.raises(DeleteByHand) as err:
        adapter.delete(ctx)
    assert "App löschen" in err.value.message_de and adapter.SPEC.label in err.value.message_de
    assert len(sb.requests_seen) == seen
    assert len(kit.published(sb)) == 1


@pytest.mark.parametrize("platform", BY_HAND + WITH_DELETE)
def test_nothing_sent_means_nothing_to_delete(kit, make_ctx, start_sandbox, video,
                                              platform) -> None:
    """A post that never reached the platform is withdrawn without any call."""
    sb = start_sandbox(platform)
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    result = adapter.delete(ctx)
    assert result.existed is False and result.remote_id == ""
    assert sb.requests_seen == []


def test_mastodon_scheduled_status_is_cancelled(kit, make_ctx, start_sandbox, video) -> None:
    """A post handed to Mastodon's scheduler is cancelled with DELETE
    /api/v1/scheduled_statuses/:id and never appears."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0)
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    slot = datetime.now(UTC) + timedelta(seconds=60)
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=slot)
    handed = adapter.publish(ctx)
    result = adapter.delete(kit.fresh(ctx))
    assert (result.remote_id, result.existed) == (handed.remote_id, True)
    snap = sb.snapshot()
    assert (snap["scheduled"], snap["statuses"]) == (0, 0)


def test_mastodon_scheduled_status_already_published_is_found_and_deleted(
    kit, make_ctx, start_sandbox, video
) -> None:
    """When the server published the scheduled status (a new id) before the withdrawal, the
    cancel finds it gone; the new status is found read-only by our media and deleted."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0)
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    slot = datetime.now(UTC) + timedelta(seconds=60)
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=slot)
    handed = adapter.publish(ctx)
    sb.advance(120)  # the server's scheduler publishes it as a new status
    public = kit.published(sb)
    assert len(public) == 1 and public[0]["public"]
    posted = sb.media_posts_seen
    result = adapter.delete(kit.fresh(ctx))
    assert result.existed and result.remote_id != handed.remote_id
    assert kit.published(sb) == [] and sb.media_posts_seen == posted
    assert sb.snapshot()["deleted"] == [result.remote_id]

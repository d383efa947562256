"""TikTok Direct Post under the readings of what TikTok leaves open: per-chunk answers, a chunk
sent again, a status without uploaded_bytes, the post id arriving after moderation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox import Fault
from workers.platforms.base import MediaFile, ProcessingState
from workers.platforms.errors import ConnectionLost, PlatformUnavailable
from workers.platforms.tiktok import TikTok, UploadExpired

KIB = 1024
CHUNK = 512 * KIB


@pytest.fixture
def big(kit: Any, tmp_path: Path) -> MediaFile:
    return kit.write_video(tmp_path / "e03-9x16.mp4", 3_000_000, seed=3)  # 5 chunks of 512 KiB


def _after_chunks(sb: Any, n: int, fault: Fault) -> Any:
    """A progress callback that injects ``fault`` once ``n`` chunks were confirmed."""
    def progress(sent: int, total: int) -> None:
        if sent == n * CHUNK:
            sb.inject(fault)
    return progress


def _one_post(kit: Any, sb: Any, video: MediaFile, *, inits: int = 1) -> dict[str, Any]:
    posts = kit.published(sb)
    assert len(posts) == 1 and posts[0]["sha256"] == video.sha256, posts
    with sb.lock:
        assert len(sb.publishes) == inits
    return posts[0]


def _finish(kit: Any, adapter: Any, ctx: Any) -> Any:
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state is ProcessingState.PUBLISHED
    return adapter.publish(ctx)


def test_spec_declares_direct_post_and_deadlines() -> None:
    """The upload itself publishes (the orchestrator never starts it before the slot) and the
    status waits have deadlines."""
    assert TikTok.SPEC.upload_publishes and not TikTok.SPEC.native_scheduling
    assert TikTok.SPEC.processing_deadline <= 3600 and TikTok.SPEC.confirm_deadline > 0


@pytest.mark.parametrize("codes", ["206_201", "200_each", "201_each"])
@pytest.mark.parametrize("resend", ["accept_again", "refuse"])
@pytest.mark.parametrize("uploaded", ["reported", "absent"])
def test_lost_chunk_answer_resumes_to_one_post(kit, make_ctx, start_sandbox, big, codes,
                                               resend, uploaded) -> None:
    """The answer to the third chunk is lost after TikTok stored it; the next upload call
    resumes (from uploaded_bytes, or re-PUTs the same Content-Range and, if TikTok refuses it,
    goes on) without a second init, and exactly one post with the file's bytes results."""
    sb = start_sandbox("tiktok", min_chunk=256 * KIB, readings={
        "chunk_codes": codes, "chunk_resend": resend, "uploaded_bytes": uploaded})
    adapter, creds = kit.adapter_for(sb, chunk_size=CHUNK)
    fault = Fault("PUT", "^/upload", reset=True, after=True)
    ctx = make_ctx(adapter.account, creds, big, progress=_after_chunks(sb, 2, fault))
    with pytest.raises(ConnectionLost):
        adapter.upload(ctx)
    assert kit.fresh(ctx).remote["chunks_done"] == 2
    adapter.upload(kit.fresh(ctx))
    assert kit.fresh(ctx).remote["upload_done"] is True
    _finish(kit, adapter, ctx)
    post = _one_post(kit, sb, big)
    assert post["chunks"] == 5


@pytest.mark.parametrize("resend", ["accept_again", "refuse"])
def test_lost_answer_to_the_last_chunk(kit, make_ctx, start_sandbox, big, resend) -> None:
    """The last chunk's answer is lost and the status tells no byte count: re-sending it is
    taken or refused, either way the upload completes and one post results."""
    sb = start_sandbox("tiktok", min_chunk=256 * KIB, readings={
        "chunk_resend": resend, "uploaded_bytes": "absent"})
    adapter, creds = kit.adapter_for(sb, chunk_size=CHUNK)
    fault = Fault("PUT", "^/upload", reset=True, after=True)
    ctx = make_ctx(adapter.account, creds, big, progress=_after_chunks(sb, 4, fault))
    with pytest.raises(ConnectionLost):
        adapter.upload(ctx)
    adapter.upload(kit.fresh(ctx))
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, big)


@pytest.mark.parametrize("uploaded", ["reported", "absent"])
def test_server_errors_mid_upload_resume(kit, make_ctx, start_sandbox, big, uploaded) -> None:
    """A 500 and then a reset half-way through a chunk each raise a transient error; the upload
    resumes each time and one post results, with or without uploaded_bytes in the status."""
    sb = start_sandbox("tiktok", min_chunk=256 * KIB, readings={"uploaded_bytes": uploaded})
    adapter, creds = kit.adapter_for(sb, chunk_size=CHUNK)
    ctx = make_ctx(adapter.account, creds, big,
                   progress=_after_chunks(sb, 1, Fault("PUT", "^/upload", status=500)))
    with pytest.raises(PlatformUnavailable):
        adapter.upload(ctx)
    ctx = make_ctx(adapter.account, creds, big, recorder=ctx.record, progress=_after_chunks(
        sb, 3, Fault("PUT", "^/upload", reset=True, read_bytes=100 * KIB)))
    with pytest.raises(ConnectionLost):
        adapter.upload(ctx)
    adapter.upload(kit.fresh(ctx))
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, big)


@pytest.mark.parametrize("after", [False, True])
def test_dropped_init_gives_exactly_one_post(kit, make_ctx, sb, video, after) -> None:
    """The connection drops before or after TikTok handled init (the call that commits to a
    post): the retried upload makes one post -- an init whose answer was lost never receives
    bytes and never becomes one."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    sb.inject(Fault("POST", "video/init", reset=True, after=after))
    with pytest.raises(ConnectionLost):
        adapter.upload(ctx)
    assert "publish_id" not in kit.fresh(ctx).remote
    adapter.upload(kit.fresh(ctx))
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, video, inits=2 if after else 1)


def test_post_id_after_moderation(kit, make_ctx, start_sandbox, video) -> None:
    """Where the public post id only comes after moderation, PUBLISH_COMPLETE is published but
    not yet public (no link); a later find_published gives the public link, same remote id."""
    sb = start_sandbox("tiktok", readings={"post_id": "after_moderation"}, moderation_polls=2)
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    first = _finish(kit, adapter, ctx)
    assert first.public is False and first.url == ""

    def public() -> Any:
        found = adapter.find_published(kit.fresh(ctx))
        return found if found is not None and found.public else None

    found = kit.wait_until(public, timeout=10, what="the post id after moderation")
    post = _one_post(kit, sb, video)
    assert found.remote_id == first.remote_id and found.url.endswith(post["id"])


def test_private_post_is_as_public_as_it_gets(kit, make_ctx, start_sandbox, video) -> None:
    """A SELF_ONLY post (unaudited app) never gets a public id: published with public=True and
    no link, so nothing waits for an id that never comes."""
    sb = start_sandbox("tiktok", audited=False)
    adapter, creds = kit.adapter_for(sb, audited=False)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    result = _finish(kit, adapter, ctx)
    assert result.public and result.url == "" and kit.published(sb) == []


def test_expired_upload_url_404_is_upload_expired(kit, make_ctx, start_sandbox, big) -> None:
    """An upload URL that expired answers 404 under one reading: still UploadExpired, never a
    second init."""
    sb = start_sandbox("tiktok", min_chunk=256 * KIB, readings={"expired_upload_url": "404"})
    adapter, creds = kit.adapter_for(sb, chunk_size=CHUNK)
    ctx = make_ctx(adapter.account, creds, big,
                   progress=_after_chunks(sb, 1, Fault("PUT", "^/upload", status=503)))
    with pytest.raises(PlatformUnavailable):
        adapter.upload(ctx)
    with sb.lock:
        for p in sb.publishes.values():
            p["expires"] = sb.now() - 1  # the URL expired, the status not yet looked at
    with pytest.raises(UploadExpired):
        adapter._send_chunks(kit.fresh(ctx), kit.fresh(ctx).remote["upload_url"], CHUNK, 5, 1)
    with sb.lock:
        assert len(sb.publishes) == 1


@pytest.fixture
def sb(start_sandbox: Any) -> Any:
    return start_sandbox("tiktok", min_chunk=256 * KIB)


def test_failing_status_lookup_is_transient(kit, make_ctx, sb, video) -> None:
    """find_published whose status lookup answers 404 raises PlatformUnavailable, not a
    rejection; the next look finds the post."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    _finish(kit, adapter, ctx)
    sb.inject(Fault("POST", "status/fetch", status=404, body={"error": {"code": "not_found"}}))
    with pytest.raises(PlatformUnavailable) as err:
        adapter.find_published(kit.fresh(ctx))
    assert err.value.code == "lookup_failed"
    found = adapter.find_published(kit.fresh(ctx))
    assert found is not None and found.public

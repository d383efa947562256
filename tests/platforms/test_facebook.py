"""The Facebook Page adapter against the local Facebook sandbox."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from config.credentials import InMemoryCredentials
from episodes.captions import PostText
from sandbox import Fault
from workers.platforms.base import MediaFile, ProcessingState, adapter_class
from workers.platforms.errors import (
    ConnectionLost,
    CredentialsExpired,
    ProcessingFailed,
    RateLimited,
    RejectedByPlatform,
)


@pytest.fixture
def fb(start_sandbox: Any) -> Any:
    return start_sandbox("facebook", chunk_window=32 * 1024)


@pytest.fixture
def big_video(kit: Any, tmp_path: Path) -> MediaFile:
    return kit.write_video(tmp_path / "episode-03.mp4", 1024 * 1024 + 99, seed=3)


def _vertical_mp4(tmp_path: Path, kit: Any) -> MediaFile:
    out = tmp_path / "vertical.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
         "testsrc=size=108x192:rate=10", "-t", "1", "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", "-y", str(out)],
        check=True, timeout=60,
    )
    return MediaFile(path=out, size=out.stat().st_size,
                     sha256=hashlib.sha256(out.read_bytes()).hexdigest(), width=108, height=192)


def _run(kit: Any, adapter: Any, ctx: Any) -> Any:
    """upload, poll until ready, publish, then poll until the platform confirms."""
    adapter.upload(ctx)
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state is ProcessingState.READY
    result = adapter.publish(ctx)
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state is ProcessingState.PUBLISHED
    return kit.fresh(ctx), result


def _one_post(kit: Any, sb: Any, video: MediaFile) -> dict[str, Any]:
    posts = kit.published(sb)
    assert len(posts) == 1, posts
    assert posts[0]["sha256"] == video.sha256 and posts[0]["size"] == video.size
    return posts[0]


def test_landscape_video_goes_out_once_with_marker(kit, make_ctx, fb, big_video) -> None:
    """A landscape episode is sent in server-dictated windows and ends as exactly one public
    Page video whose bytes and description (with the marker) are right."""
    adapter, creds = kit.adapter_for(fb)
    video = replace(big_video, width=1920, height=1080)
    ctx = make_ctx(adapter.account, creds, video)
    ctx, result = _run(kit, adapter, ctx)
    post = _one_post(kit, fb, video)
    assert post["kind"] == "video" and post["id"] == result.remote_id
    assert post["text"].endswith(ctx.marker) and post["title"] == ctx.text.title
    assert result.url.startswith(fb.url) and ctx.remote["mode"] == "video"
    with fb.lock:
        transfers = [p for m, p in fb.requests_seen if m == "POST" and "graph-video" in p]
    assert len(transfers) == 1 + 33 + 1  # start, ceil(size / window) transfers, finish


def test_vertical_rendition_goes_out_as_a_reel(kit, make_ctx, fb, tmp_path) -> None:
    """A vertical rendition (width < height) goes through video_reels + rupload and ends as one
    published Reel; finish alone does not count, the adapter polls for it."""
    fb.publish_polls = 2
    adapter, creds = kit.adapter_for(fb, chunk_size=4096)
    video = _vertical_mp4(tmp_path, kit)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    adapter.publish(ctx)
    assert kit.published(fb) == []  # acknowledged, not yet public
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state is ProcessingState.PUBLISHED
    post = _one_post(kit, fb, video)
    assert post["kind"] == "reel" and ctx.remote["mode"] == "reels"


def test_reel_sent_as_page_video_is_caught_as_draft(kit, make_ctx, fb, tmp_path) -> None:
    """The sandbox keeps a vertical video sent to /videos as an unpublished draft (the known
    peer failure), and the adapter reports it instead of calling it published."""
    adapter, creds = kit.adapter_for(fb, format="video")
    video = _vertical_mp4(tmp_path, kit)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    adapter.publish(ctx)
    with pytest.raises(RejectedByPlatform) as err:
        adapter.poll(kit.fresh(ctx))
    assert "Entwurf" in err.value.message_de
    assert kit.published(fb) == []
    assert fb.snapshot()["drafts"] == [ctx.remote["video_id"]]


def test_server_error_on_one_chunk_is_retried(kit, make_ctx, fb, big_video) -> None:
    """A 500 on one transfer chunk is retried in place; the upload completes and one post
    results."""
    adapter, creds = kit.adapter_for(fb)
    injected: list[int] = []

    def progress(sent: int, total: int) -> None:
        if not injected:
            injected.append(sent)
            fb.inject(Fault(method="POST", path=r"/graph-video/.*/videos$", status=500,
                            body={"error": {"message": "An unknown error occurred",
                                            "type": "OAuthException", "code": 1,
                                            "is_transient": True, "fbtrace_id": "x"}}))

    ctx = make_ctx(adapter.account, creds, big_video, progress=progress)
    _run(kit, adapter, ctx)
    with fb.lock:
        assert not fb.faults
    _one_post(kit, fb, big_video)


def test_connection_reset_mid_chunk_resumes(kit, make_ctx, fb, big_video) -> None:
    """A connection reset half-way through a chunk body (Page video and Reel) resumes from
    what the platform holds; one post each, right bytes."""
    adapter, creds = kit.adapter_for(fb)
    fired: list[int] = []

    def progress(sent: int, total: int) -> None:
        if not fired and sent > 100_000:
            fired.append(sent)
            fb.inject(Fault(method="POST", path=r"/graph-video/.*/videos$|/rupload/",
                            reset=True, read_bytes=5000))

    ctx = make_ctx(adapter.account, creds, big_video, progress=progress)
    _run(kit, adapter, ctx)
    assert fired
    reel_adapter, _ = kit.adapter_for(fb, format="reels", chunk_size=50_000)
    fired.clear()
    ctx2 = make_ctx(reel_adapter.account, creds, big_video, progress=progress, post_id=8)
    _run(kit, reel_adapter, ctx2)
    assert fired
    posts = kit.published(fb)
    assert len(posts) == 2 and {p["sha256"] for p in posts} == {big_video.sha256}


def test_throttled_call_waits_as_told_then_succeeds(kit, make_ctx, fb, video) -> None:
    """Over the Page's call budget the adapter raises RateLimited with the wait from
    X-Business-Use-Case-Usage; after that time the same step succeeds."""
    adapter, creds = kit.adapter_for(fb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    fb.exhaust_budget()
    with pytest.raises(RateLimited) as err:
        adapter.poll(kit.fresh(ctx))
    assert err.value.retry_after == 3600.0 and err.value.code == 32
    fb.advance(3600)
    assert adapter.poll(kit.fresh(ctx)).state is not None  # the same step now goes through
    fb.rate_limit = None  # the rest of the flow is not about the budget
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    adapter.publish(ctx)
    _one_post(kit, fb, video)


def test_expired_page_token_is_credentials_expired(kit, make_ctx, fb, video) -> None:
    """An expired Page token (code 190) raises CredentialsExpired with a German message that
    says it cannot be renewed automatically; nothing is created."""
    adapter, creds = kit.adapter_for(fb)
    fb.expire_token(creds.values["access_token"])
    with pytest.raises(CredentialsExpired) as err:
        adapter.upload(make_ctx(adapter.account, creds, video))
    assert err.value.code == 190
    assert "abgelaufen" in err.value.message_de and "neu verbinden" in err.value.message_de
    assert fb.snapshot()["videos"] == 0


def test_processing_error_is_processing_failed(kit, make_ctx, fb, video) -> None:
    """Processing that ends in video_status=error raises ProcessingFailed with Meta's message."""
    fb.fail_processing.append("Video aspect ratio is not supported")
    adapter, creds = kit.adapter_for(fb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert "aspect ratio" in err.value.detail
    assert kit.published(fb) == []


def test_finish_before_upload_complete_is_refused(kit, make_ctx, fb, video) -> None:
    """The sandbox refuses to finish a Reel whose bytes are not all there, and the adapter's
    poll says PENDING (never READY) until they are."""
    adapter, creds = kit.adapter_for(fb, format="reels", chunk_size=8192)
    calls = {"n": 0}

    def progress(sent: int, total: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # stop the upload half way, as a dying worker would

    ctx = make_ctx(adapter.account, creds, video, progress=progress)
    with pytest.raises(KeyboardInterrupt):
        adapter.upload(ctx)
    ctx = kit.fresh(ctx)
    assert adapter.poll(ctx).state is ProcessingState.PENDING
    with pytest.raises(RejectedByPlatform) as err:
        adapter.publish(ctx)
    assert err.value.code == 6000
    adapter.upload(replace(ctx, progress=None))
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    adapter.publish(ctx)
    kit.poll_until_done(adapter, kit.fresh(ctx))
    _one_post(kit, fb, video)


@pytest.mark.parametrize("fmt", ["video", "reels"])
def test_sigkill_mid_upload_then_fresh_adapter_resumes(kit, make_ctx, fb, big_video,
                                                       tmp_path, fmt) -> None:
    """A worker killed with SIGKILL mid-upload leaves its recorded ids; a fresh adapter resumes
    the same upload (no second session) and exactly one post with the right bytes results."""
    account, secrets = fb.account()
    account = replace(account, options={**account.options, "format": fmt, "chunk_size": 16384})
    record = tmp_path / "remote.json"
    marker = f"wtg-s1-e03-kill-{fmt}"
    fb.inject(Fault(method="POST", path=r"/graph-video/.*/videos$|/rupload/", delay=0.03,
                    times=10_000))
    first = adapter_class("facebook")(account, InMemoryCredentials(secrets))
    doomed = replace(make_ctx(account, InMemoryCredentials(secrets), big_video,
                              recorder=kit.Recorder(path=record)), marker=marker)
    # fork: the child inherits the adapter and context (nothing pickled) and persists every
    # ctx.record to the JSON file, as the database would
    child = multiprocessing.get_context("fork").Process(target=first.upload, args=(doomed,))
    child.start()
    try:
        kit.wait_until(lambda: any(v["blob"].size >= 3 * 16384 for v in fb.videos.values()),
                       timeout=20, what="three chunks at the sandbox")
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        if child.is_alive():
            child.kill()
            child.join(5)
    assert child.exitcode == -signal.SIGKILL
    with fb.lock:
        fb.faults.clear()
        held = max(v["blob"].size for v in fb.videos.values())
    assert held < big_video.size
    remote = json.loads(record.read_text())
    assert remote["video_id"]
    adapter = adapter_class("facebook")(account, InMemoryCredentials(secrets))
    recorder = kit.Recorder(initial=remote)
    ctx = make_ctx(account, InMemoryCredentials(secrets), big_video, recorder=recorder)
    ctx = replace(ctx, marker=marker)
    _run(kit, adapter, ctx)
    assert fb.snapshot()["videos"] == 1
    _one_post(kit, fb, big_video)


def test_unknown_publish_outcome_is_reconciled(kit, make_ctx, fb, video) -> None:
    """When the connection drops after the platform handled finish, publish raises
    ConnectionLost; find_published finds the post and no second one is ever made."""
    adapter, creds = kit.adapter_for(fb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    fb.inject(Fault(method="POST", path=r"/graph-video/.*/videos$", reset=True, after=True))
    with pytest.raises(ConnectionLost) as err:
        adapter.publish(ctx)
    assert err.value.outcome_unknown
    found = adapter.find_published(kit.fresh(ctx))
    assert found is not None and found.remote_id == kit.fresh(ctx).remote["video_id"]
    # and a lost record: the marker in the page's videos still finds it
    bare = replace(kit.fresh(ctx), remote={})
    again = adapter.find_published(bare)
    assert again is not None and again.remote_id == found.remote_id
    _one_post(kit, fb, video)


def test_native_scheduling_inside_and_outside_the_window(kit, make_ctx, fb, video) -> None:
    """scheduled_at one hour ahead schedules the video natively (published=false +
    scheduled_publish_time); five minutes ahead is refused in German before any finish."""
    adapter, creds = kit.adapter_for(fb)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    ctx = make_ctx(adapter.account, creds, video, scheduled_at=soon)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    with pytest.raises(RejectedByPlatform) as err:
        adapter.publish(ctx)
    assert "10 Minuten" in err.value.message_de and "30 Tagen" in err.value.message_de
    assert not any(v["finished"] for v in fb.videos.values())
    later = replace(ctx, scheduled_at=datetime.now(UTC) + timedelta(hours=1))
    adapter.publish(later)
    ctx, state = kit.poll_until_done(adapter, kit.fresh(later))
    assert state.detail == "scheduled"
    post = _one_post(kit, fb, video)
    assert post["scheduled"] is True
    fb.advance(3700)
    assert kit.published(fb)[0]["scheduled"] is False


def test_finish_adds_german_captions_and_thumbnail(kit, make_ctx, fb, video, tmp_path) -> None:
    """finish uploads the caption file as <name>.de_DE.srt and the thumbnail, once."""
    srt = tmp_path / "episode-03.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo\n", encoding="utf-8")
    thumb = tmp_path / "thumb.jpg"
    thumb.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 100)
    adapter, creds = kit.adapter_for(fb)
    ctx = make_ctx(adapter.account, creds, video, captions_srt=srt, thumbnail=thumb)
    ctx, _ = _run(kit, adapter, ctx)
    adapter.finish(ctx)
    adapter.finish(kit.fresh(ctx))
    post = _one_post(kit, fb, video)
    assert post["captions"] == ["de_DE"] and post["thumbnails"] == 1


def test_check_text_limits(kit, fb) -> None:
    """A description beyond the limit (less the marker's room) is refused in German."""
    adapter, _ = kit.adapter_for(fb)
    limit = adapter.text_limits().body_max
    assert adapter.check_text(PostText(body="x" * limit)) == []
    problems = adapter.check_text(PostText(body="x" * (limit + 1)))
    assert problems and "Facebook" in problems[0] and str(limit) in problems[0]

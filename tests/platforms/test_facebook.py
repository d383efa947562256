"""The Facebook Page adapter against the local Facebook sandbox, under each reading of Meta's
documents where they are silent (docs/platforms/facebook.md)."""

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
from tests.media.corpus import make_clip
from tests.platforms.conftest import upload_in_child
from workers.platforms import facebook_status as fs
from workers.platforms.base import MediaFile, ProcessingState, adapter_class
from workers.platforms.errors import (
    ConnectionLost,
    CredentialsExpired,
    LookupFailed,
    ProcessingFailed,
    RateLimited,
    RejectedByPlatform,
    ScheduleTooClose,
    TransientError,
)

PROCESSING = ["finish", "last_chunk"]
GRAPH_500 = {"error": {"message": "An unknown error occurred", "type": "OAuthException",
                       "code": 1, "is_transient": True, "fbtrace_id": "x"}}


@pytest.fixture
def big_video(kit: Any, tmp_path: Path) -> MediaFile:
    return kit.write_video(tmp_path / "episode-03.mp4", 1024 * 1024 + 99, seed=3)


def _sandbox(start_sandbox: Any, **readings: str) -> Any:
    return start_sandbox("facebook", chunk_window=32 * 1024, readings=readings)


@pytest.fixture(scope="module")
def reel(tmp_path_factory: pytest.TempPathFactory) -> MediaFile:
    """A vertical clip with German narration (the test corpus), muxed as wtg's renditions are
    (moov first, no edit list): the smallest Reel the sandbox's processing takes (540x960,
    24-60 fps, 3-90 s)."""
    d = tmp_path_factory.mktemp("reel")
    src = make_clip(d / "phone.mp4", duration=3.4, size=(540, 960))
    out = d / "vertical.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(src), "-c", "copy",
         "-movflags", "+faststart", "-use_editlist", "0", "-y", str(out)],
        check=True, timeout=60,
    )
    return MediaFile(path=out, size=out.stat().st_size,
                     sha256=hashlib.sha256(out.read_bytes()).hexdigest(), width=540, height=960)


def _ready(kit: Any, adapter: Any, ctx: Any) -> Any:
    """upload, then poll until READY (publish may be called)."""
    adapter.upload(ctx)
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state is ProcessingState.READY
    return ctx


def _confirm(kit: Any, adapter: Any, ctx: Any) -> Any:
    """Poll after publish as the orchestrator does, until Facebook says it is out."""
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state is ProcessingState.PUBLISHED
    return state


def _run(kit: Any, adapter: Any, ctx: Any) -> Any:
    ctx = _ready(kit, adapter, ctx)
    result = adapter.publish(ctx)
    _confirm(kit, adapter, ctx)
    return kit.fresh(ctx), result


def _one_post(kit: Any, sb: Any, video: MediaFile) -> dict[str, Any]:
    posts = kit.published(sb)
    assert len(posts) == 1, posts
    assert posts[0]["sha256"] == video.sha256 and posts[0]["size"] == video.size
    return posts[0]


def _finishes(sb: Any) -> int:
    return sum(1 for v in sb.videos.values() if v.finished)


# --- reading the status (pure) -------------------------------------------------------------
def _node(video_status: str = "processing", up: str = "complete", proc: str = "not_started",
          pub: str = "not_started", **extra: Any) -> dict[str, Any]:
    publishing = {"status": pub}
    if "publish_status" in extra:
        publishing["publish_status"] = extra.pop("publish_status")
    node = {"status": {"video_status": video_status,
                       "uploading_phase": {"status": up, "bytes_transferred": 10},
                       "processing_phase": {"status": proc}, "publishing_phase": publishing}}
    node.update(extra)
    return node


@pytest.mark.parametrize(("node", "took", "public", "draft", "failed"), [
    (_node(), False, False, False, False),  # bytes in, finish not sent (Postman example)
    (_node("upload_complete"), False, False, False, False),
    (_node(proc="in_progress"), False, False, False, False),  # processing from the last chunk
    (_node(proc="in_progress", description="Text\n\nwtg-m1"), True, False, False, False),
    (_node("ready", proc="complete", pub="in_progress"), True, False, False, False),
    (_node("ready", proc="complete", pub="complete", publish_status="published",
           published=True), True, True, False, False),
    (_node("ready", proc="complete", pub="complete", publish_status="scheduled"),
     True, False, False, False),
    (_node("ready", proc="complete"), False, False, True, False),  # a draft, or not finished
    (_node("error", proc="error"), False, False, False, True),
])
def test_status_reading_table(node, took, public, draft, failed) -> None:
    """The status is read from the phases, published and the description -- never from
    video_status == "ready", whose timing the documents leave open."""
    assert fs.finish_took_effect(node, "wtg-m1") is took
    assert fs.public_now(node) is public
    assert fs.draft_like(node) is draft
    assert fs.failed(node) is failed


def test_bytes_held_reads_bytes_transferred_or_says_it_cannot() -> None:
    """bytes_transferred is the resume point; missing or a dead session gives None."""
    assert fs.bytes_held(_node(up="in_progress")) == 10
    assert fs.bytes_held({"status": {"uploading_phase": {"status": "in_progress"}}}) is None
    assert fs.bytes_held({"status": {"uploading_phase": {"status": "error",
                                                         "bytes_transferred": 5}}}) is None


# --- end to end --------------------------------------------------------------------------------
@pytest.mark.parametrize("processing", PROCESSING)
@pytest.mark.parametrize("host", ["graph", "graph-video"])
def test_page_video_finishes_right_after_the_bytes(kit, make_ctx, start_sandbox, big_video,
                                                   processing, host) -> None:
    """A landscape episode goes out in the server's windows, finish follows the last byte at
    once (whether or not processing has started), and polling after finish ends PUBLISHED with
    exactly one public Page video carrying the marker."""
    fb = _sandbox(start_sandbox, processing_starts=processing)
    fb.publish_polls = 2
    adapter, creds = kit.adapter_for(fb, video_base=f"{fb.url}/{host}/{fb.version}")
    video = replace(big_video, width=1920, height=1080)
    ctx = make_ctx(adapter.account, creds, video)
    ctx = _ready(kit, adapter, ctx)
    v = fb.videos[ctx.remote["video_id"]]
    assert v.processing_started is (processing == "last_chunk")
    assert not v.processed  # READY never waited for "ready": processing is not through
    result = adapter.publish(ctx)
    assert result.public is False and kit.published(fb) == []  # finish only acknowledges
    _confirm(kit, adapter, ctx)
    ctx = kit.fresh(ctx)
    post = _one_post(kit, fb, video)
    assert post["kind"] == "video" and post["id"] == result.remote_id
    assert post["text"].endswith(ctx.marker) and post["title"] == ctx.text.title
    assert result.url.startswith(fb.url) and ctx.remote["mode"] == "video"
    with fb.lock:
        posts = [p for m, p in fb.requests_seen if m == "POST" and p.endswith("/videos")]
    assert len(posts) == 1 + 33 + 1  # start, ceil(size / window) transfers, finish


@pytest.mark.parametrize(("point", "reading", "chunk"), [
    ("processing_starts", "finish", 0), ("processing_starts", "last_chunk", 0),
    ("pending_video_status", "upload_complete", 0), ("finish_answer", "success_with_id", 0),
    ("rupload_chunks", "accepted", 4096), ("rupload_chunks", "single_request", 4096)])
def test_vertical_rendition_goes_out_as_a_reel(kit, make_ctx, start_sandbox, reel, point,
                                               reading, chunk) -> None:
    """A vertical rendition goes start -> rupload -> finish with video_state, and the adapter
    polls until the Reel is out; one published Reel. With chunk_size set the bytes go in
    pieces where the host takes them, else in one request."""
    fb = _sandbox(start_sandbox, **{point: reading})
    fb.publish_polls = 2
    adapter, creds = kit.adapter_for(fb, chunk_size=chunk)
    video = reel
    ctx = make_ctx(adapter.account, creds, video)
    ctx = _ready(kit, adapter, ctx)
    adapter.publish(ctx)
    assert kit.published(fb) == []
    _confirm(kit, adapter, ctx)
    post = _one_post(kit, fb, video)
    assert post["kind"] == "reel" and kit.fresh(ctx).remote["mode"] == "reels"
    with fb.lock:
        ruploads = [p for m, p in fb.requests_seen if m == "POST" and "/rupload/" in p]
    pieces = -(-video.size // 4096)
    expected = {0: 1, 4096: pieces}[chunk] if reading != "single_request" else 2
    assert len(ruploads) == expected


def test_reel_sent_as_page_video_is_caught_as_draft(kit, make_ctx, start_sandbox,
                                                    reel) -> None:
    """The sandbox keeps a vertical video sent to /videos as an unpublished draft (the known
    peer failure); the adapter reports it after a few looks instead of calling it published."""
    fb = _sandbox(start_sandbox)
    adapter, creds = kit.adapter_for(fb, format="video")
    video = reel
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    adapter.publish(ctx)
    with pytest.raises(RejectedByPlatform) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert "Entwurf" in err.value.message_de
    assert kit.published(fb) == [] and fb.snapshot()["drafts"] == [ctx.remote["video_id"]]


# --- interrupted transfers ---------------------------------------------------------------------
@pytest.mark.parametrize("resume", ["window_in_error", "status_offset"])
def test_interrupted_page_video_transfer_resumes(kit, make_ctx, start_sandbox, big_video,
                                                 resume) -> None:
    """A 500 on one transfer and a reset half-way through another are recovered in place (the
    server's corrected window, or its bytes_transferred); one post, right bytes."""
    fb = _sandbox(start_sandbox, transfer_resume=resume)
    adapter, creds = kit.adapter_for(fb)
    fired: list[int] = []

    def progress(sent: int, total: int) -> None:
        if not fired and sent > 100_000:
            fired.append(sent)
            fb.inject(Fault(method="POST", path=r"/videos$", status=500, body=GRAPH_500))
        elif len(fired) == 1 and sent > 400_000:
            fired.append(sent)
            fb.inject(Fault(method="POST", path=r"/videos$", reset=True, read_bytes=5000))

    ctx = make_ctx(adapter.account, creds, big_video, progress=progress)
    _run(kit, adapter, ctx)
    assert len(fired) == 2 and not fb.faults
    _one_post(kit, fb, big_video)


@pytest.mark.parametrize("resume", ["bytes_transferred", "restart", "fresh_session"])
def test_interrupted_reel_rupload_resumes(kit, make_ctx, start_sandbox, big_video,
                                          resume) -> None:
    """A rupload POST cut off half-way (the host keeps what arrived) and a 500 on the next are
    recovered without staff: continue at bytes_transferred, start over at 0, or start a fresh
    session whose predecessor is never finished; exactly one Reel with the right bytes."""
    fb = _sandbox(start_sandbox, reel_resume=resume)
    adapter, creds = kit.adapter_for(fb, format="reels")
    fb.inject(Fault(method="POST", path="/rupload/", reset=True, read_bytes=300_000,
                    partial=True))
    fb.inject(Fault(method="POST", path="/rupload/", status=503,
                    body={"debug_info": {"retriable": True, "type": "ServiceUnavailable",
                                         "message": "busy"}}))
    ctx = make_ctx(adapter.account, creds, big_video)
    ctx, result = _run(kit, adapter, ctx)
    assert not fb.faults
    post = _one_post(kit, fb, big_video)
    assert post["id"] == result.remote_id == ctx.remote["video_id"]
    abandoned = ctx.remote.get("abandoned_videos") or []
    assert (len(abandoned) >= 1) is (resume == "fresh_session")
    assert not any(fb.videos[a].finished for a in abandoned)


@pytest.mark.parametrize("fmt", ["video", "reels"])
def test_sigkill_mid_upload_then_fresh_adapter_resumes(kit, make_ctx, start_sandbox,
                                                       big_video, tmp_path, fmt) -> None:
    """A worker killed with SIGKILL mid-upload leaves its recorded ids; a fresh adapter resumes
    the same upload (no second session) and exactly one post with the right bytes results."""
    fb = _sandbox(start_sandbox)
    account, secrets = kit.account_for(fb, format=fmt)
    state = tmp_path / "remote.json"
    if fmt == "video":
        fb.inject(Fault(method="POST", path=r"/videos$", delay=0.03, times=10_000))
    else:  # one POST held mid-body; larger than what the kernel buffers for a dead sender
        big_video = kit.write_video(tmp_path / "reel.mp4", 8 * 1024 * 1024 + 5, seed=4)
        fb.hold_after = 200_000
    child = multiprocessing.get_context("spawn").Process(
        target=upload_in_child, args=(account, secrets, big_video, str(state)),
        kwargs={"marker": "wtg-s1-e03-kill", "key": "k1", "text": PostText(body="Folge 3")})
    child.start()
    try:
        kit.wait_until(lambda: fb.holding.is_set() or any(
            v.blob.size >= 3 * 32 * 1024 for v in fb.videos.values()), timeout=60,
            what="the child mid-upload")
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        fb.hold.set()
        if child.is_alive():
            child.kill()
            child.join(5)
    assert child.exitcode == -signal.SIGKILL
    if fmt == "reels":
        kit.wait_until(fb.rupload_done.is_set, timeout=10, what="the cut POST to end")
    with fb.lock:
        fb.faults.clear()
        held = max(v.blob.size for v in fb.videos.values())
    assert 0 < held < big_video.size
    remote = json.loads(state.read_text())
    adapter = adapter_class("facebook")(account, InMemoryCredentials(secrets))
    ctx = replace(make_ctx(account, adapter.credentials, big_video,
                           recorder=kit.Recorder(initial=remote)), marker="wtg-s1-e03-kill")
    _run(kit, adapter, ctx)
    assert fb.snapshot()["videos"] == 1
    _one_post(kit, fb, big_video)


# --- around finish ---------------------------------------------------------------------------
@pytest.mark.parametrize("processing", PROCESSING)
@pytest.mark.parametrize("fmt", ["video", "reels"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_dropped_connection_around_finish_is_reconciled(kit, make_ctx, start_sandbox, video,
                                                        processing, fmt, when) -> None:
    """A connection dropped before or after Facebook handled finish: publish raises
    ConnectionLost, find_published tells whether finish went through (None, or the video),
    a retried publish never sends a second finish, and exactly one post results."""
    fb = _sandbox(start_sandbox, processing_starts=processing)
    adapter, creds = kit.adapter_for(fb, format=fmt)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    edge = "video_reels" if fmt == "reels" else "videos"
    fb.inject(Fault(method="POST", path=rf"/{edge}$", reset=True, after=when == "after"))
    with pytest.raises(ConnectionLost) as err:
        adapter.publish(ctx)
    assert err.value.outcome_unknown
    found = adapter.find_published(kit.fresh(ctx))
    assert (found is None) is (when == "before")
    if found is not None:
        assert found.remote_id == ctx.remote["video_id"]
        bare = replace(kit.fresh(ctx), remote={})  # a lost record: the marker finds it
        again = adapter.find_published(bare)
        assert again is not None and again.remote_id == found.remote_id
    adapter.publish(kit.fresh(ctx))  # the orchestrator's next step either way
    _confirm(kit, adapter, ctx)
    assert _finishes(fb) == 1
    _one_post(kit, fb, video)
    assert adapter.find_published(kit.fresh(ctx)).public is True


def test_failing_lookup_is_transient_never_a_rejection(kit, make_ctx, start_sandbox,
                                                       video) -> None:
    """find_published whose status look answers 500 or an unexpected 400 raises LookupFailed
    (transient), so a read-only look can never turn a post into failed."""
    fb = _sandbox(start_sandbox)
    adapter, creds = kit.adapter_for(fb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    adapter.publish(ctx)
    for fault in (Fault(method="GET", path=r"/\d+$", status=500, body=GRAPH_500),
                  Fault(method="GET", path=r"/\d+$", status=400,
                        body={"error": {"message": "odd", "type": "GraphMethodException",
                                        "code": 100, "fbtrace_id": "x"}})):
        fb.inject(fault)
        with pytest.raises(TransientError) as err:
            adapter.find_published(kit.fresh(ctx))
        assert isinstance(err.value, LookupFailed) or err.value.status == 500
    assert adapter.find_published(kit.fresh(ctx)) is not None


# --- finish parts ------------------------------------------------------------------------------
@pytest.mark.parametrize(("point", "reading"), [
    ("caption_repost", "adds_track"), ("caption_repost", "replaces"),
    ("caption_name", "default_locale_only")])
def test_captions_and_thumbnail_with_lost_answers(kit, make_ctx, start_sandbox, video, tmp_path,
                                                  point, reading) -> None:
    """The German caption file goes up as <name>.de_DE.srt with default_locale; when its answer
    is lost the retry looks at the video's captions first, so there is one track; the thumbnail
    follows."""
    fb = _sandbox(start_sandbox, **{point: reading})
    srt = tmp_path / "episode-03.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo aus Plate\n", encoding="utf-8")
    thumb = tmp_path / "thumb.jpg"
    thumb.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 100)
    adapter, creds = kit.adapter_for(fb)
    ctx = make_ctx(adapter.account, creds, video, captions_srt=srt, thumbnail=thumb)
    ctx, _ = _run(kit, adapter, ctx)
    assert [str(p) for p in adapter.finish_parts(ctx)] == ["captions", "thumbnail"]
    fb.inject(Fault(method="POST", path=r"/captions$", reset=True, after=True))
    with pytest.raises(ConnectionLost):
        adapter.finish(ctx)  # the caption answer is lost; the thumbnail still goes up
    ctx = kit.fresh(ctx)
    assert [str(p) for p in adapter.finish_parts(ctx)] == ["captions"]
    adapter.finish(ctx)
    assert adapter.finish_parts(kit.fresh(ctx)) == []
    post = _one_post(kit, fb, video)
    assert post["captions"] == ["de_DE"] and post["thumbnails"] == 1


# --- scheduling ------------------------------------------------------------------------------
def test_schedule_too_close_or_refused_is_schedule_too_close(kit, make_ctx, start_sandbox,
                                                             video) -> None:
    """A slot under 10 minutes ahead is refused before any finish, a time Facebook itself
    refuses is ScheduleTooClose too; nothing was finished and publishing at the slot works."""
    fb = _sandbox(start_sandbox)
    fb.schedule_max_days = 1  # Facebook refuses what wtg's bounds would allow
    adapter, creds = kit.adapter_for(fb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    for ahead in (timedelta(minutes=5), timedelta(days=2)):
        with pytest.raises(ScheduleTooClose):
            adapter.publish(replace(kit.fresh(ctx), scheduled_at=datetime.now(UTC) + ahead))
        assert _finishes(fb) == 0 and not kit.fresh(ctx).remote.get("finish_sent")
    adapter.publish(kit.fresh(ctx))
    _confirm(kit, adapter, ctx)
    _one_post(kit, fb, video)


@pytest.mark.parametrize("fmt", ["video", "reels"])
def test_native_schedule_is_public_only_after_the_slot(kit, make_ctx, start_sandbox, video,
                                                       fmt) -> None:
    """scheduled_at an hour ahead hands the post to Facebook's scheduler (published=false or
    video_state=SCHEDULED); find_published says public only once published is true."""
    fb = _sandbox(start_sandbox)
    adapter, creds = kit.adapter_for(fb, format=fmt)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    slot = datetime.now(UTC) + timedelta(hours=1)
    adapter.publish(replace(ctx, scheduled_at=slot))
    assert _confirm(kit, adapter, ctx).detail == "scheduled"
    held = adapter.find_published(kit.fresh(ctx))
    assert held is not None and held.public is False
    assert _one_post(kit, fb, video)["scheduled"] is True
    fb.advance(3700)
    out = adapter.find_published(kit.fresh(ctx))
    assert out is not None and out.public is True and out.remote_id == held.remote_id


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_throttled_call_waits_as_told_then_succeeds(kit, make_ctx, start_sandbox, video,
                                                    code) -> None:
    """Over the call budget the adapter raises RateLimited with Meta's code and the wait from
    X-Business-Use-Case-Usage; after that time the same step succeeds."""
    fb = _sandbox(start_sandbox)
    fb.throttle_code = code
    adapter, creds = kit.adapter_for(fb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    fb.exhaust_budget()
    with pytest.raises(RateLimited) as err:
        adapter.poll(kit.fresh(ctx))
    assert err.value.retry_after == 3600.0 and err.value.code == code
    fb.advance(3600)
    assert adapter.poll(kit.fresh(ctx)).state is ProcessingState.READY
    fb.rate_limit = None
    adapter.publish(kit.fresh(ctx))
    _confirm(kit, adapter, ctx)
    _one_post(kit, fb, video)


def test_expired_page_token_is_credentials_expired(kit, make_ctx, start_sandbox, video) -> None:
    """An expired Page token (code 190) raises CredentialsExpired with a German message that
    says it cannot be renewed automatically; nothing is created."""
    fb = _sandbox(start_sandbox)
    adapter, creds = kit.adapter_for(fb)
    fb.expire_token(creds.values["access_token"])
    with pytest.raises(CredentialsExpired) as err:
        adapter.upload(make_ctx(adapter.account, creds, video))
    assert err.value.code == 190
    assert "abgelaufen" in err.value.message_de and "neu verbinden" in err.value.message_de
    assert fb.snapshot()["videos"] == 0


@pytest.mark.parametrize("processing", PROCESSING)
def test_processing_error_is_processing_failed(kit, make_ctx, start_sandbox, video,
                                               processing) -> None:
    """Processing that ends in video_status=error raises ProcessingFailed with Meta's message,
    whether it shows before finish (last_chunk) or only after it (finish)."""
    fb = _sandbox(start_sandbox, processing_starts=processing)
    fb.fail_processing.append("Video aspect ratio is not supported")
    adapter, creds = kit.adapter_for(fb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
        adapter.publish(ctx)
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert "aspect ratio" in err.value.detail
    assert kit.published(fb) == []


def test_finish_before_upload_complete_is_refused(kit, make_ctx, start_sandbox, video) -> None:
    """A Reel whose upload stopped half way is PENDING (never READY); the sandbox refuses its
    finish; the next upload call completes it and one post results."""
    fb = _sandbox(start_sandbox)
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
    _run(kit, adapter, replace(kit.fresh(ctx), progress=None))
    _one_post(kit, fb, video)


def test_check_text_limits(kit, start_sandbox) -> None:
    """A description beyond the limit (less the marker's room) is refused in German."""
    adapter, _ = kit.adapter_for(_sandbox(start_sandbox))
    limit = adapter.text_limits().body_max
    assert adapter.check_text(PostText(body="x" * limit)) == []
    problems = adapter.check_text(PostText(body="x" * (limit + 1)))
    assert problems and "Facebook" in problems[0] and str(limit) in problems[0]

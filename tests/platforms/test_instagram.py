"""The Instagram Reels adapter against the local Instagram sandbox."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from config.credentials import InMemoryCredentials
from episodes.captions import PostText
from sandbox import Fault
from workers.platforms.base import MediaFile, ProcessingState, adapter_class
from workers.platforms.errors import (
    ConnectionLost,
    CredentialsExpired,
    PlatformUnavailable,
    ProcessingFailed,
    QuotaExhausted,
    RateLimited,
)


@pytest.fixture
def ig(start_sandbox: Any) -> Any:
    return start_sandbox("instagram")


@pytest.fixture
def big_video(kit: Any, tmp_path: Path) -> MediaFile:
    return kit.write_video(tmp_path / "episode-03-vertical.mp4", 1024 * 1024 + 7, seed=5)


def _run(kit: Any, adapter: Any, ctx: Any) -> Any:
    adapter.upload(ctx)
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state is ProcessingState.READY
    result = adapter.publish(ctx)
    return kit.fresh(ctx), result


def _one_post(kit: Any, sb: Any, video: MediaFile) -> dict[str, Any]:
    posts = kit.published(sb)
    assert len(posts) == 1, posts
    assert posts[0]["sha256"] == video.sha256 and posts[0]["size"] == video.size
    return posts[0]


def _publish_calls(sb: Any) -> int:
    with sb.lock:
        return sum(1 for m, p in sb.requests_seen if m == "POST" and p.endswith("/media_publish"))


def test_reel_goes_out_once(kit, make_ctx, ig, big_video) -> None:
    """Container, chunked rupload, FINISHED, media_publish: exactly one Reel with the file's
    bytes, the caption ending in the marker, and the poll then says PUBLISHED."""
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, big_video)
    ctx, result = _run(kit, adapter, ctx)
    post = _one_post(kit, ig, big_video)
    assert post["id"] == result.remote_id and result.url == post["url"]
    assert post["text"].endswith(ctx.marker)
    assert adapter.poll(ctx).state is ProcessingState.PUBLISHED
    assert ctx.remote["offset"] == big_video.size


def test_server_error_and_reset_on_chunks_resume(kit, make_ctx, ig, big_video) -> None:
    """A 500 on one chunk and a connection reset half-way through another are recovered from
    the offset the rupload host reports; one Reel with the right bytes."""
    adapter, creds = kit.adapter_for(ig)
    fired: list[int] = []

    def progress(sent: int, total: int) -> None:
        if len(fired) == 0 and sent > 100_000:
            fired.append(sent)
            ig.inject(Fault(method="POST", path="/rupload/", status=500,
                            body={"error": {"message": "Internal", "type": "OAuthException",
                                            "code": 2, "is_transient": True,
                                            "fbtrace_id": "x"}}))
        elif len(fired) == 1 and sent > 500_000:
            fired.append(sent)
            ig.inject(Fault(method="POST", path="/rupload/", reset=True, read_bytes=3000))

    ctx = make_ctx(adapter.account, creds, big_video, progress=progress)
    _run(kit, adapter, ctx)
    assert len(fired) == 2
    with ig.lock:
        assert not ig.faults
    _one_post(kit, ig, big_video)


def test_throttled_then_succeeds(kit, make_ctx, ig, video) -> None:
    """Over the call budget: RateLimited with the BUC header's wait (code 4), then success."""
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ig.exhaust_budget()
    with pytest.raises(RateLimited) as err:
        adapter.poll(kit.fresh(ctx))
    assert err.value.retry_after == 3600.0 and err.value.code == 4
    ig.advance(3600)
    assert adapter.poll(kit.fresh(ctx)).state is not None  # the same step now goes through
    ig.rate_limit = None  # the rest of the flow is not about the budget
    _run(kit, adapter, kit.fresh(ctx))
    _one_post(kit, ig, video)


def test_expired_token(kit, make_ctx, ig, video) -> None:
    """An expired user token raises CredentialsExpired (code 190) with a German message."""
    adapter, creds = kit.adapter_for(ig)
    ig.expire_token(creds.values["access_token"])
    with pytest.raises(CredentialsExpired) as err:
        adapter.upload(make_ctx(adapter.account, creds, video))
    assert err.value.code == 190 and "Instagram" in err.value.message_de
    assert ig.containers == {}


def test_processing_error_and_expiry_are_processing_failed(kit, make_ctx, ig, video) -> None:
    """status_code ERROR, and EXPIRED after 24 hours, raise ProcessingFailed; nothing posted."""
    ig.fail_processing.append("unsupported codec")
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert err.value.code == "ERROR"
    ctx2 = make_ctx(adapter.account, creds, video, post_id=8)
    adapter.upload(ctx2)
    ig.advance(86_401)
    with pytest.raises(ProcessingFailed) as err:
        adapter.poll(kit.fresh(ctx2))
    assert err.value.code == "EXPIRED" and "24 Stunden" in err.value.message_de
    assert kit.published(ig) == []


def test_publish_before_finished_is_refused_and_adapter_waits(kit, make_ctx, ig, video) -> None:
    """The sandbox answers media_publish on an unfinished container with 9007/2207027; the
    adapter never sends it before FINISHED (it raises a transient error instead)."""
    adapter, creds = kit.adapter_for(ig)
    ctx = kit.fresh(make_ctx(adapter.account, creds, video))
    adapter.upload(ctx)
    ctx = kit.fresh(ctx)
    raw = requests.post(f"{adapter.account.api_base}/{ig.ig_user_id}/media_publish",
                        data={"creation_id": ctx.remote["container_id"]},
                        headers={"Authorization": f"OAuth {creds.values['access_token']}"},
                        timeout=10)
    assert raw.status_code == 400
    assert raw.json()["error"]["code"] == 9007
    assert raw.json()["error"]["error_subcode"] == 2207027
    before = _publish_calls(ig)
    with pytest.raises(PlatformUnavailable):
        adapter.publish(ctx)
    assert _publish_calls(ig) == before
    ctx, _ = kit.poll_until_done(adapter, ctx)
    adapter.publish(ctx)
    _one_post(kit, ig, video)


def test_quota_read_at_run_time(kit, make_ctx, ig, video) -> None:
    """With the account's quota_total used up, publish raises QuotaExhausted (German) without
    calling media_publish; the number comes from content_publishing_limit, not from code."""
    ig.quota_total = 1
    adapter, creds = kit.adapter_for(ig)
    _run(kit, adapter, make_ctx(adapter.account, creds, video, post_id=1))
    ctx = make_ctx(adapter.account, creds, video, post_id=2)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    calls = _publish_calls(ig)
    with pytest.raises(QuotaExhausted) as err:
        adapter.publish(ctx)
    assert "1 Beiträge" in err.value.message_de
    assert _publish_calls(ig) == calls and len(kit.published(ig)) == 1


def test_unknown_publish_outcome_is_reconciled(kit, make_ctx, ig, video) -> None:
    """The connection drops after media_publish was handled: ConnectionLost, then
    find_published finds the Reel (container PUBLISHED + marker); never a second post."""
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    ig.inject(Fault(method="POST", path=r"/media_publish$", reset=True, after=True))
    with pytest.raises(ConnectionLost) as err:
        adapter.publish(ctx)
    assert err.value.outcome_unknown
    ctx = kit.fresh(ctx)
    assert adapter.poll(ctx).state is ProcessingState.PUBLISHED
    found = adapter.find_published(ctx)
    post = _one_post(kit, ig, video)
    assert found is not None and found.remote_id == post["id"]
    again = adapter.publish(kit.fresh(ctx))  # a blind retry only confirms
    assert again.remote_id == post["id"] and _publish_calls(ig) == 1
    _one_post(kit, ig, video)


def test_sigkill_mid_upload_then_fresh_adapter_resumes(kit, make_ctx, ig, big_video,
                                                       tmp_path) -> None:
    """A worker killed with SIGKILL mid-upload; a fresh adapter with the recorded container
    resumes at the host's offset: one container, one Reel, right bytes."""
    account, secrets = ig.account()
    account = replace(account, options={**account.options, "chunk_size": 16384})
    record = tmp_path / "remote.json"
    ig.inject(Fault(method="POST", path="/rupload/", delay=0.03, times=10_000))
    first = adapter_class("instagram")(account, InMemoryCredentials(secrets))
    doomed = make_ctx(account, InMemoryCredentials(secrets), big_video,
                      recorder=kit.Recorder(path=record))
    child = multiprocessing.get_context("fork").Process(target=first.upload, args=(doomed,))
    child.start()
    try:
        kit.wait_until(lambda: any(c["blob"].size >= 3 * 16384 for c in ig.containers.values()),
                       timeout=20, what="three chunks at the sandbox")
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        if child.is_alive():
            child.kill()
            child.join(5)
    assert child.exitcode == -signal.SIGKILL
    with ig.lock:
        ig.faults.clear()
    remote = json.loads(record.read_text())
    assert remote["container_id"] and remote["offset"] < big_video.size
    adapter = adapter_class("instagram")(account, InMemoryCredentials(secrets))
    ctx = make_ctx(account, InMemoryCredentials(secrets), big_video,
                   recorder=kit.Recorder(initial=remote))
    _run(kit, adapter, ctx)
    assert len(ig.containers) == 1
    _one_post(kit, ig, big_video)


def test_check_text_caption_hashtags_mentions(kit, ig) -> None:
    """Captions over 2,200 characters (less the marker's room), over the account's hashtag
    limit, or over 20 mentions are refused in German at queue time."""
    adapter, _ = kit.adapter_for(ig, hashtags_max=5)
    lim = adapter.text_limits()
    assert lim.body_max == 2200 - 50 and lim.hashtags_max == 5
    assert adapter.check_text(PostText(body="a" * lim.body_max)) == []
    assert adapter.check_text(PostText(body="a" * (lim.body_max + 1)))
    six = tuple(f"#Tag{i}" for i in range(6))
    problems = adapter.check_text(PostText(body="Hallo " + " ".join(six), hashtags=six))
    assert any("6 Hashtags" in p and "5" in p for p in problems)
    inline = adapter.check_text(PostText(body="Hallo " + " ".join(six), hashtags=six[:1]))
    assert any("6 Hashtags" in p for p in inline)
    mentions = " ".join(f"@konto{i}" for i in range(21))
    assert any("21 Konten" in p for p in adapter.check_text(PostText(body=mentions)))


def test_sandbox_refuses_scheduling_and_video_type(ig, kit) -> None:
    """The sandbox, like Instagram, has no scheduling parameter and no feed VIDEO type."""
    adapter, creds = kit.adapter_for(ig)
    url = f"{adapter.account.api_base}/{ig.ig_user_id}/media"
    auth = {"Authorization": f"OAuth {creds.values['access_token']}"}
    sched = requests.post(url, headers=auth, timeout=10, data={
        "media_type": "REELS", "upload_type": "resumable", "scheduled_publish_time": "1"})
    assert sched.status_code == 400 and sched.json()["error"]["code"] == 100
    video = requests.post(url, headers=auth, timeout=10, data={
        "media_type": "VIDEO", "upload_type": "resumable"})
    assert video.status_code == 400 and "REELS" in video.json()["error"]["message"]

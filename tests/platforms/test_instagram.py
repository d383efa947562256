"""The Instagram Reels adapter against the local Instagram sandbox, under each reading of Meta's
documents where they are silent (docs/platforms/instagram.md)."""

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
from tests.platforms.conftest import upload_in_child
from workers.platforms.base import MediaFile, ProcessingState, adapter_class
from workers.platforms.errors import (
    ConnectionLost,
    CredentialsExpired,
    LookupFailed,
    PlatformUnavailable,
    ProcessingFailed,
    QuotaExhausted,
    RateLimited,
    TransientError,
    UploadAgain,
)
from workers.platforms.graph import classify

RESUME = ["offset_lookup", "unsupported_404", "unsupported_405", "stale_zero"]
GRAPH_500 = {"error": {"message": "Internal", "type": "OAuthException", "code": 2,
                       "is_transient": True, "fbtrace_id": "x"}}


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
    """Container, one streamed rupload POST, FINISHED, media_publish: exactly one Reel with the
    file's bytes, the caption ending in the marker, and the poll then says PUBLISHED."""
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, big_video)
    ctx, result = _run(kit, adapter, ctx)
    post = _one_post(kit, ig, big_video)
    assert post["id"] == result.remote_id and result.url == post["url"]
    assert post["text"].endswith(ctx.marker)
    assert adapter.poll(ctx).state is ProcessingState.PUBLISHED
    assert ctx.remote["offset"] == big_video.size and len(ig.containers) == 1


@pytest.mark.parametrize("resume", RESUME)
def test_interrupted_rupload_recovers_without_staff(kit, make_ctx, start_sandbox, big_video,
                                                    resume) -> None:
    """A rupload POST cut off half-way (the host keeps what arrived) and a 500 on the next are
    recovered inside upload: at the offset the host reports, or -- where the lookup is
    unsupported or wrong -- in a fresh container; never a second post."""
    ig = start_sandbox("instagram", readings={"rupload_resume": resume})
    adapter, creds = kit.adapter_for(ig)
    ig.inject(Fault(method="POST", path="/rupload/", reset=True, read_bytes=300_000,
                    partial=True))
    ig.inject(Fault(method="POST", path="/rupload/", status=500, body=GRAPH_500))
    ctx = make_ctx(adapter.account, creds, big_video)
    ctx, result = _run(kit, adapter, ctx)
    assert not ig.faults
    post = _one_post(kit, ig, big_video)
    assert post["container"] == ctx.remote["container_id"] and post["id"] == result.remote_id
    abandoned = ctx.remote.get("abandoned_containers") or []
    assert (abandoned == []) is (resume == "offset_lookup")
    assert all(ig.containers[a].media_id is None for a in abandoned)


@pytest.mark.parametrize("resume", ["offset_lookup", "unsupported_404"])
def test_sigkill_mid_upload_then_fresh_adapter_recovers(kit, make_ctx, start_sandbox, tmp_path,
                                                        resume) -> None:
    """A worker killed with SIGKILL mid-POST leaves its recorded container; a fresh adapter
    resumes at the host's offset, or (offset lookup answered 404) uploads into a fresh
    container: one Reel, right bytes."""
    ig = start_sandbox("instagram", readings={"rupload_resume": resume})
    # larger than what the kernel still delivers for a dead sender
    big = kit.write_video(tmp_path / "reel.mp4", 8 * 1024 * 1024 + 3, seed=6)
    account, secrets = kit.account_for(ig)
    state = tmp_path / "remote.json"
    ig.hold_after = 200_000
    child = multiprocessing.get_context("spawn").Process(
        target=upload_in_child, args=(account, secrets, big, str(state)),
        kwargs={"marker": "wtg-s1-e03-ig", "key": "k1", "text": PostText(body="Folge 3")})
    child.start()
    try:
        kit.wait_until(ig.holding.is_set, timeout=60, what="the child mid-POST")
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        ig.hold.set()
        if child.is_alive():
            child.kill()
            child.join(5)
    assert child.exitcode == -signal.SIGKILL
    kit.wait_until(ig.rupload_done.is_set, timeout=10, what="the cut POST to end")
    assert ig.last_cut
    remote = json.loads(state.read_text())
    assert remote["container_id"] and remote["offset"] == 0
    adapter = adapter_class("instagram")(account, InMemoryCredentials(secrets))
    ctx = replace(make_ctx(account, adapter.credentials, big,
                           recorder=kit.Recorder(initial=remote)), marker="wtg-s1-e03-ig")
    _run(kit, adapter, ctx)
    assert len(ig.containers) == (1 if resume == "offset_lookup" else 2)
    _one_post(kit, ig, big)


@pytest.mark.parametrize("lag", ["immediate", "lagging"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_dropped_connection_around_media_publish(kit, make_ctx, start_sandbox, video, lag,
                                                 when) -> None:
    """The connection drops before or after Instagram handled media_publish: find_published
    tells which (even while the container still says FINISHED), a retried publish only confirms
    a post that exists, and exactly one Reel results."""
    ig = start_sandbox("instagram", readings={"published_status_lag": lag})
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    ig.inject(Fault(method="POST", path=r"/media_publish$", reset=True, after=when == "after"))
    with pytest.raises(ConnectionLost) as err:
        adapter.publish(ctx)
    assert err.value.outcome_unknown
    found = adapter.find_published(kit.fresh(ctx))
    assert (found is None) is (when == "before")
    again = adapter.publish(kit.fresh(ctx))  # the orchestrator's next step either way
    post = _one_post(kit, ig, video)
    assert again.remote_id == post["id"] and _publish_calls(ig) == (1 if when == "after" else 2)
    assert adapter.find_published(kit.fresh(ctx)).remote_id == post["id"]


def test_listing_failing_after_published_is_still_published(kit, make_ctx, ig, video) -> None:
    """A container once seen PUBLISHED is published: a media listing (and status) failing
    afterwards still gives find_published the post, never an error that could fail it."""
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    ig.inject(Fault(method="POST", path=r"/media_publish$", reset=True, after=True))
    with pytest.raises(ConnectionLost):
        adapter.publish(ctx)
    assert adapter.poll(kit.fresh(ctx)).state is ProcessingState.PUBLISHED  # observed
    ig.inject(Fault(method="GET", path=r"/media$", status=500, body=GRAPH_500, times=5))
    ig.inject(Fault(method="GET", path=r"/\d+$", status=404,
                    body={"error": {"message": "gone", "type": "GraphMethodException",
                                    "code": 100, "error_subcode": 33, "fbtrace_id": "x"}},
                    times=5))
    found = adapter.find_published(kit.fresh(ctx))
    assert found is not None and found.remote_id == ctx.remote["container_id"]
    _one_post(kit, ig, video)


def test_failing_lookup_before_anything_was_seen_is_transient(kit, make_ctx, ig, video) -> None:
    """With nothing observed yet, a failing status look raises LookupFailed (transient), not a
    rejection and not "nothing found"."""
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx = kit.fresh(ctx)
    ig.inject(Fault(method="GET", path=r"/\d+$", status=400,
                    body={"error": {"message": "odd", "type": "GraphMethodException",
                                    "code": 100, "fbtrace_id": "x"}}))
    with pytest.raises(LookupFailed) as err:
        adapter.find_published(ctx)
    assert isinstance(err.value, TransientError)
    assert adapter.find_published(ctx) is None


@pytest.mark.parametrize("reading", ["refused_9007", "refused_generic", "accepted_later"])
def test_media_publish_only_when_finished(kit, make_ctx, start_sandbox, video, reading) -> None:
    """However Instagram treats media_publish on an unfinished container, the adapter never
    sends it before FINISHED (it raises a transient error), and 9007/2207027 classifies as
    transient."""
    ig = start_sandbox("instagram", readings={"publish_while_in_progress": reading})
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx = kit.fresh(ctx)
    with pytest.raises(PlatformUnavailable):
        adapter.publish(ctx)
    assert _publish_calls(ig) == 0
    if reading == "refused_9007":
        raw = requests.post(f"{adapter.account.api_base}/{ig.ig_user_id}/media_publish",
                            data={"creation_id": ctx.remote["container_id"]},
                            headers={"Authorization": f"OAuth {creds.values['access_token']}"},
                            timeout=10)
        error = raw.json()["error"]
        assert (raw.status_code, error["code"], error["error_subcode"]) == (400, 9007, 2207027)
        assert isinstance(classify("instagram", "Instagram")(400, raw.json(), {}),
                          PlatformUnavailable)
    ctx, _ = kit.poll_until_done(adapter, ctx)
    adapter.publish(ctx)
    _one_post(kit, ig, video)


def test_expired_container_gives_a_fresh_container_not_staff(kit, make_ctx, ig, video) -> None:
    """A container not published within 24 h is EXPIRED: poll raises UploadAgain (transient),
    the next upload makes a fresh container, and exactly one Reel results."""
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    first = kit.fresh(ctx).remote["container_id"]
    ig.advance(86_401)
    with pytest.raises(UploadAgain) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert isinstance(err.value, TransientError) and "neu hoch" in err.value.message_de
    ctx, _ = _run(kit, adapter, kit.fresh(ctx))
    assert ctx.remote["container_id"] != first and first in ctx.remote["abandoned_containers"]
    _one_post(kit, ig, video)


def test_processing_error_is_processing_failed(kit, make_ctx, ig, video) -> None:
    """status_code ERROR raises ProcessingFailed with the container's status; nothing posted."""
    ig.fail_processing.append("unsupported codec")
    adapter, creds = kit.adapter_for(ig)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert err.value.code == "ERROR" and "unsupported codec" in err.value.detail
    assert kit.published(ig) == []


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
    ig.rate_limit = None
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    adapter.publish(ctx)
    _one_post(kit, ig, video)


def test_expired_token(kit, make_ctx, ig, video) -> None:
    """An expired user token raises CredentialsExpired (code 190) with a German message."""
    adapter, creds = kit.adapter_for(ig)
    ig.expire_token(creds.values["access_token"])
    with pytest.raises(CredentialsExpired) as err:
        adapter.upload(make_ctx(adapter.account, creds, video))
    assert err.value.code == 190 and "Instagram" in err.value.message_de
    assert ig.containers == {}


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

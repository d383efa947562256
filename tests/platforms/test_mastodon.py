"""Mastodon adapter against the local Mastodon sandbox: the odd cases beyond the contract."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from config.credentials import InMemoryCredentials
from episodes.captions import PostText
from sandbox import Fault
from tests.platforms.conftest import upload_in_child
from workers.platforms.errors import (
    ConnectionLost,
    CredentialsExpired,
    PlatformUnavailable,
    ProcessingFailed,
    RateLimited,
    RejectedByPlatform,
    ScheduleTooClose,
)
from workers.platforms.mastodon import Mastodon, MultipartFile, classify


@pytest.fixture
def sb(start_sandbox: Any) -> Any:
    return start_sandbox("mastodon")


def _run(kit: Any, adapter: Any, ctx: Any) -> Any:
    adapter.upload(ctx)
    ctx, _state = kit.poll_until_done(adapter, kit.fresh(ctx))
    return adapter.publish(ctx), kit.fresh(ctx)


def _reset_iso(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (200, {"id": "1"}, {}, None),
        (202, {"id": "1", "url": None}, {}, None),
        (206, {"id": "1", "url": None}, {}, None),
        (401, {"error": "The access token is invalid"}, {}, CredentialsExpired),
        (403, {"error": "Your login is currently disabled"}, {}, CredentialsExpired),
        (404, {"error": "Record not found"}, {}, RejectedByPlatform),
        (413, "", {}, RejectedByPlatform),
        (422, {"error": "Validation failed: Text character limit of 500 exceeded"}, {},
         RejectedByPlatform),
        (422, {"error": "Cannot attach files that have not finished processing. Try again in a "
                        "moment!"}, {}, PlatformUnavailable),
        (422, {"error": "Validation failed: Scheduled at The scheduled date must be in the "
                        "future"}, {}, ScheduleTooClose),
        (422, {"error": "Validation failed: You have exceeded the limit of 25 scheduled posts "
                        "for today"}, {}, ScheduleTooClose),
        (429, {"error": "Too many requests"}, {"X-RateLimit-Reset": "__in_120s__"}, RateLimited),
        (500, {"error": "Error processing thumbnail for uploaded media"}, {}, PlatformUnavailable),
        (503, "There was a temporary problem serving your request", {}, PlatformUnavailable),
    ],
)
def test_classify_table(status: int, body: Any, headers: dict[str, str], expected: Any) -> None:
    """classify maps each Mastodon answer to the right typed error (429 waits until
    X-RateLimit-Reset)."""
    headers = {k: (_reset_iso(120) if v == "__in_120s__" else v) for k, v in headers.items()}
    error = classify(status, body, headers)
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    assert error.message_de and error.platform == "mastodon"
    if isinstance(error, RateLimited):
        assert 115 <= error.retry_after <= 121


def test_status_carries_language_visibility_alt_text_and_key(kit, make_ctx, sb, video) -> None:
    """The status is posted once with language=de, the account's visibility, the alt text on
    the media and the post's Idempotency-Key."""
    adapter, creds = kit.adapter_for(sb, visibility="unlisted")
    ctx = make_ctx(adapter.account, creds, video)
    result, ctx = _run(kit, adapter, ctx)
    with sb.lock:
        status = sb.statuses[result.remote_id]
        media = sb.media[ctx.remote["media_id"]]
    assert status["language"] == "de" and status["visibility"] == "unlisted"
    assert status["idempotency_key"] == ctx.idempotency_key
    assert media["description"] == ctx.text.title
    assert status["sha256"] == video.sha256 and result.url.endswith(result.remote_id)


def test_server_error_on_media_upload_then_one_post(kit, make_ctx, sb, video) -> None:
    """A 500 on the media upload raises PlatformUnavailable; the next upload call succeeds and
    exactly one status with the right bytes results."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    sb.inject(Fault("POST", "/api/v2/media", status=500,
                    body={"error": "Error processing thumbnail for uploaded media"}))
    with pytest.raises(PlatformUnavailable):
        adapter.upload(ctx)
    assert "media_id" not in kit.fresh(ctx).remote
    _run(kit, adapter, kit.fresh(ctx))
    posts = kit.published(sb)
    assert len(posts) == 1 and posts[0]["sha256"] == video.sha256


def test_connection_reset_mid_upload_then_resumes(kit, make_ctx, sb, tmp_path) -> None:
    """A connection reset in the middle of the multipart body raises ConnectionLost; the next
    upload call sends the file again and one post results."""
    video = kit.write_video(tmp_path / "big.mp4", 2_000_000, seed=5)
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    sb.inject(Fault("POST", "/api/v2/media", reset=True, read_bytes=300_000))
    with pytest.raises(ConnectionLost):
        adapter.upload(ctx)
    _run(kit, adapter, kit.fresh(ctx))
    posts = kit.published(sb)
    assert len(posts) == 1 and posts[0]["sha256"] == video.sha256


def test_rate_limit_waits_until_reset_header(kit, make_ctx, sb, video) -> None:
    """A 429 on the status POST (no Retry-After) raises RateLimited with the wait until
    X-RateLimit-Reset; the retry posts exactly once."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    sb.inject(Fault("POST", "/api/v1/statuses", status=429, body={"error": "Too many requests"},
                    headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": _reset_iso(90)}))
    with pytest.raises(RateLimited) as err:
        adapter.publish(ctx)
    assert 85 <= err.value.retry_after <= 92
    assert "Sekunden" in err.value.message_de
    adapter.publish(kit.fresh(ctx))
    assert len(kit.published(sb)) == 1


def test_sandbox_rate_limiter_answers_with_iso_reset(kit, start_sandbox) -> None:
    """Past the per-token limit the server answers 429 without Retry-After; the adapter derives
    the wait from X-RateLimit-Reset (within the window)."""
    sb = start_sandbox("mastodon", rate_limit=2, rate_window=120.0)
    adapter, _creds = kit.adapter_for(sb)
    adapter.check_credentials()  # two requests: verify_credentials + instance
    with pytest.raises(RateLimited) as err:
        adapter.check_credentials()
    assert 100 <= err.value.retry_after <= 122


def test_revoked_token_raises_credentials_expired_in_german(kit, make_ctx, sb, video) -> None:
    """A revoked token gives CredentialsExpired with a German explanation, and no upload."""
    adapter, creds = kit.adapter_for(sb)
    sb.revoke(creds.values["access_token"])
    with pytest.raises(CredentialsExpired) as err:
        adapter.check_credentials()
    assert "abgelaufen oder wurde widerrufen" in err.value.message_de
    assert err.value.detail == "The access token is invalid"
    with pytest.raises(CredentialsExpired):
        adapter.upload(make_ctx(adapter.account, creds, video))
    assert not sb.media


def test_processing_error_raises_processing_failed(kit, make_ctx, sb, video) -> None:
    """Media whose processing ends in an error makes poll raise ProcessingFailed; no status."""
    sb.fail_processing.append("Error processing video: unsupported codec")
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert "unsupported codec" in err.value.detail and "Videodatei" in err.value.message_de
    assert not sb.statuses


def test_publish_before_processing_is_never_sent(kit, make_ctx, sb, video) -> None:
    """Publishing while the media is still processing is refused by the server (422), and the
    adapter does not even try: it raises a transient error without POSTing a status."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx = kit.fresh(ctx)
    raw = requests.post(f"{sb.url}/api/v1/statuses", timeout=5,
                        headers={"Authorization": f"Bearer {creds.values['access_token']}"},
                        data={"status": "zu früh", "media_ids[]": ctx.remote["media_id"]})
    assert raw.status_code == 422 and "not finished processing" in raw.json()["error"]
    sb.processing_polls = 99
    with sb.lock:
        sb.media[ctx.remote["media_id"]]["polls_left"] = 99
        posts_before = sum(1 for m, p in sb.requests_seen if p == "/api/v1/statuses")
    with pytest.raises(PlatformUnavailable) as err:
        adapter.publish(ctx)
    assert err.value.code == "media_not_ready"
    with sb.lock:
        assert sum(1 for m, p in sb.requests_seen if p == "/api/v1/statuses") == posts_before
    assert not sb.statuses


def test_unknown_outcome_of_status_post_reconciled_with_same_key(kit, make_ctx, sb, video) -> None:
    """The status POST is handled but its answer lost: find_published re-sends it with the same
    Idempotency-Key and gets the same status; exactly one exists."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
    sb.inject(Fault("POST", "/api/v1/statuses", reset=True, after=True))
    with pytest.raises(ConnectionLost) as err:
        adapter.publish(ctx)
    assert err.value.outcome_unknown
    with sb.lock:
        assert len(sb.statuses) == 1
        first = next(iter(sb.statuses))
    found = adapter.find_published(kit.fresh(ctx))
    assert found is not None and found.remote_id == first
    assert len(sb.statuses) == 1 and len(kit.published(sb)) == 1
    assert kit.fresh(ctx).remote["status_id"] == first


def test_after_the_idempotency_window_the_status_is_found_by_its_media(
    kit, make_ctx, sb, video
) -> None:
    """More than an hour after a lost answer, find_published finds the status among the
    account's statuses by its media id instead of posting again."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    result, ctx = _run(kit, adapter, ctx)
    with sb.lock:
        for i in range(45):  # later posts push ours onto the second page
            sb.statuses[f"2{i:017d}"] = {**sb.statuses[result.remote_id], "id": f"2{i:017d}",
                                         "media_attachments": []}
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    lost = {k: v for k, v in ctx.remote.items() if k not in ("status_id", "status_url")}
    lost["status_attempt_at"] = two_hours_ago
    fresh = replace(ctx, remote=lost)
    found = adapter.find_published(fresh)
    assert found is not None and found.remote_id == result.remote_id
    with sb.lock:
        assert sum(1 for s in sb.statuses.values() if s["media_attachments"]) == 1


def test_find_published_without_an_attempt_is_none(kit, make_ctx, sb, video) -> None:
    """Without a recorded status attempt find_published answers None and posts nothing."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    assert adapter.find_published(kit.fresh(ctx)) is None
    assert not sb.statuses


def test_check_text_counts_urls_as_23(kit, sb) -> None:
    """check_text measures in Mastodon units (every URL 23): long URLs are cheap, but text
    over 500 units is refused with a German message."""
    adapter, _creds = kit.adapter_for(sb)
    url = "https://www.kreis-lup.de/" + "x" * 80  # 105 characters, counts 23
    ok = PostText(body="a" * 470 + " " + url)  # 494 units
    assert adapter.check_text(ok) == []
    too_long = PostText(body="a" * 477 + " " + url)  # 501 units
    problems = adapter.check_text(too_long)
    assert problems == ["Mastodon: der Text ist 501 Zeichen lang, erlaubt sind 500."]


def test_instance_limit_and_account_option(kit, start_sandbox) -> None:
    """check_credentials learns the instance's max_characters; an account option overrides."""
    sb = start_sandbox("mastodon", max_characters=1000)
    adapter, creds = kit.adapter_for(sb)
    text = PostText(body="a" * 800)
    assert adapter.check_text(text)  # before asking the server: 500
    adapter.check_credentials()
    assert adapter.check_text(text) == []
    capped = Mastodon(adapter.account.model_copy(update={"options": {"max_characters": 700}}),
                      creds)
    capped.check_credentials()
    assert capped.check_text(text) == ["Mastodon: der Text ist 800 Zeichen lang, erlaubt sind 700."]


def test_multipart_body_streams_in_bounded_blocks(tmp_path: Path, kit: Any) -> None:
    """The multipart body yields the file in blocks no larger than the block size and its
    length equals the bytes it yields (so requests sends it with Content-Length)."""
    video = kit.write_video(tmp_path / "v.mp4", 1_000_003)
    body = MultipartFile([("description", "Folge 3 – Tafel")], file_field="file",
                         path=video.path, size=video.size, mime="video/mp4", block=64 * 1024)
    pieces = list(body)
    assert sum(len(p) for p in pieces) == len(body)
    assert max(len(p) for p in pieces[1:-1]) <= 64 * 1024
    assert len(pieces) == 2 + (video.size + 64 * 1024 - 1) // (64 * 1024)


def test_killed_mid_upload_then_fresh_adapter_completes(kit, make_ctx, sb, tmp_path) -> None:
    """A worker SIGKILLed while its upload is in flight loses nothing: a fresh adapter starts
    from what was recorded and exactly one post with the right bytes results."""
    video = kit.write_video(tmp_path / "v.mp4", 1_500_000, seed=9)
    account, secrets = sb.account()
    state = tmp_path / "remote.json"
    sb.hold_media = threading.Event()
    child = multiprocessing.get_context("spawn").Process(
        target=upload_in_child, args=(account, secrets, video, str(state)),
        kwargs={"marker": "wtg-s1-e03-mastodon", "key": "wtg-s1-e03-mastodon-k1",
                "text": PostText(body="Folge 3")})
    child.start()
    try:
        kit.wait_until(lambda: sb.media_posts_seen >= 1, timeout=30, what="upload reached server")
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        sb.hold_media.set()
        if child.is_alive():
            child.kill()
            child.join(5)
    assert child.exitcode == -signal.SIGKILL
    remote = json.loads(state.read_text()) if state.exists() else {}
    adapter = Mastodon(account, InMemoryCredentials(secrets))
    ctx = make_ctx(account, adapter.credentials, video, recorder=kit.Recorder(remote))
    _run(kit, adapter, ctx)
    posts = kit.published(sb)
    assert len(posts) == 1 and posts[0]["sha256"] == video.sha256

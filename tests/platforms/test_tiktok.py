"""TikTok adapter against the local TikTok sandbox: chunks, resume, tokens, privacy."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import tracemalloc
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from config.credentials import CredentialStore, InMemoryCredentials, env_prefix
from episodes.captions import PostText
from sandbox import Fault
from sandbox.tiktok import TikTokSandbox
from tests.platforms.conftest import upload_in_child
from workers.platforms.base import MediaFile
from workers.platforms.errors import (
    ConnectionLost,
    CredentialsExpired,
    PlatformUnavailable,
    ProcessingFailed,
    ProtocolError,
    QuotaExhausted,
    RateLimited,
    RejectedByPlatform,
)
from workers.platforms.tiktok import TikTok, UploadExpired, chunk_range, classify, plan_chunks

KIB = 1024
CHUNK = 512 * KIB
MB = 1_000_000


@pytest.fixture
def sb(start_sandbox: Any) -> Any:
    return start_sandbox("tiktok", min_chunk=256 * KIB)


@pytest.fixture
def big(kit: Any, tmp_path: Path) -> MediaFile:
    return kit.write_video(tmp_path / "e03-9x16.mp4", 3_000_000, seed=3)  # 5 chunks of 512 KiB


def _chunked(kit: Any, sb: Any, **options: Any) -> tuple[TikTok, InMemoryCredentials]:
    return kit.adapter_for(sb, chunk_size=CHUNK, **options)


def _finish(kit: Any, adapter: Any, ctx: Any) -> Any:
    ctx, _state = kit.poll_until_done(adapter, kit.fresh(ctx))
    return adapter.publish(ctx)


def _puts(sb: Any) -> int:
    with sb.lock:
        return sum(1 for method, path in sb.requests_seen if method == "PUT")


def _one_post(kit: Any, sb: Any, video: MediaFile) -> dict[str, Any]:
    posts = kit.published(sb)
    assert len(posts) == 1 and posts[0]["sha256"] == video.sha256, posts
    with sb.lock:
        assert len(sb.publishes) == 1, "init was called more than once"
    return posts[0]


def _err(code: str, message: str = "") -> dict[str, Any]:
    return {"data": {}, "error": {"code": code, "message": message, "log_id": "202611240001"}}


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (200, {"data": {"publish_id": "p"}, "error": {"code": "ok", "message": ""}}, {}, None),
        (200, {"access_token": "a", "refresh_token": "r"}, {}, None),
        (206, "", {}, None),
        (401, _err("access_token_invalid"), {}, CredentialsExpired),
        (401, _err("scope_not_authorized"), {}, CredentialsExpired),
        (400, {"error": "invalid_grant", "error_description": "expired"}, {}, CredentialsExpired),
        (429, _err("rate_limit_exceeded"), {}, RateLimited),
        (429, _err("rate_limit_exceeded"), {"Retry-After": "17"}, RateLimited),
        (403, _err("spam_risk_too_many_posts"), {}, QuotaExhausted),
        (403, _err("reached_active_user_cap"), {}, QuotaExhausted),
        (403, _err("spam_risk_user_banned_from_posting"), {}, RejectedByPlatform),
        (403, _err("unaudited_client_can_only_post_to_private_accounts"), {}, RejectedByPlatform),
        (400, _err("privacy_level_option_mismatch"), {}, RejectedByPlatform),
        (400, _err("invalid_file_upload"), {}, RejectedByPlatform),
        (400, _err("invalid_params", "chunk_size"), {}, ProtocolError),
        (500, _err("internal_error"), {}, PlatformUnavailable),
        (502, "", {}, PlatformUnavailable),
    ],
)
def test_classify_table(status: int, body: Any, headers: dict[str, str], expected: Any) -> None:
    """classify maps TikTok's error envelope (and the OAuth endpoint's) to typed errors,
    keeping the platform's code."""
    error = classify(status, body, headers)
    if expected is None:
        assert error is None
        return
    assert type(error) is expected and error.message_de
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        assert error.code == body["error"]["code"]
    if isinstance(error, RateLimited):
        assert error.retry_after == (17.0 if headers else 60.0)


@pytest.mark.parametrize(
    ("size", "chunk", "expected"),
    [
        (3 * MB, 10 * MB, (3 * MB, 1)),  # under 5 MB: whole
        (4_999_999, 10 * MB, (4_999_999, 1)),
        (10 * MB, 10 * MB, (10 * MB, 1)),
        (12 * MB, 10 * MB, (10 * MB, 1)),  # one chunk of 12 MB: the last absorbs the rest
        (50_000_123, 10 * MB, (10 * MB, 5)),  # the documented example
        (130 * MB, 10 * MB, (10 * MB, 13)),
        (20_000 * MB, 10 * MB, (20 * MB, 1000)),  # never more than 1000 chunks
    ],
)
def test_chunk_plan_follows_the_documented_rules(size, chunk, expected, start_sandbox) -> None:
    """plan_chunks gives floor(size/chunk) chunks with the remainder in the last one, and the
    sandbox (documented 5 MiB minimum) accepts every plan it makes."""
    assert plan_chunks(size, chunk) == expected
    chunk_size, count = expected
    last = chunk_range(count - 1, size, chunk_size, count)
    assert last[1] == size and last[1] - last[0] <= 128 * 1024 * 1024
    sb = TikTokSandbox()
    assert sb._chunk_problem({"video_size": size, "chunk_size": chunk_size,
                              "total_chunk_count": count}) is None


@pytest.mark.parametrize(
    ("size", "chunk", "count", "problem"),
    [
        (20 * MB, 10 * MB, 3, "rounded down"),
        (20 * MB, 4 * MB, 5, "between 5 MB and 64 MB"),
        (70 * 1024 * 1024, 70 * 1024 * 1024, 1, "between 5 MB and 64 MB"),
        (3 * MB, 1 * MB, 3, "uploaded whole"),
        (1001 * 5 * 1024 * 1024, 5 * 1024 * 1024, 1001, "between 1 and 1000"),
    ],
)
def test_sandbox_refuses_plans_against_the_rules(size, chunk, count, problem) -> None:
    """The sandbox's init refuses chunk plans that break TikTok's rules."""
    found = TikTokSandbox()._chunk_problem(
        {"video_size": size, "chunk_size": chunk, "total_chunk_count": count})
    assert found is not None and problem in found


def test_chunked_upload_gives_one_public_post(kit, make_ctx, sb, big) -> None:
    """A 3 MB file goes up as five in-order chunks after one init, and exactly one public post
    with the file's sha256 results."""
    adapter, creds = _chunked(kit, sb)
    ctx = make_ctx(adapter.account, creds, big)
    adapter.upload(ctx)
    assert _puts(sb) == 5
    result = _finish(kit, adapter, ctx)
    post = _one_post(kit, sb, big)
    assert post["privacy_level"] == "PUBLIC_TO_EVERYONE" and post["chunks"] == 5
    assert result.remote_id == post["publish_id"] and result.url.endswith(post["id"])
    assert result.public
    first = kit.fresh(ctx).remote
    assert first["total_chunk_count"] == 5 and first["upload_done"] is True


def test_publish_id_is_recorded_before_the_first_chunk(kit, make_ctx, sb, big) -> None:
    """The publish id and upload URL are recorded before any byte is sent."""
    adapter, creds = _chunked(kit, sb)
    seen: list[dict[str, Any]] = []
    recorder = kit.Recorder()
    ctx = make_ctx(adapter.account, creds, big, recorder=recorder,
                   progress=lambda sent, total: seen.append(dict(recorder.remote)))
    adapter.upload(ctx)
    assert recorder.calls[0].keys() >= {"publish_id", "upload_url", "chunk_size"}
    assert recorder.calls[0]["chunks_done"] == 0 and seen[0]["publish_id"]


def test_unaudited_app_posts_private_only(kit, make_ctx, start_sandbox, video) -> None:
    """An unaudited app (the default) posts SELF_ONLY, the only option such an account offers;
    nothing becomes public."""
    sb = start_sandbox("tiktok", audited=False)
    adapter, creds = kit.adapter_for(sb, audited=False)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    result = _finish(kit, adapter, ctx)
    assert kit.published(sb) == []
    posts = sb.snapshot()["posts"]
    assert [p["privacy_level"] for p in posts] == ["SELF_ONLY"]
    assert posts[0]["sha256"] == video.sha256 and result.remote_id == posts[0]["publish_id"]


def test_privacy_not_offered_is_refused_before_init(kit, make_ctx, start_sandbox, video) -> None:
    """An account configured as audited/public whose creator info offers no public option is
    refused in German before any init; nothing is posted."""
    sb = start_sandbox("tiktok", audited=False)
    adapter, creds = kit.adapter_for(sb, audited=True)
    with pytest.raises(RejectedByPlatform) as err:
        adapter.upload(make_ctx(adapter.account, creds, video))
    assert err.value.code == "privacy_level_option_mismatch"
    assert "PUBLIC_TO_EVERYONE" in err.value.message_de and not sb.publishes


def test_unaudited_client_posting_to_followers_is_refused(kit, make_ctx, start_sandbox,
                                                          video) -> None:
    """An unaudited client asking for a non-private level is refused by TikTok with
    unaudited_client_can_only_post_to_private_accounts, explained in German."""
    sb = start_sandbox("tiktok", audited=False)
    adapter, creds = kit.adapter_for(sb, audited=True, privacy_level="FOLLOWER_OF_CREATOR")
    with pytest.raises(RejectedByPlatform) as err:
        adapter.upload(make_ctx(adapter.account, creds, video))
    assert err.value.code == "unaudited_client_can_only_post_to_private_accounts"
    assert "noch nicht geprüft" in err.value.message_de and not sb.publishes


def _break_after_first_chunk(sb: Any, fault: Fault) -> Any:
    def progress(sent: int, total: int) -> None:
        if sent == CHUNK:
            sb.inject(fault)
    return progress


def test_server_error_on_a_chunk_resumes_without_new_init(kit, make_ctx, sb, big) -> None:
    """A 500 on the second chunk raises PlatformUnavailable; the next upload call resumes at
    that chunk (no new init, the first chunk not resent) and one post results."""
    adapter, creds = _chunked(kit, sb)
    ctx = make_ctx(adapter.account, creds, big,
                   progress=_break_after_first_chunk(sb, Fault("PUT", "^/upload", status=500)))
    with pytest.raises(PlatformUnavailable):
        adapter.upload(ctx)
    assert kit.fresh(ctx).remote["chunks_done"] == 1
    adapter.upload(kit.fresh(ctx))
    assert _puts(sb) == 6
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, big)


def test_connection_reset_mid_chunk_resumes(kit, make_ctx, sb, big) -> None:
    """A connection reset in the middle of a chunk raises ConnectionLost; the next upload call
    resends that chunk only and one post results."""
    adapter, creds = _chunked(kit, sb)
    fault = Fault("PUT", "^/upload", reset=True, read_bytes=100 * KIB)
    ctx = make_ctx(adapter.account, creds, big, progress=_break_after_first_chunk(sb, fault))
    with pytest.raises(ConnectionLost):
        adapter.upload(ctx)
    adapter.upload(kit.fresh(ctx))
    assert _puts(sb) == 6
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, big)


def test_rate_limit_exceeded_then_success(kit, make_ctx, sb, video) -> None:
    """rate_limit_exceeded (no Retry-After) raises RateLimited with a one-minute wait; the
    retry succeeds and posts once."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    sb.inject(Fault("POST", "video/init", status=429, body=_err("rate_limit_exceeded")))
    with pytest.raises(RateLimited) as err:
        adapter.upload(ctx)
    assert err.value.retry_after == 60.0 and err.value.code == "rate_limit_exceeded"
    assert "publish_id" not in kit.fresh(ctx).remote
    adapter.upload(kit.fresh(ctx))
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, video)


def test_sandbox_enforces_per_minute_limits(kit, sb) -> None:
    """The 21st creator-info query within a minute is answered rate_limit_exceeded."""
    adapter, _creds = kit.adapter_for(sb)
    for _ in range(20):
        adapter.check_credentials()
    with pytest.raises(RateLimited):
        adapter.check_credentials()


class RecordingCredentials(InMemoryCredentials):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.updates: list[dict[str, str]] = []

    def update(self, values: Mapping[str, str]) -> None:
        self.updates.append(dict(values))
        super().update(values)


def test_expired_token_is_refreshed_and_rotated_pair_persisted(kit, make_ctx, sb, video) -> None:
    """An expired access token is refreshed once; the new access AND refresh token are
    persisted in one update, the old refresh token no longer works, and the post goes up."""
    account, secrets = sb.account()
    creds = RecordingCredentials(secrets)
    adapter = TikTok(account, creds)
    sb.expire_access_tokens()
    ctx = make_ctx(account, creds, video)
    adapter.upload(ctx)
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, video)
    assert len(creds.updates) == 1
    assert set(creds.updates[0]) == {"access_token", "refresh_token"}
    assert creds.values["refresh_token"] != secrets["refresh_token"]
    old = requests.post(f"{sb.url}/v2/oauth/token/", timeout=5, data={
        "client_key": secrets["client_key"], "client_secret": secrets["client_secret"],
        "grant_type": "refresh_token", "refresh_token": secrets["refresh_token"]})
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"


def test_dead_refresh_token_raises_credentials_expired(kit, sb) -> None:
    """An expired access token with a refresh token TikTok no longer accepts raises
    CredentialsExpired in German, and nothing is persisted."""
    account, secrets = sb.account()
    creds = RecordingCredentials({**secrets, "refresh_token": "tiktok-refresh-alt"})
    sb.expire_access_tokens()
    with pytest.raises(CredentialsExpired) as err:
        TikTok(account, creds).check_credentials()
    assert err.value.code == "invalid_grant" and "erneuern" in err.value.message_de
    assert creds.updates == []


def test_processing_failed_raises_with_reason(kit, make_ctx, sb, video) -> None:
    """Processing that ends FAILED makes poll raise ProcessingFailed with TikTok's
    fail_reason; nothing is published."""
    sb.fail_processing.append("file_format_check_failed")
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert err.value.code == "file_format_check_failed" and kit.published(sb) == []


def test_expired_upload_url_needs_attention_not_a_second_post(kit, make_ctx, sb, big) -> None:
    """When the upload URL expired before all chunks arrived, upload raises UploadExpired (in
    German) and never calls init again."""
    adapter, creds = _chunked(kit, sb)
    ctx = make_ctx(adapter.account, creds, big,
                   progress=_break_after_first_chunk(sb, Fault("PUT", "^/upload", status=503)))
    with pytest.raises(PlatformUnavailable):
        adapter.upload(ctx)
    sb.advance(3700)
    with pytest.raises(UploadExpired) as err:
        adapter.upload(kit.fresh(ctx))
    assert "nicht von selbst einen zweiten Beitrag" in err.value.message_de
    with sb.lock:
        assert len(sb.publishes) == 1
    with pytest.raises(ProcessingFailed):
        adapter.find_published(kit.fresh(ctx))
    assert kit.published(sb) == []


def test_video_longer_than_the_account_allows_is_refused(kit, make_ctx, start_sandbox,
                                                         video) -> None:
    """A video longer than creator info's max_video_post_duration_sec is refused before init."""
    sb = start_sandbox("tiktok", max_duration=30)
    adapter, creds = kit.adapter_for(sb)
    with pytest.raises(RejectedByPlatform) as err:
        adapter.upload(make_ctx(adapter.account, creds, replace(video, duration=42.0)))
    assert "höchstens 30 Sekunden" in err.value.message_de and not sb.publishes


def test_find_published_before_init_and_while_processing(kit, make_ctx, sb, video) -> None:
    """find_published answers None before any init and while TikTok is still processing."""
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    assert adapter.find_published(ctx) is None
    adapter.upload(ctx)
    assert adapter.find_published(kit.fresh(ctx)) is None  # first of two processing polls


def test_check_text_counts_utf16_units(kit, sb) -> None:
    """Emojis count twice against the 2200-unit title limit (German problem), plain text
    does not."""
    adapter, _creds = kit.adapter_for(sb)
    assert adapter.check_text(PostText(body="ä" * 2200)) == []
    problems = adapter.check_text(PostText(body="a" * 2190 + "🎄" * 10))
    assert problems and "2210" in problems[0]


def test_killed_mid_upload_then_fresh_adapter_resumes(kit, make_ctx, sb, big, tmp_path) -> None:
    """A worker SIGKILLed during the third chunk loses nothing: a fresh adapter resumes from
    the recorded publish id (no second init) and exactly one post with the right bytes
    results."""
    account, secrets = kit.account_for(sb, chunk_size=CHUNK)
    state = tmp_path / "remote.json"
    sb.hold_after = 2
    child = multiprocessing.get_context("spawn").Process(
        target=upload_in_child, args=(account, secrets, big, str(state)),
        kwargs={"marker": "wtg-s1-e03-tiktok", "key": "wtg-s1-e03-tiktok-k1",
                "text": PostText(body="Folge 3")})
    child.start()
    try:
        kit.wait_until(lambda: _puts(sb) >= 3, timeout=30, what="third chunk in flight")
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        sb.hold.set()
        if child.is_alive():
            child.kill()
            child.join(5)
    assert child.exitcode == -signal.SIGKILL
    remote = json.loads(state.read_text())
    assert remote["publish_id"] and remote["chunks_done"] == 2
    adapter = TikTok(account, InMemoryCredentials(secrets))
    ctx = make_ctx(account, adapter.credentials, big, recorder=kit.Recorder(remote))
    adapter.upload(ctx)
    _finish(kit, adapter, ctx)
    _one_post(kit, sb, big)


def test_rotated_tokens_are_written_to_the_secret_store(kit, make_ctx, sb, video,
                                                        tmp_path) -> None:
    """With the file-backed credential store, a refresh writes the new token pair together to
    the account's rotated-secrets file (one atomic replace, mode 0600) and the next adapter
    uses them."""
    account, secrets = sb.account()
    env = {env_prefix(account.name) + k.upper(): v for k, v in secrets.items()}
    store = CredentialStore(account.name, environ=env, secrets_dir=tmp_path / "secrets")
    sb.expire_access_tokens()
    TikTok(account, store).check_credentials()
    rotated = tmp_path / "secrets" / account.name / "rotated.json"
    pair = json.loads(rotated.read_text())
    assert pair["refresh_token"] != secrets["refresh_token"] and pair["access_token"]
    assert rotated.stat().st_mode & 0o777 == 0o600
    again = CredentialStore(account.name, environ=env, secrets_dir=tmp_path / "secrets")
    TikTok(account, again).check_credentials()
    assert sb.rotations == 1


def test_rotated_tokens_that_cannot_be_stored_raise_in_german(kit, sb) -> None:
    """If the rotated pair cannot be persisted the adapter raises CredentialsExpired with a
    German explanation instead of using a token it would lose."""
    account, secrets = sb.account()
    env = {env_prefix(account.name) + k.upper(): v for k, v in secrets.items()}
    store = CredentialStore(account.name, environ=env, secrets_dir=None)
    sb.expire_access_tokens()
    with pytest.raises(CredentialsExpired) as err:
        TikTok(account, store).check_credentials()
    assert err.value.code == "not_stored" and "nicht speichern" in err.value.message_de


def test_upload_memory_does_not_grow_with_file_size(kit, make_ctx, start_sandbox,
                                                    tmp_path) -> None:
    """Uploading a 24 MB file in 2 MiB chunks peaks far below the file size (client and
    sandbox together): the file is streamed from disk, never read whole."""
    sb = start_sandbox("tiktok", min_chunk=1024 * KIB)
    video = kit.write_video(tmp_path / "long.mp4", 24 * MB, seed=11)
    adapter, creds = kit.adapter_for(sb, chunk_size=2048 * KIB)
    ctx = make_ctx(adapter.account, creds, video)
    tracemalloc.start()
    try:
        adapter.upload(ctx)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kit.fresh(ctx).remote["upload_done"] is True
    assert peak < 8 * MB, f"peak {peak} bytes"


def test_no_token_reaches_the_logs(kit, make_ctx, sb, video, caplog) -> None:
    """wtg's debug logs of a refresh, an upload and a publish contain no access, refresh or
    upload token (urllib3's own debug lines are silenced by config.logging)."""
    account, secrets = sb.account()
    creds = InMemoryCredentials(secrets)
    adapter = TikTok(account, creds)
    sb.expire_access_tokens()
    ctx = make_ctx(account, creds, video)
    with caplog.at_level(logging.DEBUG):
        adapter.upload(ctx)
        _finish(kit, adapter, ctx)
    upload_token = kit.fresh(ctx).remote["upload_url"].split("upload_token=")[1]
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("wtg"))
    assert "/upload/" in text  # the chunk PUTs were logged ...
    for secret in (*secrets.values(), *creds.values.values(), upload_token):
        assert secret not in text  # ... without any token

"""The YouTube adapter against the local YouTube sandbox (real HTTP on 127.0.0.1).

Files are a few chunks of 256 KiB (account option ``chunk_size``) so every test is quick.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from config.credentials import InMemoryCredentials
from episodes.captions import PostText
from sandbox import Fault
from sandbox.youtube import YouTubeSandbox
from sandbox.youtube_rules import CHUNK, UPLOAD, YOUTUBE
from tests.platforms.conftest import account_for, upload_in_child
from workers.platforms.base import MediaFile, PostContext, ProcessingState
from workers.platforms.errors import (
    ConnectionLost,
    CredentialsExpired,
    PlatformUnavailable,
    ProcessingFailed,
    QuotaExhausted,
    RateLimited,
    RejectedByPlatform,
    TransientError,
)
from workers.platforms.youtube import YouTube
from workers.platforms.youtube_client import PACIFIC, classify

CHUNK_PATH = r"^/upload/youtube/v3/videos$"
TEXT = PostText(body="Wir tun GUTes – Folge 3: die Tafel in Hagenow. Mehr: "
                "https://www.kreis-lup.de", title="Wir tun GUTes – Folge 3: Tafel Hagenow",
                hashtags=("#WirTunGUTes", "#Hagenow"))
SRT = "1\n00:00:00,000 --> 00:00:02,000\nMoin aus Hagenow!\n"


def gerror(status: int, reason: str, message: str = "msg") -> dict[str, Any]:
    return {"error": {"code": status, "message": message,
                      "errors": [{"reason": reason, "domain": "youtube", "message": message}]}}


@pytest.fixture
def sb(start_sandbox: Any) -> YouTubeSandbox:
    sandbox: YouTubeSandbox = start_sandbox("youtube")
    return sandbox


@pytest.fixture
def big(kit: Any, tmp_path: Path) -> MediaFile:
    """Five full chunks and a short tail: six chunk requests."""
    return kit.write_video(tmp_path / "folge-03.mp4", 5 * CHUNK + 12_345, seed=3)


@pytest.fixture
def extras(tmp_path: Path) -> dict[str, Any]:
    srt = tmp_path / "folge-03.de.srt"
    srt.write_text(SRT, encoding="utf-8")
    thumb = tmp_path / "folge-03.jpg"
    thumb.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(40_000) + b"\xff\xd9")
    return {"captions_srt": srt, "thumbnail": thumb, "playlist_id": "PLwtgSeason1"}


def adapter(sb: YouTubeSandbox, **opts: Any) -> tuple[YouTube, InMemoryCredentials]:
    account, secrets = account_for(sb, **opts)
    creds = InMemoryCredentials(secrets)
    return YouTube(account, creds), creds


def ctx_for(make_ctx: Any, yt: YouTube, creds: Any, video: MediaFile, **kw: Any) -> PostContext:
    return make_ctx(yt.account, creds, video, text=kw.pop("text", TEXT), **kw)


def inject_after(sb: YouTubeSandbox, sent: int, fault: Fault) -> Any:
    """A progress callback that injects ``fault`` once ``sent`` bytes were confirmed."""
    done: list[bool] = []

    def progress(n: int, total: int) -> None:
        if n >= sent and not done:
            done.append(True)
            sb.inject(fault)

    return progress


def to_public(kit: Any, yt: YouTube, ctx: PostContext) -> PostContext:
    yt.upload(ctx)
    ctx, state = kit.poll_until_done(yt, kit.fresh(ctx))
    assert state.state is ProcessingState.READY
    yt.publish(ctx)
    return kit.fresh(ctx)


def one_public(sb: YouTubeSandbox, video: MediaFile) -> dict[str, Any]:
    posts = sb.snapshot()["published"]
    assert len(posts) == 1, posts
    assert posts[0]["sha256"] == video.sha256 and posts[0]["size"] == video.size
    assert len(sb.videos) == 1, "a second (private) video was created"
    return posts[0]


# --- the whole way ----------------------------------------------------------------------------

def test_happy_path_one_public_video_with_captions_thumbnail_playlist(
        kit, make_ctx, sb, big, extras, caplog) -> None:
    """Upload, poll, publish and finish leave one public video with the file's sha256, a German
    caption track, the thumbnail and one playlist entry — and no token in the logs."""
    caplog.set_level(logging.DEBUG)
    yt, creds = adapter(sb)
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, creds, big, **extras))
    yt.finish(ctx)
    yt.finish(kit.fresh(ctx))  # a retried finish adds nothing
    post = one_public(sb, big)
    snap = sb.snapshot()
    assert [(c["videoId"], c["language"]) for c in snap["captions"]] == [(post["id"], "de")]
    thumb_sha = __import__("hashlib").sha256(extras["thumbnail"].read_bytes()).hexdigest()
    assert snap["videos"][post["id"]]["thumbnail_sha256"] == thumb_sha
    assert snap["playlists"]["PLwtgSeason1"] == [post["id"]]
    assert kit.fresh(ctx).remote["published_url"].endswith(post["id"])
    assert creds.values["access_token"] not in caplog.text
    assert creds.values["refresh_token"] not in caplog.text


def test_lost_answers_in_finish_do_not_add_twice(kit, make_ctx, sb, video, extras) -> None:
    """When the answers to captions.insert and playlistItems.insert are lost, a retried finish
    finds the caption track and the playlist entry instead of adding them again."""
    yt, creds = adapter(sb)
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, creds, video, **extras))
    sb.inject(Fault(method="POST", path=r"^/upload/youtube/v3/captions$", reset=True, after=True))
    sb.inject(Fault(method="POST", path=r"^/youtube/v3/playlistItems$", reset=True, after=True))
    with pytest.raises(ConnectionLost):
        yt.finish(ctx)
    yt.finish(kit.fresh(ctx))
    snap = sb.snapshot()
    assert len(snap["captions"]) == 1 and len(snap["playlists"]["PLwtgSeason1"]) == 1
    remote = kit.fresh(ctx).remote
    assert remote["caption_id"] == snap["captions"][0]["id"] and remote["playlist_item_id"]


def test_scheduled_post_is_private_with_publish_at(kit, make_ctx, sb, video) -> None:
    """With scheduled_at ahead, publish leaves the video private with publishAt (native
    scheduling) and find_published reports it as held, not public."""
    yt, creds = adapter(sb)
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, creds, video, scheduled_at=at))
    post = one_public(sb, video)
    assert post["privacy"] == "private" and post["publishAt"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    found = yt.find_published(ctx)
    assert found is not None and found.public is False


# --- resuming uploads -------------------------------------------------------------------------

def test_500_on_one_chunk_resumes_without_resending(kit, make_ctx, sb, big) -> None:
    """A 500 on the third chunk raises PlatformUnavailable; the next upload asks the session
    what arrived and sends only the rest: six chunk requests in all, one video."""
    yt, creds = adapter(sb)
    fault = Fault(method="PUT", path=CHUNK_PATH, status=500, body=gerror(500, "backendError"))
    ctx = ctx_for(make_ctx, yt, creds, big, progress=inject_after(sb, 2 * CHUNK, fault))
    with pytest.raises(PlatformUnavailable):
        yt.upload(ctx)
    assert kit.fresh(ctx).remote["upload_offset"] == 2 * CHUNK
    to_public(kit, yt, kit.fresh(ctx))
    one_public(sb, big)
    assert sb.chunks_received == 6 and len(sb.sessions) == 1


def test_connection_reset_mid_chunk_resumes_via_status_query(kit, make_ctx, sb, big) -> None:
    """A reset half-way through a chunk raises ConnectionLost; the next upload resumes from the
    server's Range and one video with the right bytes results."""
    yt, creds = adapter(sb)
    fault = Fault(method="PUT", path=CHUNK_PATH, reset=True, read_bytes=CHUNK // 2)
    ctx = ctx_for(make_ctx, yt, creds, big, progress=inject_after(sb, CHUNK, fault))
    with pytest.raises(ConnectionLost):
        yt.upload(ctx)
    to_public(kit, yt, kit.fresh(ctx))
    one_public(sb, big)
    assert len(sb.sessions) == 1


def test_partial_acceptance_is_trusted_from_range(kit, make_ctx, sb, big) -> None:
    """When the server keeps only part of a chunk (Range ends early) the adapter continues
    from the server's Range in the same call."""
    yt, creds = adapter(sb, chunk_size=4 * CHUNK)
    sb.partial_accepts = 1
    to_public(kit, yt, ctx_for(make_ctx, yt, creds, big))
    one_public(sb, big)


def test_lost_final_answer_is_recovered_by_status_query(kit, make_ctx, sb, big) -> None:
    """If the 201 of the last chunk is lost, the next upload learns the video id from the status
    query and never starts a second session."""
    yt, creds = adapter(sb)
    fault = Fault(method="PUT", path=CHUNK_PATH, reset=True, after=True)
    ctx = ctx_for(make_ctx, yt, creds, big, progress=inject_after(sb, 5 * CHUNK, fault))
    with pytest.raises(ConnectionLost):
        yt.upload(ctx)
    assert "video_id" not in kit.fresh(ctx).remote
    to_public(kit, yt, kit.fresh(ctx))
    one_public(sb, big)
    assert len(sb.sessions) == 1 and sb.snapshot()["uploads_used"] == 1


def test_expired_session_after_completion_adopts_video_by_marker(
        kit, make_ctx, sb, big) -> None:
    """A session that expired (404) after YouTube got every byte is not replaced: the marker tag
    in the channel's uploads gives the video id back."""
    yt, creds = adapter(sb)
    fault = Fault(method="PUT", path=CHUNK_PATH, reset=True, after=True)
    ctx = ctx_for(make_ctx, yt, creds, big, progress=inject_after(sb, 5 * CHUNK, fault))
    with pytest.raises(ConnectionLost):
        yt.upload(ctx)
    sb.expire_sessions()
    to_public(kit, yt, kit.fresh(ctx))
    one_public(sb, big)
    assert len(sb.sessions) == 1


def test_expired_session_before_completion_starts_one_new_session(
        kit, make_ctx, sb, big) -> None:
    """A session that expired half-way (404, no video with the marker) is replaced by exactly
    one new session and one video results."""
    yt, creds = adapter(sb)
    fault = Fault(method="PUT", path=CHUNK_PATH, status=503, body=gerror(503, "backendError"))
    ctx = ctx_for(make_ctx, yt, creds, big, progress=inject_after(sb, 2 * CHUNK, fault))
    with pytest.raises(PlatformUnavailable):
        yt.upload(ctx)
    sb.expire_sessions()
    to_public(kit, yt, kit.fresh(ctx))
    one_public(sb, big)
    assert len(sb.sessions) == 2


def test_sigkill_mid_upload_then_fresh_adapter_resumes(
        kit, make_ctx, sb, big, tmp_path) -> None:
    """A worker process SIGKILLed mid-upload leaves its recorded session; a fresh adapter in
    another process resumes it and exactly one public video with the file's sha256 results."""
    account, secrets = sb.account()
    record_path = tmp_path / "remote.json"
    sb.hold_uploads_at(3 * CHUNK)
    child = multiprocessing.get_context("spawn").Process(
        target=upload_in_child, args=(account, secrets, big, str(record_path)),
        kwargs={"marker": f"wtg-s1-e03-{account.name}-p7",
                "key": f"wtg-s1-e03-{account.name}-p7", "text": TEXT})
    child.start()
    try:
        kit.wait_until(lambda: sb.held >= 1, timeout=30, what="the child's fourth chunk")
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        sb.release_uploads()
        if child.is_alive():
            child.kill()
            child.join(5)
    assert child.exitcode == -signal.SIGKILL
    remote = json.loads(record_path.read_text(encoding="utf-8"))
    assert remote["upload_offset"] == 3 * CHUNK and "video_id" not in remote
    yt = YouTube(account, InMemoryCredentials(secrets))
    ctx = ctx_for(make_ctx, yt, yt.credentials, big, recorder=kit.Recorder(remote))
    to_public(kit, yt, ctx)
    one_public(sb, big)
    assert len(sb.sessions) == 1 and sb.chunks_received <= 7


# --- tokens and scopes ------------------------------------------------------------------------

def test_expired_access_token_is_refreshed_and_persisted(kit, make_ctx, sb, big) -> None:
    """An access token that expires mid-upload is refreshed once with the refresh token, the new
    token is persisted, and the upload finishes in the same call."""
    yt, creds = adapter(sb)
    old = creds.values["access_token"]
    expired: list[bool] = []

    def progress(n: int, total: int) -> None:
        if n >= 2 * CHUNK and not expired:
            expired.append(True)
            sb.expire_access_tokens()

    to_public(kit, yt, ctx_for(make_ctx, yt, creds, big, progress=progress))
    one_public(sb, big)
    assert creds.values["access_token"] != old and sb.token_refreshes == 1
    assert float(creds.values["access_token_expires_at"]) > datetime.now(UTC).timestamp()


def test_revoked_refresh_token_is_credentials_expired_in_german(make_ctx, sb, video) -> None:
    """A revoked refresh token (invalid_grant) raises CredentialsExpired explaining the 7-day
    limit of apps in "Testing"; nothing is uploaded."""
    yt, creds = adapter(sb)
    sb.expire_access_tokens()
    sb.revoke_refresh_tokens()
    with pytest.raises(CredentialsExpired) as err:
        yt.upload(ctx_for(make_ctx, yt, creds, video))
    assert err.value.code == "invalid_grant"
    assert "7 Tage" in err.value.message_de and "Testing" in err.value.message_de
    assert not sb.sessions


def test_missing_force_ssl_scope_names_it_for_captions(kit, make_ctx, sb, video, extras) -> None:
    """A token with youtube.upload (+youtube) but not youtube.force-ssl publishes, sets thumbnail
    and playlist, then fails captions with a German message naming the missing scope."""
    account, secrets = sb.account(scopes=(UPLOAD, YOUTUBE))
    yt = YouTube(account, InMemoryCredentials(secrets))
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, yt.credentials, video, **extras))
    with pytest.raises(CredentialsExpired) as err:
        yt.finish(ctx)
    assert "youtube.force-ssl" in err.value.message_de and "youtube.upload" in err.value.message_de
    snap = sb.snapshot()
    assert snap["captions"] == [] and len(snap["playlists"]["PLwtgSeason1"]) == 1
    assert kit.fresh(ctx).remote["thumbnail_set"] is True


# --- processing and publishing ----------------------------------------------------------------

@pytest.mark.parametrize(("kind", "reason"), [("failed", "codec"), ("rejected", "claim")])
def test_processing_failure_raises_processing_failed(kit, make_ctx, sb, video, kind,
                                                     reason) -> None:
    """Processing that ends failed/rejected raises ProcessingFailed with YouTube's reason, and
    publish refuses to make it public."""
    yt, creds = adapter(sb)
    sb.set_outcome(kind, reason)
    ctx = ctx_for(make_ctx, yt, creds, video)
    yt.upload(ctx)
    ctx = kit.fresh(ctx)
    assert yt.poll(ctx).state is ProcessingState.PENDING
    with pytest.raises(ProcessingFailed) as err:
        yt.poll(ctx)
    assert err.value.code == reason and "YouTube hat das Video" in err.value.message_de
    with pytest.raises(ProcessingFailed):
        yt.publish(ctx)
    assert sb.snapshot()["published"] == []


def test_identical_bytes_twice_are_rejected_as_duplicate(kit, make_ctx, sb, video) -> None:
    """A second upload of the same bytes as another post is rejected as duplicate by the
    sandbox, as YouTube does, and surfaces as ProcessingFailed."""
    yt, creds = adapter(sb)
    to_public(kit, yt, ctx_for(make_ctx, yt, creds, video, post_id=1))
    ctx = ctx_for(make_ctx, yt, creds, video, post_id=2)
    yt.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        kit.poll_until_done(yt, kit.fresh(ctx))
    assert err.value.code == "duplicate"


@pytest.mark.parametrize("reading", ["accept", "refuse"])
def test_never_public_before_processing_done(kit, make_ctx, start_sandbox, video,
                                             reading) -> None:
    """Whether or not YouTube would take a public status while processing (undocumented), the
    adapter does not try: publish raises a transient error without a videos.update call."""
    sb = start_sandbox("youtube", readings={"update_while_processing": reading})
    yt, creds = adapter(sb)
    ctx = ctx_for(make_ctx, yt, creds, video)
    yt.upload(ctx)
    vid = kit.fresh(ctx).remote["video_id"]
    if reading == "refuse":
        raw = requests.put(f"{sb.url}/youtube/v3/videos", params={"part": "status"},
                           headers={"Authorization": f"Bearer {creds.values['access_token']}"},
                           json={"id": vid, "status": {"privacyStatus": "public"}}, timeout=5)
        assert raw.status_code == 400
        assert raw.json()["error"]["errors"][0]["reason"] == "failedPrecondition"
    sb.requests_seen.clear()
    with pytest.raises(TransientError):
        yt.publish(kit.fresh(ctx))
    assert ("PUT", "/youtube/v3/videos") not in sb.requests_seen
    assert sb.snapshot()["published"] == []


def test_unknown_publish_outcome_is_reconciled(kit, make_ctx, sb, video) -> None:
    """A publish whose answer is lost raises ConnectionLost(outcome_unknown); find_published
    then finds the public video, by recorded id and by marker alone."""
    yt, creds = adapter(sb)
    ctx = ctx_for(make_ctx, yt, creds, video)
    yt.upload(ctx)
    ctx, _ = kit.poll_until_done(yt, kit.fresh(ctx))
    sb.inject(Fault(method="PUT", path=r"^/youtube/v3/videos$", reset=True, after=True))
    with pytest.raises(ConnectionLost) as err:
        yt.publish(ctx)
    assert err.value.outcome_unknown
    found = yt.find_published(kit.fresh(ctx))
    post = one_public(sb, video)
    assert found is not None and found.remote_id == post["id"]
    by_marker = yt.find_published(replace(ctx, remote={}, record=kit.Recorder()))
    assert by_marker is not None and by_marker.remote_id == post["id"]


def test_rate_limit_with_retry_after_then_success(kit, make_ctx, sb, video) -> None:
    """A 403 rateLimitExceeded with Retry-After raises RateLimited with that wait; the next poll
    succeeds."""
    yt, creds = adapter(sb)
    ctx = ctx_for(make_ctx, yt, creds, video)
    yt.upload(ctx)
    sb.inject(Fault(method="GET", path=r"^/youtube/v3/videos$", status=403,
                    body=gerror(403, "rateLimitExceeded"), headers={"Retry-After": "17"}))
    with pytest.raises(RateLimited) as err:
        yt.poll(kit.fresh(ctx))
    assert err.value.retry_after == 17.0
    kit.poll_until_done(yt, kit.fresh(ctx))


# --- quota ------------------------------------------------------------------------------------

def test_quota_stops_before_a_call_it_cannot_afford(kit, make_ctx, sb, video, extras) -> None:
    """With too few units left for captions.insert the adapter raises QuotaExhausted (reset at
    midnight Pacific) without calling YouTube; what it did spend matches the sandbox."""
    yt, creds = adapter(sb)
    quota = Ledger(300)
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, creds, video, quota=quota, **extras))
    sb.requests_seen.clear()
    with pytest.raises(QuotaExhausted) as err:
        yt.finish(ctx)
    assert ("POST", "/upload/youtube/v3/captions") not in sb.requests_seen
    reset = err.value.reset_at
    assert reset is not None and reset > datetime.now(UTC)
    assert reset.astimezone(PACIFIC).hour == 0 and reset.astimezone(PACIFIC).minute == 0
    spent = sum(u for u, what in quota.spent if what != "videos.insert")
    assert spent == sb.snapshot()["units_used"]


def test_sandbox_quota_exceeded_maps_to_quota_exhausted(
        kit, make_ctx, start_sandbox, video) -> None:
    """When YouTube answers 403 quotaExceeded the adapter raises QuotaExhausted."""
    sb = start_sandbox("youtube", daily_units=1)
    yt, creds = adapter(sb)
    ctx = ctx_for(make_ctx, yt, creds, video, quota=None)
    yt.upload(ctx)
    ctx = kit.fresh(ctx)
    yt.poll(ctx)
    with pytest.raises(QuotaExhausted) as err:
        yt.poll(ctx)
    assert err.value.code == "quotaExceeded"


class Ledger:
    """A quota ledger holding ``units`` (the real one lives in the database)."""

    def __init__(self, units: int) -> None:
        self.units = units
        self.spent: list[tuple[int, str]] = []

    def remaining(self) -> int:
        return self.units - sum(u for u, _ in self.spent)

    def spend(self, units: int, what: str) -> None:
        self.spent.append((units, what))


# --- text and configuration -------------------------------------------------------------------

def test_check_text_refuses_title_and_description_problems(sb) -> None:
    """Titles with < or over 100 characters and descriptions over 5,000 bytes (umlauts count
    twice) are refused in German; exactly 5,000 bytes pass."""
    yt, _ = adapter(sb)
    ok = PostText(body="ä" * 2500, title="Folge 3")
    assert yt.check_text(ok) == []
    assert any("< >" in p or "<" in p for p in yt.check_text(replace(ok, title="a <b> c")))
    assert any("101" in p for p in yt.check_text(replace(ok, title="x" * 101)))
    too_long = yt.check_text(replace(ok, body="ä" * 2501))
    assert any("5002 Bytes" in p and "5000" in p for p in too_long)
    assert yt.check_text(replace(ok, body="a < b"))
    many = tuple(f"#Schlagwort{i:03d}" for i in range(40))
    assert any("Schlagwörter" in p for p in yt.check_text(replace(ok, hashtags=many)))


def test_bad_text_is_refused_before_any_call(make_ctx, sb, video) -> None:
    """upload with a title containing > raises RejectedByPlatform with the German problem and
    starts no upload session."""
    yt, creds = adapter(sb)
    with pytest.raises(RejectedByPlatform) as err:
        yt.upload(ctx_for(make_ctx, yt, creds, video, text=replace(TEXT, title="A > B")))
    assert "Titel" in err.value.message_de and not sb.sessions


def test_chunk_size_must_be_a_multiple_of_256_kib(sb) -> None:
    """A chunk_size option that is not a multiple of 256 KiB is refused with a German message."""
    with pytest.raises(ValueError, match="Vielfaches"):
        adapter(sb, chunk_size=300_000)


@pytest.mark.parametrize(("status", "body", "headers", "expected", "code"), [
    (200, {}, {}, None, None),
    (308, "", {}, None, None),
    (401, gerror(401, "authError"), {}, CredentialsExpired, "authError"),
    (403, gerror(403, "quotaExceeded"), {}, QuotaExhausted, "quotaExceeded"),
    (400, gerror(400, "uploadLimitExceeded"), {}, QuotaExhausted, "uploadLimitExceeded"),
    (403, gerror(403, "rateLimitExceeded"), {"Retry-After": "30"}, RateLimited,
     "rateLimitExceeded"),
    (403, gerror(403, "userRateLimitExceeded"), {}, RateLimited, "userRateLimitExceeded"),
    (429, "", {"Retry-After": "5"}, RateLimited, 429),
    (500, gerror(500, "backendError"), {}, PlatformUnavailable, "backendError"),
    (503, "", {}, PlatformUnavailable, None),
    (403, gerror(403, "insufficientPermissions"), {}, CredentialsExpired,
     "insufficientPermissions"),
    (400, gerror(400, "invalidTitle"), {}, RejectedByPlatform, "invalidTitle"),
    (403, gerror(403, "forbidden"), {}, RejectedByPlatform, "forbidden"),
    (404, gerror(404, "notFound"), {}, RejectedByPlatform, "notFound"),
    (400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
     {}, CredentialsExpired, "invalid_grant"),
    (401, {"error": "invalid_client"}, {}, CredentialsExpired, "invalid_client"),
])
def test_classify_table(status, body, headers, expected, code) -> None:
    """classify maps each YouTube/Google answer to the typed error the orchestrator acts on."""
    err = classify(status, body, headers)
    if expected is None:
        assert err is None
        return
    assert type(err) is expected and err.code == code and err.message_de
    if isinstance(err, RateLimited):
        assert err.retry_after == float(headers.get("Retry-After", 60))
    if isinstance(err, QuotaExhausted):
        assert err.reset_at is not None and err.reset_at > datetime.now(UTC)

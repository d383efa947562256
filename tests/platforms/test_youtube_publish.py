"""YouTube publishing under the readings of what Google leaves open: native scheduling, lookups
that fail, captions after a 503 or a lost answer, a dropped publish call, another 401 body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox import Fault
from sandbox.youtube_rules import CHUNK
from tests.platforms.test_youtube import (
    SRT,
    adapter,
    ctx_for,
    gerror,
    inject_after,
    one_public,
    to_public,
)
from workers.platforms.base import FinishPart, ProcessingState
from workers.platforms.errors import (
    ConnectionLost,
    PlatformUnavailable,
    RejectedByPlatform,
    ScheduleTooClose,
)

CAPTIONS = r"^/upload/youtube/v3/captions$"


@pytest.fixture
def big(kit: Any, tmp_path: Path) -> Any:
    """Five full chunks and a short tail."""
    return kit.write_video(tmp_path / "folge-03.mp4", 5 * CHUNK + 12_345, seed=3)


@pytest.fixture
def srt(tmp_path: Path) -> Path:
    path = tmp_path / "folge-03.de.srt"
    path.write_text(SRT, encoding="utf-8")
    return path


def _ready(kit: Any, yt: Any, ctx: Any) -> Any:
    yt.upload(ctx)
    ctx, state = kit.poll_until_done(yt, kit.fresh(ctx))
    assert state.state is ProcessingState.READY
    return ctx


def test_native_scheduling_then_public_after_the_slot(kit, make_ctx, start_sandbox,
                                                      video) -> None:
    """private + publishAt is handed over (public=False, also in find_published); YouTube's
    scheduler makes it public at the slot, and only then find_published says public."""
    sb = start_sandbox("youtube")
    yt, creds = adapter(sb, min_schedule_lead=1.0)
    ctx = _ready(kit, yt, ctx_for(make_ctx, yt, creds, video))
    slot = datetime.now(UTC) + timedelta(seconds=2.5)
    ctx = ctx_for(make_ctx, yt, creds, video, recorder=ctx.record, scheduled_at=slot)
    handed = yt.publish(ctx)
    assert handed.public is False and handed.url.endswith(handed.remote_id)
    held = yt.find_published(kit.fresh(ctx))
    assert held is not None and held.public is False
    assert one_public(sb, video)["privacy"] == "private"

    def public() -> Any:
        found = yt.find_published(kit.fresh(ctx))
        return found if found is not None and found.public else None

    found = kit.wait_until(public, timeout=10, what="YouTube to publish at publishAt")
    assert datetime.now(UTC) >= slot and found.remote_id == handed.remote_id
    assert one_public(sb, video)["privacy"] == "public"


@pytest.mark.parametrize("reading", ["publish_now", "invalid"])
@pytest.mark.parametrize("minutes", [5, -3])
def test_too_close_or_past_time_is_schedule_too_close(kit, make_ctx, start_sandbox, video,
                                                      reading, minutes) -> None:
    """A scheduled_at 5 minutes ahead (under the 15-minute minimum) or already past raises
    ScheduleTooClose without a videos.update: the video stays private, nothing is public."""
    sb = start_sandbox("youtube", readings={"publish_at_past": reading})
    yt, creds = adapter(sb)
    ctx = _ready(kit, yt, ctx_for(make_ctx, yt, creds, video))
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    ctx = ctx_for(make_ctx, yt, creds, video, recorder=ctx.record, scheduled_at=at)
    sb.requests_seen.clear()
    with pytest.raises(ScheduleTooClose):
        yt.publish(ctx)
    assert ("PUT", "/youtube/v3/videos") not in sb.requests_seen
    assert sb.snapshot()["published"] == []
    assert yt.find_published(kit.fresh(ctx)) is None


def test_invalid_publish_at_is_schedule_too_close(kit, make_ctx, start_sandbox, video) -> None:
    """Where YouTube refuses the time itself (here: only half hours), invalidPublishAt becomes
    ScheduleTooClose and the video stays private."""
    sb = start_sandbox("youtube", readings={"publish_at_steps": "half_hour"})
    yt, creds = adapter(sb)
    ctx = _ready(kit, yt, ctx_for(make_ctx, yt, creds, video))
    at = (datetime.now(UTC) + timedelta(days=2)).replace(minute=7, second=0, microsecond=0)
    ctx = ctx_for(make_ctx, yt, creds, video, recorder=ctx.record, scheduled_at=at)
    with pytest.raises(ScheduleTooClose) as err:
        yt.publish(ctx)
    assert err.value.code == "invalidPublishAt"
    assert sb.snapshot()["published"] == []


@pytest.mark.parametrize(("path", "status"), [
    (r"^/youtube/v3/playlistItems$", 404), (r"^/youtube/v3/channels$", 503),
    (r"^/youtube/v3/videos$", 500)])
def test_failing_lookup_is_transient_not_a_rejection(kit, make_ctx, start_sandbox, video,
                                                     path, status) -> None:
    """find_published whose lookup answers 404 or 5xx raises PlatformUnavailable (never
    RejectedByPlatform); the next try finds the public video."""
    sb = start_sandbox("youtube")
    yt, creds = adapter(sb)
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, creds, video))
    lost = {k: v for k, v in ctx.remote.items() if k != "video_id"}
    by_marker = ctx_for(make_ctx, yt, creds, video, recorder=kit.Recorder(lost))
    reason = "playlistNotFound" if status == 404 else "backendError"
    sb.inject(Fault(method="GET", path=path, status=status, body=gerror(status, reason)))
    with pytest.raises(PlatformUnavailable) as err:
        yt.find_published(by_marker)
    assert not isinstance(err.value, RejectedByPlatform)
    found = yt.find_published(kit.fresh(by_marker))
    assert found is not None and found.public


@pytest.mark.parametrize("reading", ["conflict_409", "second_track"])
@pytest.mark.parametrize("stored", [False, True])
def test_captions_503_then_retry_gives_exactly_one_track(kit, make_ctx, start_sandbox, video,
                                                         srt, reading, stored) -> None:
    """A 503 on captions.insert (before or after YouTube stored the track) is transient; the
    retried part looks first and leaves exactly one German track, under either answer to a
    duplicate insert."""
    sb = start_sandbox("youtube", readings={"caption_duplicate": reading})
    yt, creds = adapter(sb)
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, creds, video, captions_srt=srt))
    if stored:
        sb.caption_answers_lost = 1
    else:
        sb.inject(Fault(method="POST", path=CAPTIONS, status=503,
                        body=gerror(503, "backendError")))
    assert yt.finish_parts(ctx) == [FinishPart.CAPTIONS]
    with pytest.raises(PlatformUnavailable):
        yt.finish_part(ctx, FinishPart.CAPTIONS)
    assert yt.finish_parts(kit.fresh(ctx)) == [FinishPart.CAPTIONS]
    yt.finish_part(kit.fresh(ctx), FinishPart.CAPTIONS)
    assert yt.finish_parts(kit.fresh(ctx)) == []
    tracks = sb.snapshot()["captions"]
    assert [(t["language"], t["name"]) for t in tracks] == [("de", "Deutsch")]
    assert kit.fresh(ctx).remote["caption_id"] == tracks[0]["id"]


def test_lost_caption_answer_where_duplicates_are_allowed(kit, make_ctx, start_sandbox, video,
                                                          srt) -> None:
    """Where YouTube would add a second track with the same name, a lost captions.insert answer
    followed by a retry still leaves one track: the adapter lists before inserting again."""
    sb = start_sandbox("youtube", readings={"caption_duplicate": "second_track"})
    yt, creds = adapter(sb)
    ctx = to_public(kit, yt, ctx_for(make_ctx, yt, creds, video, captions_srt=srt))
    sb.inject(Fault(method="POST", path=CAPTIONS, reset=True, after=True))
    with pytest.raises(ConnectionLost):
        yt.finish_part(ctx, FinishPart.CAPTIONS)
    yt.finish_part(kit.fresh(ctx), FinishPart.CAPTIONS)
    assert len(sb.snapshot()["captions"]) == 1


@pytest.mark.parametrize("after", [False, True])
def test_dropped_publish_call_is_reconciled_to_one_public_video(kit, make_ctx, start_sandbox,
                                                                video, after) -> None:
    """The connection drops before or after YouTube handled videos.update: find_published tells
    which (None, or the public video), and publishing again leaves exactly one public video."""
    sb = start_sandbox("youtube")
    yt, creds = adapter(sb)
    ctx = _ready(kit, yt, ctx_for(make_ctx, yt, creds, video))
    sb.inject(Fault(method="PUT", path=r"^/youtube/v3/videos$", reset=True, after=after))
    with pytest.raises(ConnectionLost):
        yt.publish(ctx)
    found = yt.find_published(kit.fresh(ctx))
    assert (found is not None and found.public) if after else found is None
    result = yt.publish(kit.fresh(ctx))
    assert result.public and one_public(sb, video)["privacy"] == "public"


@pytest.mark.parametrize("reading", ["google_errors", "status_only"])
def test_expired_token_refreshed_whatever_the_401_body(kit, make_ctx, start_sandbox, video,
                                                       reading) -> None:
    """An expired access token is refreshed once and the call repeated, whether Google's 401
    carries errors[].reason or only a status."""
    sb = start_sandbox("youtube", readings={"auth_error_body": reading})
    yt, creds = adapter(sb)
    old = creds.values["access_token"]
    sb.expire_access_tokens()
    to_public(kit, yt, ctx_for(make_ctx, yt, creds, video))
    one_public(sb, video)
    assert creds.values["access_token"] != old and sb.token_refreshes == 1


@pytest.mark.parametrize("reading", ["404", "410"])
def test_expired_session_404_or_410_gives_one_video(kit, make_ctx, start_sandbox, big,
                                                    reading) -> None:
    """An upload session that expired half-way answers 404 or 410: either way the adapter starts
    exactly one new session (no video carries the marker yet) and one video results."""
    sb = start_sandbox("youtube", readings={"expired_session": reading})
    yt, creds = adapter(sb)
    fault = Fault(method="PUT", path=r"^/upload/youtube/v3/videos$", status=503,
                  body=gerror(503, "backendError"))
    ctx = ctx_for(make_ctx, yt, creds, big, progress=inject_after(sb, 2 * CHUNK, fault))
    with pytest.raises(PlatformUnavailable):
        yt.upload(ctx)
    sb.expire_sessions()
    to_public(kit, yt, kit.fresh(ctx))
    one_public(sb, big)
    assert len(sb.sessions) == 2


def test_partial_chunks_and_308_without_range_resume(kit, make_ctx, start_sandbox, big) -> None:
    """Where YouTube keeps only part of each chunk's first try (a 308 whose Range ends early,
    or none at all), the upload continues from the server's Range and one video results."""
    sb = start_sandbox("youtube", readings={"chunk_acceptance": "partial"})
    yt, creds = adapter(sb, chunk_size=4 * CHUNK)
    to_public(kit, yt, ctx_for(make_ctx, yt, creds, big))
    one_public(sb, big)

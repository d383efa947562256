"""Mastodon native scheduling and reconciliation against the local Mastodon sandbox.

The sandbox's minimum lead is set to about a second (the real one is 5 minutes) so a post is
handed to the server's scheduler and published by it within a few seconds of real time.
"""

from __future__ import annotations

import ast
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox import Fault
from sandbox.mastodon_text import graphemes, status_length
from workers.platforms.errors import (
    ConnectionLost,
    PlatformUnavailable,
    RejectedByPlatform,
    ScheduleTooClose,
    TransientError,
)

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "sandbox"


def _ready(kit: Any, adapter: Any, ctx: Any) -> Any:
    adapter.upload(ctx)
    ctx, _state = kit.poll_until_done(adapter, kit.fresh(ctx))
    return ctx


def _slot(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _public_after(kit: Any, adapter: Any, ctx: Any, timeout: float = 15.0) -> Any:
    """find_published until it reports the post public (transient lookups are retried, as the
    orchestrator does)."""
    def look() -> Any:
        time.sleep(0.1)  # a poll interval, as the orchestrator keeps (the server rate-limits)
        try:
            found = adapter.find_published(kit.fresh(ctx))
        except TransientError:
            return None
        return found if found is not None and found.public else None
    return kit.wait_until(look, timeout=timeout, what="the scheduled status to be public")


@pytest.fixture
def quick(start_sandbox: Any) -> Any:
    return start_sandbox("mastodon", min_schedule_lead=1.0)


def test_native_scheduling_hands_over_then_public_after_the_slot(kit, make_ctx, quick,
                                                                 video) -> None:
    """A post handed to Mastodon's scheduler is public=False until the server publishes it at
    its time as a new status; then find_published reports that status as public, and not
    before the slot."""
    adapter, creds = kit.adapter_for(quick)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    slot = _slot(2.5)
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=slot)
    handed = adapter.publish(ctx)
    assert handed.public is False and handed.url == ""
    snap = quick.snapshot()
    assert (snap["scheduled"], snap["statuses"]) == (1, 0)
    pending = adapter.find_published(kit.fresh(ctx))
    assert pending is not None and pending.public is False
    assert pending.remote_id == handed.remote_id
    found = _public_after(kit, adapter, ctx)
    assert datetime.now(UTC) >= slot
    assert found.remote_id != handed.remote_id  # the server made a new status with a new id
    with quick.lock:
        assert list(quick.statuses) == [found.remote_id] and not quick.scheduled
    posts = kit.published(quick)
    assert len(posts) == 1 and posts[0]["sha256"] == video.sha256 and posts[0]["public"]
    assert kit.fresh(ctx).remote["status_id"] == found.remote_id


@pytest.mark.parametrize("reading", ["reject_422", "post_now"])
def test_too_close_time_raises_schedule_too_close_and_publishes_nothing(
        kit, make_ctx, start_sandbox, video, reading) -> None:
    """A scheduled_at nearer than the minimum lead raises ScheduleTooClose without any status
    POST -- also where the server would have posted it at once."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0, readings={"schedule_too_soon": reading})
    adapter, creds = kit.adapter_for(sb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=_slot(1.2))
    with pytest.raises(ScheduleTooClose) as err:
        adapter.publish(kit.fresh(ctx))
    assert "selbst" in err.value.message_de
    with sb.lock:
        assert ("POST", "/api/v1/statuses") not in sb.requests_seen
        assert not sb.statuses and not sb.scheduled
    assert adapter.find_published(kit.fresh(ctx)) is None


def test_server_refusing_the_time_is_schedule_too_close(kit, make_ctx, start_sandbox,
                                                        video) -> None:
    """When the server's minimum is longer than the client believes, its 422 too_soon becomes
    ScheduleTooClose and nothing is scheduled or posted."""
    sb = start_sandbox("mastodon", min_schedule_lead=5.0)
    adapter, creds = kit.adapter_for(sb, min_schedule_lead=1.0)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=_slot(3.0))
    with pytest.raises(ScheduleTooClose) as err:
        adapter.publish(kit.fresh(ctx))
    assert err.value.status == 422
    with sb.lock:
        assert not sb.statuses and not sb.scheduled


def test_listing_404_is_a_transient_error_not_a_rejection(kit, make_ctx, start_sandbox,
                                                          video) -> None:
    """After the slot, an account-statuses listing that answers 404 (and a home timeline that
    fails too) raises PlatformUnavailable, never RejectedByPlatform; once the home timeline
    answers again the published status is found there."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0,
                       readings={"account_statuses": "not_found"})
    adapter, creds = kit.adapter_for(sb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    slot = _slot(2.5)
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=slot)
    adapter.publish(kit.fresh(ctx))
    kit.wait_until(lambda: datetime.now(UTC) > slot, what="the slot")
    sb.inject(Fault("GET", "/api/v1/timelines/home", status=404, body={"error": "Not found"},
                    times=3))
    with pytest.raises(PlatformUnavailable) as err:
        adapter.find_published(kit.fresh(ctx))
    assert not isinstance(err.value, RejectedByPlatform) and err.value.code == "lookup_failed"
    assert "nichts über den Beitrag" in err.value.message_de
    found = _public_after(kit, adapter, ctx)
    with sb.lock:
        assert list(sb.statuses) == [found.remote_id]


def test_scheduled_lookup_still_answering_after_publish_does_not_hide_the_status(
        kit, make_ctx, start_sandbox, video) -> None:
    """Where the scheduled status is still answered after it was published, the status found
    in the account's listing decides: public=True."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0,
                       readings={"scheduled_after_publish": "kept"})
    adapter, creds = kit.adapter_for(sb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=_slot(2.5))
    handed = adapter.publish(kit.fresh(ctx))
    found = _public_after(kit, adapter, ctx)
    assert found.remote_id != handed.remote_id and found.url


def test_gap_between_destroy_and_create_is_transient(kit, make_ctx, start_sandbox,
                                                     video) -> None:
    """In the moment between the server destroying the scheduled status and creating the real
    one, find_published raises a transient error (not None, not a rejection); then the status
    is found."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0, publish_gap=1.5)
    adapter, creds = kit.adapter_for(sb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    slot = _slot(2.5)
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=slot)
    adapter.publish(kit.fresh(ctx))
    with sb.lock:
        at = next(iter(sb.scheduled.values()))["at"]  # the slot, rounded up to a second
    assert slot <= at < slot + timedelta(seconds=1)
    kit.wait_until(lambda: datetime.now(UTC) > at + timedelta(seconds=0.05), what="the slot")
    with pytest.raises(PlatformUnavailable) as err:
        adapter.find_published(kit.fresh(ctx))
    assert err.value.code == "not_yet_visible"
    _public_after(kit, adapter, ctx)
    assert len(kit.published(sb)) == 1


@pytest.mark.parametrize("reading", ["record_not_found", "returns_scheduled"])
def test_lost_answer_of_a_scheduled_post_is_found_not_repeated(kit, make_ctx, start_sandbox,
                                                               video, reading) -> None:
    """The answer to the scheduling POST is lost: a retried publish and find_published find the
    scheduled status by its media (public=False) instead of posting again, under either server
    answer to a replayed key."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0,
                       readings={"idempotent_scheduled": reading})
    adapter, creds = kit.adapter_for(sb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=_slot(60))
    sb.inject(Fault("POST", "/api/v1/statuses", reset=True, after=True))
    with pytest.raises(ConnectionLost):
        adapter.publish(kit.fresh(ctx))
    again = adapter.publish(kit.fresh(ctx))  # retried without asking first: still no repeat
    assert again.public is False
    found = adapter.find_published(kit.fresh(ctx))
    assert found is not None and found.public is False and found.remote_id == again.remote_id
    with sb.lock:
        assert list(sb.scheduled) == [found.remote_id] and not sb.statuses
        assert sum(1 for m, p in sb.requests_seen if (m, p) == ("POST", "/api/v1/statuses")) == 1


def test_server_clock_ahead_never_publishes_before_the_slot(kit, make_ctx, start_sandbox,
                                                            video) -> None:
    """A server whose clock runs 4 s ahead would post a time 3 s ahead at once; the adapter
    reads the server's clock from its Date header and shifts scheduled_at, so the post is
    scheduled and goes out at the slot in real time."""
    sb = start_sandbox("mastodon", min_schedule_lead=1.0, skew=4.0,
                       readings={"server_clock": "ahead"})
    adapter, creds = kit.adapter_for(sb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    slot = _slot(3.0)
    ctx = make_ctx(adapter.account, creds, video, recorder=ctx.record, scheduled_at=slot)
    handed = adapter.publish(kit.fresh(ctx))
    assert handed.public is False and not sb.statuses
    assert 3.5 <= adapter.skew <= 6.0
    _public_after(kit, adapter, ctx)
    assert datetime.now(UTC) >= slot


@pytest.mark.parametrize("after", [False, True])
def test_dropped_connection_around_the_status_post_gives_one_post(kit, make_ctx, sb, video,
                                                                  after) -> None:
    """A connection dropped before or after the server handled the status POST raises
    ConnectionLost; find_published (same Idempotency-Key) leaves exactly one status."""
    adapter, creds = kit.adapter_for(sb)
    ctx = _ready(kit, adapter, make_ctx(adapter.account, creds, video))
    sb.inject(Fault("POST", "/api/v1/statuses", reset=True, after=after))
    with pytest.raises(ConnectionLost):
        adapter.publish(ctx)
    with sb.lock:
        assert len(sb.statuses) == (1 if after else 0)
    found = adapter.find_published(kit.fresh(ctx))
    assert found is not None and found.public
    assert adapter.find_published(kit.fresh(ctx)).remote_id == found.remote_id
    posts = kit.published(sb)
    assert len(posts) == 1 and posts[0]["sha256"] == video.sha256


def test_sandbox_measures_text_its_own_way() -> None:
    """The sandbox's ruler follows the server: graphemes (a flag, a family emoji and an accented
    letter are one each), URLs 23 without trailing punctuation, remote mentions as @user."""
    assert graphemes("🇩🇪") == 1 and graphemes("👩‍👩‍👧") == 1 and graphemes("e\u0301") == 1
    assert status_length("Mehr: https://www.kreis-lup.de/folge-3.") == 6 + 23 + 1
    assert status_length("(https://kreis-lup.de/a_(b))") == 23 + 2
    assert status_length("Danke @tafel@social.example!") == len("Danke @tafel!")
    assert status_length("xhttps://kreis-lup.de") == len("xhttps://kreis-lup.de")


@pytest.fixture
def sb(start_sandbox: Any) -> Any:
    return start_sandbox("mastodon")


@pytest.mark.parametrize("module", ["mastodon", "mastodon_text", "mastodon_entities", "youtube",
                                    "youtube_rules", "youtube_videos",
                                    "youtube_channel", "tiktok", "base"])
def test_sandbox_shares_nothing_with_the_clients(module: str) -> None:
    """The YouTube, Mastodon and TikTok sandboxes import nothing from workers or
    episodes.captions: they judge the clients with their own reading of the documents."""
    tree = ast.parse((SANDBOX_DIR / f"{module}.py").read_text(encoding="utf-8"))
    names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    bad = [n for n in names if n.startswith(("workers", "episodes"))]
    assert not bad, f"sandbox/{module}.py imports {bad}"

"""Real-process helpers: a compressed-time season on Mastodon sandboxes, made ready without
the media worker (renditions are rows pointing at one small real clip), and checks that every
post went out exactly once, soon after its slot."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, Rendition, SlotRun
from episodes.slots import lease_holder
from scheduler.clock import ScaledClock, clock_for
from scheduler.runner import LEASE_NAME

from ..integration.season_kit import FAST, make_clip, write_season
from .kit import BERLIN

FIRST_SLOT = datetime(2030, 1, 3, 17, 0, tzinfo=BERLIN)


def compressed(*, week_seconds: float = 4.0, lead_seconds: float = 2.5,
               **extra: Any) -> dict[str, Any]:
    """Settings for a season where a week lasts ``week_seconds`` real seconds and the first slot
    comes ``lead_seconds`` after the scheduler starts."""
    scale = 604800 / week_seconds
    return {
        **FAST,
        "time_scale": scale,
        "clock_start": (FIRST_SLOT - timedelta(seconds=lead_seconds * scale)).isoformat(),
        "grace_hours": 72.0,  # 1.7 real seconds at a week per 4 s
        "leader_lease_seconds": 1.5,
        "lease_seconds": 3.0,
        "sweep_seconds": 0.5,
        **extra,
    }


def load_ready_season(stack: Any, root: Path, accounts: Sequence[str], episodes: int) -> None:
    """Load a season with ``wtg season load`` and make every episode ready and approved, with
    a verified rendition row per profile pointing at one real 1-second clip."""
    root.mkdir(parents=True, exist_ok=True)
    clip = make_clip(root / "clip.mp4", seconds=1.0)
    season = write_season(root, accounts=accounts, episodes=episodes, clip=clip)
    stack.run("season", "load", str(season))
    data = clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    with stack.db.session() as s:
        for ep in s.query(Episode):
            ep.media_status = MediaStatus.VERIFIED
            ep.edited_by, ep.approved_by = "redaktion", "freigabe"
            ep.approved_revision = ep.revision
            ep.renditions.append(Rendition(
                profile="landscape-burned", cache_key="test", path=str(clip), sha256=sha,
                size=len(data), width=320, height=240, duration=1.0, verified=True,
                details={"captions": "burned"}))
            for p in ep.posts:
                p.state = str(PostState.READY)


def leader(stack: Any) -> str | None:
    with stack.db.session() as s:
        held = lease_holder(s, LEASE_NAME)
    if held is None:
        return None
    from episodes.models import utcnow

    owner, until = held
    return owner if until > utcnow() else None


def clock(stack: Any) -> ScaledClock:
    return clock_for(stack.settings, stack.db, create=False)


def all_published(stack: Any, total: int) -> bool:
    with stack.db.session() as s:
        posts = s.query(Post).all()
        bad = [(p.id, p.state, p.last_error) for p in posts
               if p.state in ("failed", "needs_attention", "missed", "skipped")]
        assert not bad, bad
        return len(posts) == total and all(p.state == PostState.PUBLISHED for p in posts)


def lateness(stack: Any) -> list[float]:
    """Seconds from each post's slot (in real time) to the start of its upload."""
    clk = clock(stack)
    with stack.db.session() as s:
        return [(p.upload_started_at - clk.to_real(p.slot_at)).total_seconds()
                for p in s.query(Post).order_by(Post.id)]


def slot_runs(stack: Any) -> list[str]:
    with stack.db.session() as s:
        return [r.outcome for r in s.query(SlotRun).order_by(SlotRun.slot_at)]


def published_once(sandboxes: Sequence[Any], episodes: int) -> None:
    """Each sandbox holds exactly one public post per episode, no duplicates."""
    for sb in sandboxes:
        public = sb.snapshot()["published"]
        titles = sorted(p["text"].splitlines()[0] for p in public)
        assert len(public) == episodes, titles
        assert len(set(titles)) == episodes, titles

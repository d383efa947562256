"""Shared by the controls tests: episode 9 (Plau am See) with a real clip for a real worker."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from episodes import store
from episodes.models import Episode, Post, Series
from episodes.users import create_user, get_user, issue_token

from ..integration.season_kit import make_clip, make_srt
from .conftest import PASSWORD

SHORT = "Folge 9: Plau am See – Ehrenamt am Seeufer. #WirTunGUTes"
STAFF = (("erika", "editor"), ("anton", "approver"), ("petra", "approver"), ("ada", "admin"))


def seed_plau(stack: Any, tmp: Path) -> tuple[int, int]:
    """Episode 9 (Plau am See) with a real clip and subtitles, its hashtag hyphenated as in
    the field, one post on the Mastodon account; the staff logins."""
    clip = make_clip(tmp / "plau.mp4")
    srt = make_srt(tmp / "plau.srt")
    with stack.db.session() as s:
        accounts = store.sync_accounts(s, stack.settings.accounts)
        series = Series(slug="wtg-2026", name="Wir tun GUTes 2026", weekday=3,
                        time_of_day="17:00", first_date=date(2030, 1, 3),
                        last_date=date(2030, 3, 28), hashtags=["WirTunGUTes"],
                        accounts=["mastodon-lup"], link="https://www.kreis-lup.de")
        series.episodes.append(Episode(
            number=9, title="Wir tun GUTes – Folge 9: Plau am See", place="Plau am Se",
            description="Am Plauer See sammeln Ehrenamtliche jeden Samstag Müll vom Ufer und "
                        "reparieren Bänke.", hashtags=["Plau-am-See"],
            source_path=str(clip), subtitle_path=str(srt), media_status="queued",
            slot_at=datetime(2030, 1, 3, 16, tzinfo=UTC)))
        s.add(series)
        s.flush()
        store.ensure_posts(s, series, accounts)
        for name, role in STAFF:
            create_user(s, name, PASSWORD, role=role, actor="test")
        ep = series.episodes[0]
        return ep.id, ep.posts[0].id


def state_of(stack: Any, post_id: int) -> str:
    with stack.db.session() as s:
        return str(s.get(Post, post_id).state)


def tokens(stack: Any) -> dict[str, str]:
    """An API token for every staff login."""
    with stack.db.session() as s:
        return {name: issue_token(s, get_user(s, name), actor="test") for name, _ in STAFF}


def media_ready(stack: Any, episode_id: int) -> bool:
    with stack.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep.media_status == "failed":
            raise AssertionError(f"media failed: {ep.media_problems}")
        return ep.media_status == "verified"

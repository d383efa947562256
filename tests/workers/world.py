"""A small world for orchestrator tests: a migrated database with one series, one episode, a
verified rendition (random bytes: the sandboxes do not decode) and one post per sandbox account;
credentials in the environment as in production."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from config import settings_from_dict
from config.credentials import env_prefix
from episodes import store
from episodes.capabilities import capabilities
from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, Rendition, Series
from sandbox import Sandbox
from tests.platforms.conftest import write_video
from workers.publishing import Outcome, run_post
from workers.runtime import Runtime

FAST = {"poll_interval_min": 0.0, "poll_interval_max": 0.05, "retry_backoff": 0.01,
        "lease_seconds": 30.0}


@dataclass
class World:
    rt: Runtime
    post_ids: dict[str, int]  # account name -> post id
    sha256: str

    def post(self, name: str) -> Post:
        with self.rt.db.session() as s:
            post = s.get(Post, self.post_ids[name])
            assert post is not None
            s.expunge(post)
            return post

    def drive(self, name: str, worker: str = "w1", max_steps: int = 60) -> Outcome:
        """Run the post's task the way the worker does, following re-enqueues at once."""
        out = run_post(self.rt, self.post_ids[name], worker)
        steps = 1
        while out.again is not None and steps < max_steps:
            out = run_post(self.rt, self.post_ids[name], worker)
            steps += 1
        return out

    def queue(self, name: str) -> None:
        with self.rt.db.session() as s:
            assert store.transition(s, self.post_ids[name], PostState.QUEUED,
                                    expect=[PostState.READY, PostState.FAILED,
                                            PostState.NEEDS_ATTENTION])


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               sandboxes: dict[str, Sandbox], *, size: int = 600_000,
               extra: dict[str, Any] | None = None,
               account_extra: dict[str, Any] | None = None,
               slot_at: datetime | None = None) -> World:
    accounts = []
    for name, sb in sandboxes.items():
        acc, secrets = sb.account(name)  # type: ignore[attr-defined]
        accounts.append({"name": name, "platform": acc.platform, "api_base": acc.api_base,
                         "options": dict(acc.options), **(account_extra or {})})
        for key, value in secrets.items():
            monkeypatch.setenv(env_prefix(name) + key.upper(), value)
    settings = settings_from_dict({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "var_dir": str(tmp_path / "var"), "media_root": str(tmp_path / "media"),
        "secrets_dir": str(tmp_path / "secrets"), "accounts": accounts, **FAST,
        **(extra or {}),
    })
    from episodes.db import Database

    db = Database(settings.database_url)
    db.migrate()
    video = write_video(tmp_path / "rendition.mp4", size)
    with db.session() as s:
        rows = store.sync_accounts(s, settings.accounts)
        series = Series(slug="t", name="Wir tun GUTes", weekday=3, time_of_day="17:00",
                        first_date=date(2030, 1, 3), last_date=date(2030, 3, 28),
                        hashtags=["WirTunGUTes"], accounts=list(sandboxes),
                        link="https://www.kreis-lup.de", credits="Landkreis LUP")
        ep = Episode(number=3, title="Wir tun GUTes – Folge 3: Matzlow", place="Matzlow",
                     description="Ehrenamt in Matzlow.", media_status=MediaStatus.VERIFIED,
                     subtitle_path=str(tmp_path / "x.srt"))
        series.episodes.append(ep)
        for prof in {capabilities(a.platform).default_profile for a in settings.accounts}:
            ep.renditions.append(Rendition(
                profile=prof, cache_key="k", path=str(video.path), sha256=video.sha256,
                size=video.size, width=1920, height=1080, duration=42.0, verified=True))
        s.add(series)
        s.flush()
        post_ids = {}
        for name in sandboxes:
            post = Post(account_id=rows[name].id, state=PostState.READY, slot_at=slot_at)
            ep.posts.append(post)
            s.flush()
            post_ids[name] = post.id
    return World(rt=Runtime(settings=settings, db=db), post_ids=post_ids, sha256=video.sha256)

"""Builds series, episodes and posts directly in the database for scheduler tests (no media
pipeline: renditions are rows pointing at a file), and records the tasks the scheduler sends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config import Settings, settings_from_dict
from episodes import store
from episodes.db import Database
from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, Rendition, Series
from scheduler.clock import ManualClock
from scheduler.jobs import Deps

BERLIN = ZoneInfo("Europe/Berlin")
FIRST = datetime(2022, 11, 3, 17, 0, tzinfo=BERLIN)  # a Thursday


class Recorder:
    """Stands in for the broker in DB-level tests: remembers every task sent by name."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def send_task(self, name: str, args: Sequence[Any] | None = None, **_: Any) -> None:
        self.sent.append((name, tuple(args or ())))

    def posts(self) -> list[int]:
        return [a[0] for n, a in self.sent if n == "wtg.publish.run"]


def scheduler_settings(tmp_path: Path, *, accounts: Sequence[dict[str, Any]] = (),
                       **extra: Any) -> Settings:
    accs = list(accounts) or [
        {"name": "mastodon-a", "platform": "mastodon", "api_base": "http://127.0.0.1:1"},
        {"name": "youtube-a", "platform": "youtube", "api_base": "http://127.0.0.1:1"},
    ]
    return settings_from_dict({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "var_dir": str(tmp_path / "var"),
        "accounts": accs,
        **extra,
    })


def make_series(
    db: Database, settings: Settings, *, episodes: int = 3, slots: Sequence[datetime] | None = None,
    blackout: Sequence[date] = (), ready: bool = True, approved: bool = True,
    media: Path | None = None,
) -> int:
    """A series on Thursdays 17:00 from ``FIRST`` with ``episodes`` episodes (0 = trailer), one
    post per episode x account; ready ones have a verified rendition and are approved."""
    cal = [FIRST + timedelta(weeks=i) for i in range(episodes + len(blackout) + 2)]
    cal = [c for c in cal if c.date() not in set(blackout)]
    slots = list(slots or cal[:episodes])
    with db.session() as s:
        accounts = store.sync_accounts(s, settings.accounts)
        series = Series(
            slug="test", name="Wir tun GUTes (Test)", timezone="Europe/Berlin", weekday=3,
            time_of_day="17:00", first_date=FIRST.date(),
            last_date=slots[-1].date(), blackout_dates=[d.isoformat() for d in blackout],
            accounts=[a.name for a in settings.accounts],
        )
        s.add(series)
        for n in range(episodes):
            ep = Episode(number=n, title=f"Folge {n}", place="Plau am See",
                         slot_at=slots[n], subtitle_path="/x.srt", source_path="/x.mp4",
                         media_status=MediaStatus.VERIFIED if ready else MediaStatus.QUEUED,
                         edited_by="redaktion")
            if approved:
                ep.approved_by, ep.approved_revision = "freigabe", 1
            if ready:
                for prof in ("landscape", "landscape-burned"):
                    ep.renditions.append(Rendition(
                        profile=prof, cache_key="k", path=str(media or "/x.mp4"), sha256="0" * 64,
                        size=1, width=640, height=360, duration=1.0, verified=True,
                        captions_srt="/x.srt", details={"captions": "burned"}))
            series.episodes.append(ep)
        s.flush()
        store.ensure_posts(s, series, accounts)
        if ready:
            for ep in series.episodes:
                for p in ep.posts:
                    store.transition(s, p.id, PostState.READY)
        return series.id


def deps(db: Database, settings: Settings, clock: ManualClock, sender: Recorder) -> Deps:
    return Deps(db=db, sender=sender, clock=clock, settings=settings)


def states(db: Database, number: int) -> list[str]:
    with db.session() as s:
        return sorted(p.state for p in s.query(Post).join(Episode).filter(Episode.number == number))


def slot_of(db: Database, number: int) -> datetime:
    with db.session() as s:
        ep = s.query(Episode).filter(Episode.number == number).one()
        assert ep.slot_at is not None
        for p in ep.posts:
            if p.state in ("pending", "preparing", "ready"):
                assert p.slot_at == ep.slot_at
        return ep.slot_at

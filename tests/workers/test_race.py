"""Two OS processes, each with its own engine, race for the same posts on the same database
(a SQLite file and PostgreSQL): in every round exactly one moves the post, exactly one gets the
lease, and only the lease holder may take the next step."""

from __future__ import annotations

import multiprocessing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from episodes.db import Database
from episodes.lifecycle import PostState
from episodes.models import Account, Episode, Post, Series
from episodes.store import take_lease, transition

ROUNDS = 40


def contender(url: str, who: str, post_ids: list[int], barrier: Any, out: Any) -> None:
    """One racer (runs in a spawned process): per post, three steps, each started together
    with the other racer."""
    db = Database(url)
    results = []
    try:
        for pid in post_ids:
            barrier.wait()
            with db.session() as s:
                queued = transition(s, pid, PostState.QUEUED, expect=[PostState.READY])
            barrier.wait()
            with db.session() as s:
                leased = take_lease(s, pid, who, 60)
            barrier.wait()
            with db.session() as s:
                moved = transition(s, pid, PostState.UPLOADING, owner=who)
            results.append((queued, leased, moved))
        out.put((who, results, None))
    except Exception as exc:  # reported to the test
        barrier.abort()
        out.put((who, results, repr(exc)))
    finally:
        db.dispose()


def ready_posts(db: Database, n: int) -> list[int]:
    """``n`` episodes with one ready post each."""
    with db.session() as s:
        account = Account(name="mastodon-lup", platform="mastodon", display_name="LUP")
        series = Series(slug="race", name="Rennen", weekday=3, time_of_day="17:00",
                        first_date=date(2022, 11, 3), last_date=date(2023, 1, 26))
        s.add_all([account, series])
        s.flush()
        for i in range(n):
            ep = Episode(number=i, title=f"Folge {i}")
            series.episodes.append(ep)
            ep.posts.append(Post(account_id=account.id, state=str(PostState.READY)))
        s.flush()
        return list(s.scalars(select(Post.id).order_by(Post.id)))


@pytest.fixture(params=["sqlite", "postgresql"])
def race_db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = (f"sqlite:///{tmp_path / 'race.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    db = Database(url)
    db.migrate()
    yield db
    db.dispose()


def test_two_processes_race_for_the_same_posts(race_db: Database):
    """In each of 40 rounds exactly one process queues the post, exactly one leases it, and
    only the lease holder moves it on to uploading."""
    ids = ready_posts(race_db, ROUNDS)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2, timeout=60)
    out = ctx.Queue()
    procs = [ctx.Process(target=contender, args=(race_db.url, who, ids, barrier, out))
             for who in ("worker-a", "worker-b")]
    for p in procs:
        p.start()
    try:
        answers = dict((who, (res, err)) for who, res, err in (out.get(timeout=120)
                                                               for _ in procs))
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
    assert all(err is None for _res, err in answers.values()), answers
    a, b = answers["worker-a"][0], answers["worker-b"][0]
    assert len(a) == len(b) == ROUNDS
    for round_a, round_b in zip(a, b, strict=True):
        queued, leased, moved = zip(round_a, round_b, strict=True)
        assert sorted(queued) == [False, True], (round_a, round_b)
        assert sorted(leased) == [False, True], (round_a, round_b)
        assert moved == leased  # only the holder of the lease took the next step
    with race_db.session() as s:
        posts = list(s.scalars(select(Post).order_by(Post.id)))
    assert {p.state for p in posts} == {"uploading"}
    assert all(p.version == 3 for p in posts)  # ready -> queued -> uploading, once each
    owners = ["worker-a" if ra[1] else "worker-b" for ra in a]
    assert [p.lease_owner for p in posts] == owners

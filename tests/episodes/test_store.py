"""The store's compare-and-set writes: one winner per transition, leases that expire."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from episodes.db import Database
from episodes.lifecycle import PostState, TransitionNotAllowed
from episodes.models import Post
from episodes.store import (
    record_remote,
    release_lease,
    take_lease,
    take_named_lease,
    transition,
)
from tests.harness import wait_for

from .season_files import VALID, load, write

S = PostState


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated season (3 episodes x 2 accounts) on SQLite and on PostgreSQL."""
    url = (f"sqlite:///{tmp_path / 'wtg.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    db = Database(url)
    db.migrate()
    load(db, write(tmp_path, VALID))
    db.dispose()
    yield url


@pytest.fixture
def store_db(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    yield db
    db.dispose()


def post_ids(db: Database) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(Post.id).order_by(Post.id)))


def state_of(db: Database, pid: int) -> Post:
    with db.session() as s:
        post = s.get(Post, pid)
        assert post is not None
        s.expunge(post)
        return post


def test_transition_moves_and_bumps_version(store_db: Database):
    """A legal move from the current state succeeds and bumps the post's version."""
    pid = post_ids(store_db)[0]
    before = state_of(store_db, pid)
    with store_db.session() as s:
        assert transition(s, pid, S.READY)
    after = state_of(store_db, pid)
    assert after.state == "ready" and after.version == before.version + 1
    assert after.state_changed_at >= before.state_changed_at


def test_transition_from_the_wrong_state_changes_nothing(store_db: Database):
    """A move whose source state does not match returns False and leaves the post as it was."""
    pid = post_ids(store_db)[0]
    with store_db.session() as s:
        assert not transition(s, pid, S.UPLOADING)  # pending cannot upload
        assert not transition(s, pid, S.QUEUED, expect=[S.READY])  # it is not ready
    assert state_of(store_db, pid).state == "pending"
    assert state_of(store_db, pid).version == 1


def test_expecting_an_impossible_source_is_a_programming_error(store_db: Database):
    """Asking for pending -> published raises TransitionNotAllowed before touching the row."""
    pid = post_ids(store_db)[0]
    with pytest.raises(TransitionNotAllowed), store_db.session() as s:
        transition(s, pid, S.PUBLISHED, expect=[S.PENDING])
    assert state_of(store_db, pid).state == "pending"


def test_owner_guarded_transition_needs_the_lease(store_db: Database):
    """With ``owner``, only the worker holding the lease may move the post."""
    pid = post_ids(store_db)[0]
    with store_db.session() as s:
        assert transition(s, pid, S.READY) and transition(s, pid, S.QUEUED)
        assert take_lease(s, pid, "worker-a", 60)
    with store_db.session() as s:
        assert not transition(s, pid, S.UPLOADING, owner="worker-b")
        assert transition(s, pid, S.UPLOADING, owner="worker-a")
    assert state_of(store_db, pid).state == "uploading"


def race(url: str, rounds: int, step: object) -> list[list[bool]]:
    """Two threads, each with its own engine, call ``step(session, round)`` at the same moment
    in every round; returns each round's results."""
    barrier = threading.Barrier(2, timeout=30)
    results: list[list[bool]] = [[False, False] for _ in range(rounds)]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        db = Database(url)
        try:
            for r in range(rounds):
                barrier.wait()
                with db.session() as s:
                    results[r][i] = step(s, r, i)  # type: ignore[operator]
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            barrier.abort()
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_two_sessions_racing_on_one_transition_exactly_one_wins(store_db: Database):
    """Two engines move the same ready post to queued at once: one True, one False, each round."""
    ids = post_ids(store_db)
    with store_db.session() as s:
        for pid in ids:
            assert transition(s, pid, S.READY)

    def step(s: object, r: int, _i: int) -> bool:
        return transition(s, ids[r], S.QUEUED, expect=[S.READY])  # type: ignore[arg-type]

    results = race(store_db.url, len(ids), step)
    assert all(sorted(r) == [False, True] for r in results), results
    with store_db.session() as s:
        assert {p.state: p.version for p in s.scalars(select(Post))} == {"queued": 3}


def test_two_sessions_racing_for_a_lease_exactly_one_wins(store_db: Database):
    """Two workers take the lease on the same free post at once: exactly one gets it."""
    ids = post_ids(store_db)

    def step(s: object, r: int, i: int) -> bool:
        return take_lease(s, ids[r], f"worker-{i}", 60)  # type: ignore[arg-type]

    results = race(store_db.url, len(ids), step)
    assert all(sorted(r) == [False, True] for r in results), results
    for r, pid in zip(results, ids, strict=True):
        assert state_of(store_db, pid).lease_owner == f"worker-{r.index(True)}"


def test_lease_is_exclusive_renewable_and_expires(store_db: Database):
    """A lease keeps others out, its owner may renew it, and after expiry another worker gets it."""
    pid = post_ids(store_db)[0]
    with store_db.session() as s:
        assert take_lease(s, pid, "worker-a", 0.5)
    with store_db.session() as s:
        assert not take_lease(s, pid, "worker-b", 60)
        assert take_lease(s, pid, "worker-a", 0.5)  # renew

    def b_takes_over() -> bool:
        with store_db.session() as s:
            return take_lease(s, pid, "worker-b", 60)

    wait_for(b_takes_over, timeout=10, message="the expired lease to be taken over")
    assert state_of(store_db, pid).lease_owner == "worker-b"
    with store_db.session() as s:
        assert not take_lease(s, pid, "worker-a", 60)


def test_record_remote_only_while_holding_the_lease(store_db: Database):
    """Upload facts are merged only by the lease holder; a worker that lost it writes nothing."""
    pid = post_ids(store_db)[0]
    with store_db.session() as s:
        assert take_lease(s, pid, "worker-a", 60)
        assert record_remote(s, pid, "worker-a", {"upload_id": "u1"})
        assert record_remote(s, pid, "worker-a", {"offset": 1024})
        assert not record_remote(s, pid, "worker-b", {"upload_id": "evil"})
    assert state_of(store_db, pid).remote == {"upload_id": "u1", "offset": 1024}
    with store_db.session() as s:
        release_lease(s, pid, "worker-a")
        assert not record_remote(s, pid, "worker-a", {"offset": 2048})
    post = state_of(store_db, pid)
    assert post.lease_owner is None and post.remote["offset"] == 1024


def test_named_lease_has_one_holder_until_it_expires(store_db: Database):
    """The scheduler's leader lease: one holder, renewable, taken over only after expiry."""
    with store_db.session() as s:
        assert take_named_lease(s, "scheduler", "host-a", 0.5)
    with store_db.session() as s:
        assert not take_named_lease(s, "scheduler", "host-b", 60)
        assert take_named_lease(s, "scheduler", "host-a", 0.5)

    def b_leads() -> bool:
        with store_db.session() as s:
            return take_named_lease(s, "scheduler", "host-b", 60)

    wait_for(b_leads, timeout=10, message="host-b to take over leadership")
    with store_db.session() as s:
        assert not take_named_lease(s, "scheduler", "host-a", 60)


def test_two_sessions_racing_for_a_new_named_lease_exactly_one_wins(store_db: Database):
    """Two schedulers starting together: exactly one becomes leader of each new lease name."""
    def step(s: object, r: int, i: int) -> bool:
        return take_named_lease(s, f"lease-{r}", f"host-{i}", 60)  # type: ignore[arg-type]

    results = race(store_db.url, 5, step)
    assert all(sorted(r) == [False, True] for r in results), results

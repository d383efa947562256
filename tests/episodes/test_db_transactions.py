"""One session is one transaction on SQLite too, savepoints included.

Python's sqlite3 (legacy transaction control) opens a transaction only before INSERT, UPDATE,
DELETE: a ``SAVEPOINT`` sent first became the outermost transaction, and its ``RELEASE``
committed everything so far on its own. A scheduler killed between claiming a slot
(``claim_slot``, a savepoint) and the end of that session left the slot recorded as handled
("empty") and its posts ``ready`` for ever: nothing queued them again (seen in
``tests/scheduler/test_processes.py`` on a busy machine)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from episodes.db import Database
from episodes.models import Series, SlotRun
from episodes.slots import claim_slot

SLOT = datetime(2030, 1, 3, 16, 0, tzinfo=UTC)


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    database.migrate()
    with database.session() as s:
        s.add(Series(slug="wtg", name="Wir tun GUTes", weekday=3, time_of_day="17:00",
                     first_date=date(2029, 11, 1), last_date=date(2030, 1, 31)))
    return database


def _series_id(db: Database) -> int:
    with db.session() as s:
        return s.scalars(select(Series.id)).one()


def _runs(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(SlotRun)) or 0


def test_a_claimed_slot_is_undone_when_the_session_fails(db: Database) -> None:
    series_id = _series_id(db)
    with pytest.raises(RuntimeError), db.session() as s:
        assert claim_slot(s, series_id, SLOT, "empty") is not None
        raise RuntimeError("the scheduler dies before the posts are queued")
    assert _runs(db) == 0


def test_a_claimed_slot_and_what_follows_commit_together(db: Database) -> None:
    series_id = _series_id(db)
    with db.session() as s:
        run = claim_slot(s, series_id, SLOT, "empty")
        assert run is not None
        run.outcome = "enqueued"
    with db.session() as s:
        assert s.scalars(select(SlotRun.outcome)).one() == "enqueued"
        assert claim_slot(s, series_id, SLOT, "empty") is None  # a second firing: nothing
    assert _runs(db) == 1

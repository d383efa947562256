"""``season load`` is idempotent: reloading updates, never duplicates, and never touches what
is already published (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from episodes.db import Database
from episodes.lifecycle import PostState
from episodes.models import AuditEntry, Episode, Post
from episodes.season import SeasonError
from episodes.store import get_series, transition

from .season_files import VALID, load, snapshot, write


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'wtg.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(Episode)) or 0,
                s.scalar(select(func.count()).select_from(Post)) or 0)


def episode(db: Database, number: int) -> Episode:
    with db.session() as s:
        series = get_series(s, "wir-tun-gutes")
        assert series is not None
        return next(e for e in series.episodes if e.number == number)


def publish(db: Database, number: int) -> None:
    """Walk every post of an episode through the state machine to published."""
    with db.session() as s:
        ids = [p.id for p in s.scalars(select(Post).join(Episode).where(Episode.number == number))]
        for pid in ids:
            for target in (PostState.READY, PostState.QUEUED, PostState.PUBLISHING,
                           PostState.PUBLISHED):
                assert transition(s, pid, target)


def test_first_load_creates_episodes_and_one_post_per_account(tmp_path: Path, any_db: Database):
    """Three episodes x two accounts: three episodes and six pending posts with the slot."""
    report = load(any_db, write(tmp_path, VALID))
    assert (report.created, report.updated, report.posts_created) == ([0, 1, 2], [], 6)
    assert counts(any_db) == (3, 6)
    with any_db.session() as s:
        posts = list(s.scalars(select(Post)))
        assert {p.state for p in posts} == {"pending"}
        assert all(p.slot_at == p.episode.slot_at and p.slot_at is not None for p in posts)


def test_reload_of_the_same_file_changes_nothing(tmp_path: Path, any_db: Database):
    """Loading the same file again creates no duplicates and writes no audit entry."""
    path = write(tmp_path, VALID)
    load(any_db, path)
    before = snapshot(any_db)
    report = load(any_db, path)
    assert (report.created, report.updated, report.unchanged) == ([], [], [0, 1, 2])
    assert report.posts_created == 0
    assert snapshot(any_db) == before


def test_changed_text_updates_and_bumps_revision(tmp_path: Path, any_db: Database):
    """A changed description updates the episode, bumps its revision and voids its approval."""
    load(any_db, write(tmp_path, VALID))
    with any_db.session() as s:
        ep = s.scalars(select(Episode).where(Episode.number == 1)).one()
        ep.approved_by, ep.approved_revision = "redaktion", ep.revision
    assert episode(any_db, 1).approved
    report = load(any_db, write(tmp_path, VALID.replace("Ehrenamt in Plate.",
                                                        "Neu: Ehrenamt in Plate.")))
    assert report.updated == [1] and report.unchanged == [0, 2]
    ep = episode(any_db, 1)
    assert ep.description == "Neu: Ehrenamt in Plate."
    assert ep.revision == 2
    assert not ep.approved  # four eyes: a changed text needs a new approval
    assert episode(any_db, 2).revision == 1
    assert counts(any_db) == (3, 6)
    with any_db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry))]
    assert actions == ["season.load", "season.load"]


def test_change_to_a_published_episode_is_refused_and_nothing_is_written(
    tmp_path: Path, any_db: Database
):
    """Editing a published episode fails in German and rolls back every other change too."""
    load(any_db, write(tmp_path, VALID))
    publish(any_db, 1)
    before = snapshot(any_db)
    text = (VALID.replace("Ehrenamt in Plate.", "Nachträglich geändert.")
                 .replace("Ehrenamt in Püttelkow.", "Auch geändert."))
    with pytest.raises(SeasonError) as err:
        load(any_db, write(tmp_path, text))
    assert err.value.problems == [
        "Folge 1: ist bereits veröffentlicht oder wird gerade gesendet; "
        "Änderungen an description sind nicht erlaubt."
    ]
    assert snapshot(any_db) == before
    assert episode(any_db, 2).description == "Ehrenamt in Püttelkow."


def test_unchanged_published_episode_does_not_block_a_reload(tmp_path: Path, any_db: Database):
    """A reload that leaves the published episode as it was may change the others."""
    load(any_db, write(tmp_path, VALID))
    publish(any_db, 0)
    report = load(any_db, write(tmp_path, VALID.replace("Ehrenamt in Plate.", "Neu.")))
    assert report.updated == [1]
    assert episode(any_db, 1).description == "Neu."


def test_removing_a_published_episode_is_refused(tmp_path: Path, any_db: Database):
    """An episode that is out cannot be deleted by leaving it out of the file."""
    load(any_db, write(tmp_path, VALID))
    publish(any_db, 2)
    before = snapshot(any_db)
    without_2 = VALID.split("[[episodes]]\nnumber = 2")[0]
    with pytest.raises(SeasonError, match="Folge 2 fehlt in der Datei"):
        load(any_db, write(tmp_path, without_2))
    assert snapshot(any_db) == before


def test_removing_an_unpublished_episode_deletes_it_and_its_posts(
    tmp_path: Path, any_db: Database
):
    """An episode left out before anything went out is removed with its posts."""
    load(any_db, write(tmp_path, VALID))
    report = load(any_db, write(tmp_path, VALID.split("[[episodes]]\nnumber = 2")[0]))
    assert report.removed == [2]
    assert counts(any_db) == (2, 4)


def test_new_account_adds_posts_without_touching_the_others(tmp_path: Path, any_db: Database):
    """Adding an account to the series creates only the missing posts."""
    from config import AccountSettings

    from .season_files import ACCOUNTS

    load(any_db, write(tmp_path, VALID.replace('accounts = ["youtube-lup", "mastodon-lup"]',
                                                'accounts = ["youtube-lup"]')))
    assert counts(any_db) == (3, 3)
    report = load(any_db, write(tmp_path, VALID), accounts=(
        *ACCOUNTS, AccountSettings(name="tiktok-lup", platform="tiktok",
                                   api_base="https://t.invalid")))
    assert report.posts_created == 3
    assert counts(any_db) == (3, 6)


def test_slot_of_a_published_post_stays_when_blackouts_change(tmp_path: Path, any_db: Database):
    """A new blackout moves pending episodes, never the slot of a published post."""
    load(any_db, write(tmp_path, VALID.replace("last_date = 2022-11-24",
                                               "last_date = 2022-12-01")))
    publish(any_db, 0)
    first = episode(any_db, 0).slot_at
    text = (VALID.replace("last_date = 2022-11-24", "last_date = 2022-12-01")
                 .replace("[2022-11-17]", "[2022-11-03, 2022-11-17]"))
    load(any_db, write(tmp_path, text))
    assert episode(any_db, 0).slot_at == first
    assert episode(any_db, 2).slot_at is not None
    assert episode(any_db, 2).slot_at.date().isoformat() == "2022-12-01"  # type: ignore[union-attr]


def test_reload_keeps_a_hold_unless_the_file_changes_the_plan(tmp_path: Path, any_db: Database):
    """A slot moved since the last load (hold, reschedule) survives reloading the same file;
    a file that changes the plan for that episode wins."""
    from datetime import timedelta

    path = write(tmp_path, VALID)
    load(any_db, path)
    planned = episode(any_db, 1).slot_at
    assert planned is not None
    with any_db.session() as s:  # what a hold does: the episode moves a week later
        ep = next(e for e in get_series(s, "wir-tun-gutes").episodes  # type: ignore[union-attr]
                  if e.number == 1)
        ep.slot_at = planned + timedelta(weeks=1)
    load(any_db, path)
    assert episode(any_db, 1).slot_at == planned + timedelta(weeks=1)
    assert episode(any_db, 1).planned_slot_at == planned
    moved = VALID.replace('time = "17:00"', 'time = "18:00"')
    assert moved != VALID
    load(any_db, write(tmp_path, moved))
    assert episode(any_db, 1).slot_at == planned + timedelta(hours=1)


def test_an_account_taken_out_of_the_file_cancels_its_waiting_posts(
    tmp_path: Path, any_db: Database
):
    """Reloading without mastodon-lup cancels its waiting posts (nothing goes out there); the
    file with it again lets them wait again."""
    load(any_db, write(tmp_path, VALID))
    load(any_db, write(tmp_path, VALID.replace('accounts = ["youtube-lup", "mastodon-lup"]',
                                               'accounts = ["youtube-lup"]')))

    def states() -> set[tuple[str, str]]:
        with any_db.session() as s:
            return {(p.account.name, p.state) for p in s.scalars(select(Post))}

    assert states() == {("youtube-lup", "pending"), ("mastodon-lup", "cancelled")}
    load(any_db, write(tmp_path, VALID))
    assert states() == {("youtube-lup", "pending"), ("mastodon-lup", "pending")}

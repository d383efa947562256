"""Alembic migrations: one head, from empty to head on SQLite and PostgreSQL, matching the
models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from episodes.db import Database, alembic_config
from episodes.models import Base

TABLES = {
    "series", "episodes", "renditions", "accounts", "posts", "publish_attempts", "audit_log",
    "users", "preflight_results", "slot_runs", "leases", "quota_usage", "notifications",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on SQLite and on a scratch PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_alembic_has_a_single_head():
    """Two people adding migrations at once must be merged: exactly one head revision."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1, f"mehrere Alembic-Köpfe: {heads}"
    # every revision is reachable from the head (no orphans)
    assert {r.revision for r in script.walk_revisions()} == {
        r.revision for r in script.iterate_revisions(heads[0], "base")
    }


def test_migrate_from_empty_creates_every_table_and_matches_the_models(empty_url: str):
    """Upgrading an empty database yields every model table, and autogenerate finds nothing
    left to migrate; a second upgrade is a no-op."""
    db = Database(empty_url)
    try:
        db.migrate()
        names = set(inspect(db.engine).get_table_names())
        assert names >= TABLES | {"alembic_version"}
        assert names - {"alembic_version"} == set(Base.metadata.tables)
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"render_as_batch": True})
            head = ScriptDirectory.from_config(alembic_config(empty_url)).get_current_head()
            assert ctx.get_current_revision() == head
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        db.migrate()  # idempotent
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
    finally:
        db.dispose()


def test_post_indexes_and_unique_constraints_exist(empty_url: str):
    """One post per episode and account, and the state index the scheduler's queries use."""
    db = Database(empty_url)
    try:
        db.migrate()
        insp = inspect(db.engine)
        uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("posts")}
        assert ("episode_id", "account_id") in uniques
        assert any(ix["column_names"] == ["state"] for ix in insp.get_indexes("posts"))
    finally:
        db.dispose()

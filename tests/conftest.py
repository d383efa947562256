"""Shared fixtures: real Redis databases, a migrated database, a process stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings, settings_from_dict
from episodes.db import Database

from .harness import RedisPool, Stack


@pytest.fixture(scope="session")
def redis_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisPool]:
    pool = RedisPool(tmp_path_factory.mktemp("redis"))
    yield pool
    pool.close()


@pytest.fixture
def redis_url(redis_pool: RedisPool) -> str:
    """A flushed Redis database for this test."""
    return redis_pool.database()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_from_dict({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "var_dir": str(tmp_path / "var"),
        "media_root": str(tmp_path / "var" / "media"),
        "secrets_dir": str(tmp_path / "var" / "secrets"),
    })


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """A migrated SQLite database in the test's temp dir."""
    database = Database(settings.database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def make_stack(tmp_path: Path, redis_url: str) -> Iterator[object]:
    """Factory for a :class:`Stack`; every stack made is stopped after the test."""
    stacks: list[Stack] = []

    def make(**kw: object) -> Stack:
        kw.setdefault("broker_url", redis_url)
        stack = Stack(tmp_path / f"stack{len(stacks)}", **kw)  # type: ignore[arg-type]
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A scratch PostgreSQL database (``postgresql+psycopg://...``), dropped after the test.

    PostgreSQL is on every development machine and in CI: if it does not answer, the test fails
    with a clear message instead of being skipped."""
    import uuid

    import psycopg

    name = f"wtg_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 (user postgres) is not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Fixtures for scheduler tests: settings with two accounts, a migrated database, a manual
clock and a task recorder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from episodes.db import Database
from scheduler.clock import ManualClock

from .kit import FIRST, Recorder, scheduler_settings


@pytest.fixture
def ssettings(tmp_path: Path) -> Settings:
    return scheduler_settings(tmp_path)


@pytest.fixture
def sdb(ssettings: Settings) -> Iterator[Database]:
    database = Database(ssettings.database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(FIRST)


@pytest.fixture
def sender() -> Recorder:
    return Recorder()

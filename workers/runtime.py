"""What a worker process needs at hand: settings and the database, configured once at start.

The composition root (``wtg worker``) calls :func:`configure` before the pool forks; each forked
child disposes the inherited engine (its connections belong to the parent).
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings, load_settings
from episodes.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database


_runtime: Runtime | None = None


def configure(settings: Settings, db: Database | None = None) -> Runtime:
    global _runtime
    _runtime = Runtime(settings=settings, db=db or Database(settings.database_url))
    return _runtime


def runtime() -> Runtime:
    """The configured runtime; a process started by ``celery`` directly loads the settings."""
    global _runtime
    if _runtime is None:
        _runtime = configure(load_settings())
    return _runtime


def after_fork() -> None:
    if _runtime is not None:
        _runtime.db.engine.dispose(close=False)

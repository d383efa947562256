"""Builds the running pieces from settings: database, broker, Celery app, worker runtime."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from celery import Celery

from config import Settings
from config.logging import setup_logging
from episodes.db import Database
from workers.app import make_celery
from workers.broker import EmbeddedBroker

log = logging.getLogger("wtg")


@dataclass
class App:
    settings: Settings
    db: Database
    broker_url: str
    celery: Celery
    embedded: EmbeddedBroker | None = field(default=None)

    def close(self) -> None:
        self.db.dispose()


def embedded_broker(settings: Settings) -> EmbeddedBroker:
    return EmbeddedBroker(settings.var_dir / "broker", settings.embedded_broker_port)


def build(settings: Settings, *, start_broker: bool = True, migrate: bool = True) -> App:
    """Wire everything. With no broker URL, start (or reuse) the embedded broker."""
    setup_logging(settings.log_level, json_lines=settings.log_json)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        db.migrate()
    embedded = None
    if settings.broker_url:
        url = settings.broker_url
    else:
        embedded = embedded_broker(settings)
        url = embedded.start() if start_broker else embedded.url
    from workers.runtime import configure

    configure(settings, db)
    return App(settings=settings, db=db, broker_url=url, celery=make_celery(settings, url),
               embedded=embedded)

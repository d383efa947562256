"""Builds the running pieces from settings: database, broker, Celery app, worker runtime.

With no ``broker_url``, ``build(start_broker=True)`` registers this process as a user of the
embedded broker (starting it if needed) and :meth:`App.close` signs off again: the last user of a
broker started that way stops it (``workers.broker.SharedBroker``). ``start_broker=False`` only
computes the URL and neither starts nor registers anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from celery import Celery

from config import Settings
from config.logging import setup_logging
from episodes.db import Database
from workers.app import make_celery
from workers.broker import EmbeddedBroker, SharedBroker

log = logging.getLogger("wtg")


@dataclass
class App:
    settings: Settings
    db: Database
    broker_url: str
    celery: Celery
    embedded: EmbeddedBroker | None = field(default=None)
    shared: SharedBroker | None = field(default=None)  # set while this process is a user
    closed: bool = field(default=False)

    def close(self) -> None:
        """Sign off the embedded broker (the last user of an on-demand broker stops it) and
        release the database; a second call does nothing."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.shared is not None:
                self.shared.release()
        finally:
            self.db.dispose()


def embedded_broker(settings: Settings) -> EmbeddedBroker:
    return EmbeddedBroker(settings.var_dir / "broker", settings.embedded_broker_port)


def build(settings: Settings, *, start_broker: bool = True, migrate: bool = True) -> App:
    """Wire everything. With no broker URL and ``start_broker``, use (and if needed start) the
    embedded broker until :meth:`App.close`."""
    setup_logging(settings.log_level, json_lines=settings.log_json)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    if migrate:
        db.migrate()
    embedded = shared = None
    if settings.broker_url:
        url = settings.broker_url
    else:
        embedded = embedded_broker(settings)
        url = embedded.url
        if start_broker:
            shared = SharedBroker(embedded)
            url = shared.acquire()
    from workers.runtime import configure

    configure(settings, db)
    return App(settings=settings, db=db, broker_url=url, celery=make_celery(settings, url),
               embedded=embedded, shared=shared)

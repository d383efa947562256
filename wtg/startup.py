"""Start-up checks of the settings beyond their own validation: every account's options and
scheduling switch against its platform (``episodes.capabilities``). Run by every ``wtg``
command before it does anything (``wtg.cli.Ctx.settings``), which then lays over the settings
what connecting accounts in the dashboard learned (``with_connections``)."""

from __future__ import annotations

import logging
from pathlib import Path

from config import Settings
from episodes.capabilities import validate_settings

log = logging.getLogger("wtg")


def account_problems(settings: Settings) -> str:
    """One German message listing every problem ("" when the accounts are fine)."""
    # an account still to be connected in the dashboard may lack its page / Instagram id
    problems = validate_settings(settings, allow_unconnected=True)
    if not problems:
        return ""
    head = f"Die Kontoeinstellungen sind nicht gültig ({len(problems)} Problem(e)):"
    return "\n".join([head, *(f"  - {p}" for p in problems)])


def with_connections(settings: Settings) -> Settings:
    """``settings`` with each account's dashboard connection (page, Instagram account,
    instance) laid over it, read from the database if it exists and is migrated; the settings
    as they are otherwise (``wtg init`` has not run yet, or the database is unreachable)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if not path or path == ":memory:" or not Path(path).is_file():
            return settings
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from episodes.connections import with_connections as overlay
    from episodes.db import Database

    db = Database(url)
    try:
        if "account_connections" not in inspect(db.engine).get_table_names():
            return settings
        with db.session() as s:
            return overlay(settings, s)
    except SQLAlchemyError as exc:
        log.warning("connections not read (%s); the settings file alone applies",
                    type(exc).__name__)
        return settings
    finally:
        db.dispose()

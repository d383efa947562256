"""Helpers for season-file tests: a small valid season, loading as ``wtg season load`` does,
and a snapshot of every table to prove that a refused load wrote nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from config import AccountSettings
from episodes.db import Database
from episodes.models import Base
from episodes.season import LoadReport, apply_season, parse_season
from episodes.store import sync_accounts

ACCOUNTS = (
    AccountSettings(name="youtube-lup", platform="youtube", api_base="https://yt.invalid"),
    AccountSettings(name="mastodon-lup", platform="mastodon", api_base="https://m.invalid"),
)
KNOWN = {a.name for a in ACCOUNTS}
REAL_SEASON = Path(__file__).resolve().parents[2] / "config" / "season.toml"

SERIES = """\
[series]
slug = "wir-tun-gutes"
name = "Wir tun GUTes"
timezone = "Europe/Berlin"
weekday = "donnerstag"
time = "17:00"
first_date = 2022-11-03
last_date = 2022-11-24
blackout_dates = [2022-11-17]
hashtags = ["WirTunGUTes", "LUP"]
accounts = ["youtube-lup", "mastodon-lup"]
link = "https://www.kreis-lup.de"
"""

EPISODES = """
[[episodes]]
number = 0
title = "Wir tun GUTes – Trailer"
place = "Landkreis"
description = "Der Trailer."

[[episodes]]
number = 1
title = "Wir tun GUTes – Folge 1: Plate"
place = "Plate"
description = "Ehrenamt in Plate."
hashtags = ["Plate"]

[[episodes]]
number = 2
title = "Wir tun GUTes – Folge 2: Püttelkow"
place = "Püttelkow"
description = "Ehrenamt in Püttelkow."
hashtags = ["Püttelkow"]
"""

VALID = SERIES + EPISODES


def write(tmp_path: Path, text: str, name: str = "season.toml", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def load(db: Database, path: Path, accounts: tuple[AccountSettings, ...] = ACCOUNTS) -> LoadReport:
    """What ``wtg season load`` does: validate the whole file, then write in one transaction."""
    spec = parse_season(path, known_accounts={a.name for a in accounts})
    with db.session() as s:
        rows = sync_accounts(s, accounts)
        return apply_season(s, spec, rows)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for before/after comparisons."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out

"""``wtg season load`` and ``wtg status`` as staff run them, on the real season file."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import tomli_w

from episodes.db import Database

from .season_files import REAL_SEASON, VALID, snapshot, write

WTG = str(Path(sys.executable).parent / "wtg")
EXAMPLE = REAL_SEASON.parent / "wtg.example.toml"
ACCOUNTS = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["accounts"]


def settings_file(tmp_path: Path) -> Path:
    """The example settings' five accounts, with a private database and no broker needed."""
    doc = {
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "var_dir": str(tmp_path / "var"),
        "media_root": str(tmp_path / "var" / "media"),
        "secrets_dir": str(tmp_path / "var" / "secrets"),
        "broker_url": "redis://127.0.0.1:6379/15",
        "accounts": ACCOUNTS,
    }
    path = tmp_path / "wtg.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def wtg(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(config.parent)}
    return subprocess.run([WTG, "-c", str(config), *args], capture_output=True, text=True,
                          env=env, cwd=config.parent, timeout=120)


def test_load_real_season_and_show_status(tmp_path: Path):
    """Loading config/season.toml with the example's five accounts gives 11 episodes x 5 posts
    with their Thursday 17:00 slots; a second load changes nothing."""
    assert len(ACCOUNTS) == 5
    config = settings_file(tmp_path)
    first = wtg(config, "season", "load", str(REAL_SEASON))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "11 neu" in first.stdout and "55 Beiträge angelegt" in first.stdout
    again = wtg(config, "season", "load", str(REAL_SEASON))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 neu" in again.stdout and "11 unverändert" in again.stdout
    status = wtg(config, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    data = json.loads(status.stdout)
    episodes = data["episodes"]
    assert [e["number"] for e in episodes] == list(range(11))
    assert episodes[3]["title"] == "Wir tun GUTes – Folge 3: Matzlow"
    assert episodes[0]["slot"] == "2022-11-03T17:00:00+01:00"
    assert episodes[7]["slot"] == "2023-01-05T17:00:00+01:00"  # after the Christmas blackouts
    assert episodes[10]["slot"] == "2023-01-26T17:00:00+01:00"
    for e in episodes:
        assert sorted(p["account"] for p in e["posts"]) == sorted(a["name"] for a in ACCOUNTS)
        assert {p["state"] for p in e["posts"]} == {"pending"}
    table = wtg(config, "status")
    assert table.returncode == 0, table.stderr
    assert "Matzlow" in table.stdout and "Plau am See" in table.stdout


def test_broken_season_is_refused_by_the_cli_and_writes_nothing(tmp_path: Path):
    """A season file with an unknown account exits non-zero with the German problem list."""
    config = settings_file(tmp_path)
    path = write(tmp_path, VALID.replace('"youtube-lup", "mastodon-lup"', '"youtube-lpu"'))
    result = wtg(config, "season", "load", str(path))
    assert result.returncode == 1
    assert "wurde nicht geladen" in result.stderr
    assert "Konto 'youtube-lpu' ist in den Einstellungen nicht angelegt" in result.stderr
    assert "Traceback" not in result.stderr
    db = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    db.migrate()
    try:
        assert snapshot(db)["episodes"] == [] and snapshot(db)["series"] == []
    finally:
        db.dispose()


def test_season_load_without_a_file_uses_the_configured_season_file(tmp_path: Path) -> None:
    """`wtg season load` with no FILE reads `season_file` from the settings."""
    config = settings_file(tmp_path)
    doc = tomllib.loads(config.read_text(encoding="utf-8"))
    doc["season_file"] = str(REAL_SEASON)
    config.write_text(tomli_w.dumps(doc), encoding="utf-8")
    proc = wtg(config, "season", "load", "--check")
    assert proc.returncode == 0, proc.stderr
    assert "in Ordnung (11 Folgen)" in proc.stdout


def test_text_over_a_platform_limit_is_refused_at_load_time(tmp_path: Path) -> None:
    """A description too long for Mastodon and a hashtag a platform would cut short are
    refused by `season load` (queue time, not posting time), naming episode, account and
    limit; nothing is written."""
    config = settings_file(tmp_path)
    text = REAL_SEASON.read_text(encoding="utf-8")
    season = tomllib.loads(text)
    season["episodes"][3]["description"] = "Ehrenamt in Matzlow. " * 30  # ~630 characters
    season["episodes"][9]["hashtags"] = ["Plau-am-See"]
    path = tmp_path / "season.toml"
    path.write_text(tomli_w.dumps(season), encoding="utf-8")
    result = wtg(config, "season", "load", str(path))
    assert result.returncode == 1, result.stdout
    assert "Folge 3, Konto mastodon-lup: Mastodon: der Text ist" in result.stderr
    assert "erlaubt sind 500" in result.stderr
    assert "#Plau-am-See würde an einem Sonderzeichen abgeschnitten" in result.stderr
    assert "Traceback" not in result.stderr
    db = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    db.migrate()
    try:
        assert snapshot(db)["episodes"] == []
    finally:
        db.dispose()

"""Every ``wtg`` command checks the accounts' options at start-up: a contradiction stops it
with a German message naming the account and the option, exit code 1, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w

WTG = str(Path(sys.executable).parent / "wtg")
GOOD = [
    {"name": "facebook-lup", "platform": "facebook",
     "api_base": "https://graph.facebook.com/v24.0", "options": {"page_id": "104857600000001"}},
    {"name": "mastodon-lup", "platform": "mastodon", "api_base": "https://social.example.org",
     "native_scheduling": True},
]


def run(tmp_path: Path, accounts: list[dict[str, Any]], *args: str,
        **settings: Any) -> subprocess.CompletedProcess[str]:
    """``wtg -c <file> ARGS`` with the given accounts and a private database path."""
    doc = {"database_url": f"sqlite:///{tmp_path / 'wtg.db'}", "var_dir": str(tmp_path / "var"),
           "broker_url": "redis://127.0.0.1:9/0", "accounts": accounts, **settings}
    config = tmp_path / "wtg.toml"
    config.write_text(tomli_w.dumps(doc), encoding="utf-8")
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([WTG, "-c", str(config), *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)


@pytest.mark.parametrize(("bad", "expected"), [
    ({"name": "instagram-lup", "platform": "instagram", "native_scheduling": True,
      "api_base": "https://graph.facebook.com/v24.0", "options": {"ig_user_id": "1784"}},
     "Konto instagram-lup (Instagram), Einstellung 'native_scheduling': Instagram kann Beiträge "
     "nicht selbst zu einem Termin veröffentlichen."),
    ({"name": "youtube-lup", "platform": "youtube",
      "api_base": "https://www.googleapis.com/youtube/v3", "options": {"chunk_size": 1000}},
     "Konto youtube-lup (YouTube), Option 'chunk_size': muss ein Vielfaches von 262144 sein."),
    ({"name": "facebook-kultur", "platform": "facebook",
      "api_base": "https://graph.facebook.com/v24.0", "options": {"page_id": " "}},
     "Konto facebook-kultur (Facebook), Option 'page_id': darf nicht leer sein."),
])
def test_init_refuses_a_contradicting_account(tmp_path: Path, bad: dict[str, Any],
                                              expected: str):
    """``wtg init`` stops before touching the database, naming the account and the option."""
    result = run(tmp_path, [*GOOD, bad], "init")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Die Kontoeinstellungen sind nicht gültig (1 Problem(e)):" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "wtg.db").exists()


def test_short_native_schedule_hours_stop_every_command(tmp_path: Path):
    """``native_schedule_hours`` below Mastodon's lead plus margin stops ``wtg init``,
    ``wtg worker``, ``wtg scheduler``, ``wtg web`` and ``wtg season load --check`` alike."""
    for args in (("init",), ("worker",), ("scheduler",), ("web",),
                 ("season", "load", "--check", "season.toml")):
        result = run(tmp_path, GOOD, *args, native_schedule_hours=0.2)
        assert result.returncode == 1, (args, result.stdout + result.stderr)
        assert ("Einstellung 'native_schedule_hours' (0,2 Stunden) ist für Konto mastodon-lup "
                "(Mastodon) zu kurz") in result.stderr, args
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "wtg.db").exists()


def test_good_accounts_start(tmp_path: Path):
    """The same settings with valid accounts initialise the database."""
    result = run(tmp_path, GOOD, "init")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "wtg.db").exists()


def test_accounts_to_connect_in_the_dashboard_start(tmp_path: Path):
    """A Facebook and an Instagram account without page and Instagram ids (the dashboard's
    connect flow fills them in) do not stop start-up."""
    waiting = [
        {"name": "facebook-lup", "platform": "facebook",
         "api_base": "https://graph.facebook.com/v24.0"},
        {"name": "instagram-lup", "platform": "instagram",
         "api_base": "https://graph.facebook.com/v24.0"},
    ]
    result = run(tmp_path, waiting, "init")
    assert result.returncode == 0, result.stdout + result.stderr

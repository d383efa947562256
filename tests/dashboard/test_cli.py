"""``wtg user`` and ``wtg web`` as real processes, as an operator runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import tomli_w

from episodes.db import Database
from episodes.models import User
from episodes.users import user_for_token
from workers.broker import free_port

from ..harness import wait_for
from .conftest import SECRET

WTG = str(Path(sys.executable).parent / "wtg")


def _config(tmp_path: Path, redis_url: str) -> dict[str, str]:
    path = tmp_path / "wtg.toml"
    path.write_text(tomli_w.dumps({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "broker_url": redis_url,
        "var_dir": str(tmp_path / "var"),
        "media_root": str(tmp_path / "var" / "media"),
    }), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WTG_")}
    return {**env, "WTG_CONFIG": str(path)}


def _wtg(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([WTG, *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=60)


def test_user_add_and_token(tmp_path: Path, redis_url: str) -> None:
    """`wtg user add` stores an argon2 hash, `wtg user token` prints a token once that
    authenticates, and only the token's hash is in the database."""
    env = _config(tmp_path, redis_url)
    secret = tmp_path / "pw"
    secret.write_text("ein-langes-passwort\n", encoding="utf-8")
    added = _wtg(env, "user", "add", "anna", "--role", "approver", "--password-file", str(secret))
    assert added.returncode == 0, added.stderr
    assert "anna (approver) angelegt" in added.stdout
    again = _wtg(env, "user", "add", "anna", "--password-file", str(secret))
    assert again.returncode != 0 and "gibt es schon" in again.stderr
    short = _wtg(env, "user", "add", "bob", "--role", "editor", stdin="kurz\nkurz\n")
    assert short.returncode != 0 and "mindestens" in short.stderr
    issued = _wtg(env, "user", "token", "anna")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    db = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    try:
        with db.session() as s:
            user = s.query(User).filter_by(username="anna").one()
            assert user.password_hash.startswith("$argon2")
            assert user.api_token_hash != token and token not in user.password_hash
            assert user_for_token(s, token).username == "anna"
    finally:
        db.dispose()


def test_web_refuses_without_secret_and_serves_with_one(tmp_path: Path, redis_url: str) -> None:
    """`wtg web` stops with the German hint when no secret key is set, and with one it serves
    /healthz on the chosen port until it is terminated."""
    env = _config(tmp_path, redis_url)
    refused = _wtg(env, "web", "--port", str(free_port()))
    assert refused.returncode != 0
    assert "WTG_DASHBOARD__SECRET_KEY" in refused.stderr
    port = free_port()
    proc = subprocess.Popen([WTG, "web", "--port", str(port)],
                            env={**env, "WTG_DASHBOARD__SECRET_KEY": SECRET},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode() if proc.stdout else "exited")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["ok"]
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=30, message="wtg web to answer /healthz")
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 303
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
        if proc.stdout:
            proc.stdout.close()


def test_user_unlock_logout_and_deactivate(tmp_path: Path, redis_url: str) -> None:
    """`wtg user list` shows sessions and the wait after failed logins; `unlock` lets the
    account (or a client) try again at once; `logout` and `deactivate` end the sessions."""
    from episodes import logins
    from episodes.users import authenticate, create_user

    env = _config(tmp_path, redis_url)
    assert _wtg(env, "init").returncode == 0
    db = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    try:
        with db.session() as s:
            anna = create_user(s, "anna", "ein-langes-passwort", role="editor", actor="test")
            logins.open_session(s, anna, hours=1, client="127.0.0.1")
            logins.open_session(s, anna, hours=1, client="10.0.0.7")
            for _ in range(logins.ACCOUNT.free + 1):
                authenticate(s, "anna", "falsch", client="192.0.2.9")
        listed = _wtg(env, "user", "list")
        assert "anna: editor, 2 Sitzung(en), 6 Fehlversuche (wartet bis" in listed.stdout, listed
        unlocked = _wtg(env, "user", "unlock", "anna")
        assert unlocked.returncode == 0 and "wieder sofort anmelden" in unlocked.stdout
        by_client = _wtg(env, "user", "unlock", "--client", "192.0.2.9")
        assert by_client.returncode == 0, by_client.stderr
        with db.session() as s:
            assert logins.throttles(s) == []
        out = _wtg(env, "user", "logout", "anna")
        assert out.returncode == 0 and "2 Sitzung(en) von anna beendet" in out.stdout
        with db.session() as s:
            logins.open_session(s, s.get(User, anna.id), hours=1)
        assert _wtg(env, "user", "deactivate", "anna").returncode == 0
        with db.session() as s:
            assert logins.session_counts(s) == {}
            assert s.get(User, anna.id).active is False
        assert "deaktiviert" in _wtg(env, "user", "list").stdout
    finally:
        db.dispose()

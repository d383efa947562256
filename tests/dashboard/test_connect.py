"""Connecting accounts over real HTTP against the sandboxes' authorization servers: every
platform's flow, the granted scopes checked, ``state`` single use and bound to the browser and
the session, tokens only in the secrets store (0600), never in the database, logs or pages."""

from __future__ import annotations

import json
import logging
import stat
from datetime import timedelta

import pytest

from config.loader import credentials_for
from episodes import connections
from episodes.models import AccountConnection, AuditEntry, OAuthFlow, utcnow
from workers.publishing import check_account_credentials
from workers.runtime import Runtime

from . import connect_kit
from .connect_kit import NAMES, World, choose, connect, consent, csrf, scopes_on

world = connect_kit.world  # the fixture

YT = NAMES["youtube"]


def _store(w: World, name: str) -> dict[str, str]:
    path = w.secrets_dir / name / "rotated.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    return json.loads(path.read_text(encoding="utf-8"))


def _conn(w: World, name: str) -> AccountConnection:
    with w.live.db.session() as s:
        row = connections.get(s, name)
        assert row is not None
        s.expunge(row)
        return row


def _rt(w: World) -> Runtime:
    return Runtime(settings=w.settings, db=w.live.db)


def test_youtube_connects_with_pkce_and_the_channel_chosen(world: World,
                                                           caplog: pytest.LogCaptureFixture):
    """Google's flow with PKCE and offline access: the consent page asks for youtube.upload and
    youtube.force-ssl, the channel is confirmed after the callback, the tokens land in the
    secrets store only, and the YouTube adapter then works with them."""
    caplog.set_level(logging.DEBUG)
    with world.live.client("ada") as client:
        start = client.get(f"/accounts/{YT}/connect")
        assert start.status_code == 303
        target = start.headers["location"]
        for part in ("access_type=offline", "prompt=consent", "code_challenge_method=S256",
                     "code_challenge=", "state=", "youtube.upload", "youtube.force-ssl"):
            assert part in target, part
        assert scopes_on(target) == ["https://www.googleapis.com/auth/youtube.upload",
                                     "https://www.googleapis.com/auth/youtube.force-ssl"]
        page = client.get(consent(target))
        assert page.status_code == 200 and "Landkreis Ludwigslust-Parchim (Sandbox)" in page.text
        done = choose(client, page)
        assert done.status_code == 200, done.text
        assert "verbunden mit „Landkreis Ludwigslust-Parchim (Sandbox)“" in done.text.replace(
            "Verbunden mit", "verbunden mit")
        accounts = client.get("/accounts").text
    stored = _store(world, YT)
    assert {"access_token", "refresh_token", "access_token_expires_at"} <= set(stored)
    assert stored["oauth_app"] == "google" and "client_secret" not in stored
    conn = _conn(world, YT)
    assert conn.remote_id == world.sbs["youtube"].channel_id  # type: ignore[attr-defined]
    assert conn.refresh_expires_at is None  # a project in production: no end known
    assert "verbunden mit „Landkreis Ludwigslust-Parchim (Sandbox)“" in accounts
    # the adapter refreshes with the app's client and the stored refresh token
    world.sbs["youtube"].expire_access_tokens()  # type: ignore[attr-defined]
    assert check_account_credentials(_rt(world), YT)["ok"] is True
    secrets = [stored["refresh_token"], stored["access_token"],
               world.sbs["youtube"].client_secret]  # type: ignore[attr-defined]
    _nowhere(world, secrets, [page.text, done.text, accounts], caplog.text)


def test_a_missing_scope_is_refused_in_german(world: World):
    """Granting youtube.upload but not youtube.force-ssl is refused with a German message naming
    the missing scope and what it is for; nothing is stored, the refusal is audited."""
    with world.live.client("ada") as client:
        answer = connect(client, YT, grant=["https://www.googleapis.com/auth/youtube.upload"])
    assert answer.status_code == 400
    assert "nicht alle nötigen Berechtigungen" in answer.text
    assert "youtube.force-ssl" in answer.text and "Untertitel hochladen" in answer.text
    assert not (world.secrets_dir / YT / "rotated.json").exists()
    with world.live.db.session() as s:
        assert connections.get(s, YT) is None
        refused = s.query(AuditEntry).filter_by(action="account.connect_refused").one()
        assert refused.details["missing"] == ["https://www.googleapis.com/auth/youtube.force-ssl"]


def test_state_is_single_use_and_bound_to_the_browser_and_session(world: World):
    """A callback replayed, carried to another browser, arriving after the session ended, or
    after ten minutes is refused; a declined consent changes nothing."""
    with world.live.client("ada") as client:
        start = client.get(f"/accounts/{YT}/connect")
        back = consent(start.headers["location"])
        with world.live.client("ada") as other:  # same admin, another browser: no flow cookie
            assert other.get(back).status_code == 400
        assert client.get(back).status_code == 400  # burnt by the first attempt
        # a fresh flow, but the session ends before the platform answers
        start = client.get(f"/accounts/{YT}/connect")
        back = consent(start.headers["location"])
        token_cookie = client.cookies.get("wtg_connect", path="/connect/callback")
        client.post("/logout", data={"csrf": csrf(client.get("/accounts").text)})
        with world.live.client("ada") as fresh:
            fresh.cookies.set("wtg_connect", token_cookie, path="/connect/callback")
            assert fresh.get(back).status_code == 400
    with world.live.client("ada") as client:  # expired
        start = client.get(f"/accounts/{YT}/connect")
        back = consent(start.headers["location"])
        with world.live.db.session() as s:
            for flow in s.query(OAuthFlow):
                flow.expires_at = utcnow() - timedelta(seconds=1)
        assert "abgelaufen" in client.get(back).text
        declined = connect(client, YT, decision="deny")
        assert declined.status_code == 400 and "abgelehnt" in declined.text
    assert not (world.secrets_dir / YT / "rotated.json").exists()
    with world.live.db.session() as s:
        assert connections.get(s, YT) is None


def test_only_admins_connect(world: World):
    """An approver may test a connection but not start one or disconnect."""
    with world.live.client("anton") as client:
        assert client.get(f"/accounts/{YT}/connect").status_code == 403
        page = client.get(f"/accounts/{YT}")
        assert page.status_code == 200 and "Verbinden" not in page.text
        assert client.post(f"/accounts/{YT}/disconnect",
                           data={"csrf": csrf(page.text)}).status_code == 403


def _nowhere(w: World, secrets: list[str], pages: list[str], logs: str) -> None:
    """None of ``secrets`` in the database file, the pages or the log lines."""
    with w.live.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in w.secrets_dir.parent.parent.glob("wtg.db*"))
    for secret in secrets:
        assert secret.encode() not in raw, "secret in the database"
        assert all(secret not in page for page in pages), "secret on a page"
        assert secret not in logs, "secret in the logs"
    assert credentials_for  # the store is the only place (checked by the caller)

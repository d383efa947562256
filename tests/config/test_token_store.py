"""The secrets store wtg writes: a connection replaces the account's tokens (0600, atomic, under
a file lock), a disconnect forgets them, tokens wait for a choice in their own file, and OAuth
client keys come from wtg's app for tokens that app granted."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

from config import settings_from_dict
from config.credentials import AppCredentials, CredentialStore
from config.loader import credentials_for


def test_replace_leaves_no_stale_token_and_clear_forgets(tmp_path: Path):
    """A reconnect writes exactly the new set (no old refresh token survives) with mode 0600;
    clear removes what wtg holds but never the operator's environment."""
    env = {"WTG_ACCOUNT_YT_ACCESS_TOKEN": "aus-der-umgebung"}
    store = CredentialStore("yt", environ=env, secrets_dir=tmp_path / "secrets")
    store.update({"access_token": "alt", "refresh_token": "alt-refresh"})
    store.replace({"access_token": "neu"}, app="google")
    path = tmp_path / "secrets" / "yt" / "rotated.json"
    assert json.loads(path.read_text()) == {"access_token": "neu", "oauth_app": "google"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.get("refresh_token") is None and store.get("access_token") == "neu"
    assert store.held_by_wtg() == {"access_token"}
    assert store.clear() is True and not path.exists()
    assert store.get("access_token") == "aus-der-umgebung"
    assert store.clear() is False


def test_staged_tokens_belong_to_one_flow(tmp_path: Path):
    """Tokens waiting for the staffer's choice are read back only for their flow, and a
    replace or a discard removes them."""
    store = CredentialStore("fb", environ={}, secrets_dir=tmp_path)
    store.stage("7", {"page:1": "EAAPAGE-1"})
    assert store.staged("8") is None
    assert store.staged("7") == {"page:1": "EAAPAGE-1"}
    assert stat.S_IMODE((tmp_path / "fb" / "pending.json").stat().st_mode) == 0o600
    assert store.get("page:1") is None  # never a credential before it is chosen
    assert store.discard_staged(older_than=3600) is False  # fresh: kept
    store.replace({"access_token": "EAAPAGE-1"})
    assert store.staged("7") is None
    store.stage("9", {"x": "y"})
    old = os.stat(tmp_path / "fb" / "pending.json").st_mtime - 7200
    os.utime(tmp_path / "fb" / "pending.json", (old, old))
    assert store.discard_staged(older_than=3600) is True


def test_app_keys_for_tokens_the_app_granted(tmp_path: Path):
    """An account connected with wtg's Google app refreshes with that app's client even if an
    old per-account client is still in the environment; otherwise the account's own keys win
    and the app is the fallback."""
    env = {"WTG_OAUTH_GOOGLE_CLIENT_ID": "app-id", "WTG_ACCOUNT_YT_CLIENT_ID": "eigene-id"}
    (tmp_path / "_oauth" / "google").mkdir(parents=True)
    (tmp_path / "_oauth" / "google" / "client_secret").write_text("app-geheim\n")
    settings = settings_from_dict({"secrets_dir": str(tmp_path), "accounts": [
        {"name": "yt", "platform": "youtube", "api_base": "https://x.example"}]})
    store = credentials_for("yt", settings, env)
    assert store.get("client_id") == "eigene-id" and store.get("client_secret") == "app-geheim"
    store.replace({"refresh_token": "r"}, app="google")
    assert store.get("client_id") == "app-id"
    assert AppCredentials("meta", environ=env, secrets_dir=tmp_path).get("client_id") is None


def test_writers_in_parallel_never_lose_a_pair(tmp_path: Path):
    """Two writers (a worker rotating, the dashboard connecting) under the file lock: the file
    is always whole JSON holding one writer's complete set."""
    store = CredentialStore("tt", environ={}, secrets_dir=tmp_path)
    other = CredentialStore("tt", environ={}, secrets_dir=tmp_path)
    seen: list[dict[str, str]] = []

    def rotate(s: CredentialStore, tag: str) -> None:
        for i in range(50):
            s.update({"access_token": f"{tag}-a{i}", "refresh_token": f"{tag}-r{i}"})
            seen.append(json.loads((tmp_path / "tt" / "rotated.json").read_text()))

    threads = [threading.Thread(target=rotate, args=(s, t)) for s, t in
               ((store, "w"), (other, "d"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for data in seen:
        assert data["access_token"].split("-a")[0] == data["refresh_token"].split("-r")[0]
        assert data["access_token"].split("-a")[1] == data["refresh_token"].split("-r")[1]

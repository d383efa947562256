"""Secrets: never printed, looked up env -> _FILE -> secrets dir, rotated values written 0600."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from config import CredentialStore, Secret, settings_from_dict
from config.credentials import MissingCredential, env_prefix
from config.logging import redact, setup_logging

VALUE = "EAAG-sehr-geheimes-token-4711"


def test_secret_never_prints():
    """repr, str, f-strings, %-formatting and containers never show a Secret's value."""
    s = Secret(VALUE)
    shown = [repr(s), str(s), f"{s}", "%s" % s, "%r" % s, repr([s]), repr({"k": s}),  # noqa: UP031
             format(s, "")]
    assert all(VALUE not in x for x in shown)
    assert all("*" in x for x in shown)
    assert s.reveal() == VALUE


def test_secret_compares_by_value_and_is_falsy_when_empty():
    """Two Secrets with the same value are equal; an empty one is falsy."""
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"  # never equal to the plain string (no accidental leaks by compare)
    assert not Secret("")


def test_settings_repr_and_dump_hide_secrets(tmp_path: Path):
    """Printing Settings (as a crash report would) does not reveal the dashboard key."""
    s = settings_from_dict({"dashboard": {"secret_key": VALUE},
                            "notify_urls": [f"mailto://u:{VALUE}@x.de"]})
    assert VALUE not in repr(s)
    assert VALUE not in str(s)
    assert VALUE not in repr(s.model_dump())
    assert s.dashboard.secret_key is not None and s.dashboard.secret_key.reveal() == VALUE


def test_env_prefix_upper_cases_and_replaces_hyphens():
    """Account youtube-lup reads WTG_ACCOUNT_YOUTUBE_LUP_<KEY>."""
    assert env_prefix("youtube-lup") == "WTG_ACCOUNT_YOUTUBE_LUP_"


def test_credential_lookup_order(tmp_path: Path):
    """Secrets dir (rotated) beats the env variable, which beats the _FILE variable."""
    file_secret = tmp_path / "token"
    file_secret.write_text("aus-datei\n", encoding="utf-8")
    env = {"WTG_ACCOUNT_MASTODON_LUP_ACCESS_TOKEN_FILE": str(file_secret)}
    store = CredentialStore("mastodon-lup", environ=env, secrets_dir=tmp_path / "secrets")
    assert store.get("access_token") == "aus-datei"
    env["WTG_ACCOUNT_MASTODON_LUP_ACCESS_TOKEN"] = "aus-umgebung"
    assert store.get("access_token") == "aus-umgebung"
    store.update({"access_token": "erneuert"})
    assert store.get("access_token") == "erneuert"
    assert store.get("refresh_token") is None


def test_rotated_secret_is_written_owner_only(tmp_path: Path):
    """Rotated tokens land together in <secrets_dir>/<account>/rotated.json with mode 0600
    (dir 0700), win over the environment, and leave no temporary file."""
    store = CredentialStore("tiktok-lup", environ={"WTG_ACCOUNT_TIKTOK_LUP_REFRESH_TOKEN": "alt"},
                            secrets_dir=tmp_path / "secrets")
    store.update({"refresh_token": "rt-neu", "access_token": "at-neu"})
    path = tmp_path / "secrets" / "tiktok-lup" / "rotated.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"refresh_token": "rt-neu",
                                                          "access_token": "at-neu"}
    assert store.get("refresh_token") == "rt-neu"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert not list(path.parent.glob(".*.tmp"))


def test_missing_credential_names_the_variable_in_german():
    """A missing secret says which variable (or _FILE) to set, in German."""
    store = CredentialStore("youtube-lup", environ={}, secrets_dir=None)
    with pytest.raises(MissingCredential) as err:
        store.require("refresh_token")
    text = str(err.value)
    assert "Zugangsdaten fehlen" in text
    assert "WTG_ACCOUNT_YOUTUBE_LUP_REFRESH_TOKEN" in text
    assert "WTG_ACCOUNT_YOUTUBE_LUP_REFRESH_TOKEN_FILE" in text


def test_account_credentials_are_not_settings(tmp_path: Path):
    """WTG_ACCOUNT_* variables never become settings fields (nor an 'unknown setting' error)."""
    from config import load_settings

    path = tmp_path / "wtg.toml"
    path.write_text("", encoding="utf-8")
    s = load_settings({"WTG_ACCOUNT_YOUTUBE_LUP_REFRESH_TOKEN": VALUE}, config_file=path)
    assert VALUE not in repr(s)


def test_log_lines_are_redacted(capsys: pytest.CaptureFixture[str]):
    """A token that slips into a log message is masked by the redaction backstop."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("INFO", json_lines=False)
        logging.getLogger("wtg.test").warning("refresh failed: access_token=%s", VALUE)
        logging.getLogger("wtg.test").warning("header Authorization: Bearer %s", VALUE)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr()
    assert VALUE not in err.err + err.out
    assert "***" in err.err + err.out
    assert VALUE not in redact(f"client_secret={VALUE}")

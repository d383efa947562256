"""Files with staff data or secrets are for the service user only (0600, folders 0700), even
under the usual umask 022: the database (and its WAL), rotated tokens, uploaded files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.credentials import CredentialStore
from dashboard.uploads import save_cues_srt, upload_dir
from episodes.db import Database
from episodes.users import create_user


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    """A new database file, its -wal and -shm files are 0600; an old 0644 file is tightened
    when wtg opens it."""
    path = tmp_path / "var" / "wtg.db"
    db = Database(f"sqlite:///{path}")
    try:
        db.migrate()
        with db.session() as s:
            create_user(s, "anna", "ein-langes-passwort", actor="test")
        for name in ("wtg.db", "wtg.db-wal", "wtg.db-shm"):
            assert mode(path.parent / name) == 0o600, name
        assert mode(path.parent) == 0o700
    finally:
        db.dispose()
    os.chmod(path, 0o644)
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_rotated_tokens_and_the_secrets_folder_are_owner_only(tmp_path: Path) -> None:
    """The secrets folder and each account's folder are 0700, rotated.json is 0600."""
    secrets = tmp_path / "var" / "secrets"
    CredentialStore("tiktok-lup", environ={}, secrets_dir=secrets).update({"refresh_token": "x"})
    assert mode(secrets) == 0o700
    assert mode(secrets / "tiktok-lup") == 0o700
    assert mode(secrets / "tiktok-lup" / "rotated.json") == 0o600


def test_uploaded_files_are_owner_only(tmp_path: Path) -> None:
    """Upload folders (uploads/<series>/<episode>) are 0700 and stored files 0600."""
    target = upload_dir(tmp_path / "media", "wtg-2026", 3)
    stored = save_cues_srt("1\n00:00:00,000 --> 00:00:01,000\nHallo\n", target)
    assert mode(stored) == 0o600
    for folder in (target, target.parent, target.parent.parent):
        assert mode(folder) == 0o700, folder

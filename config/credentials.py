"""Credentials: wrapped so they never print, read from the environment or secret files only.

An account's credential ``KEY`` (``access_token``, ``refresh_token``, ``client_secret`` ...) is
looked up, first match wins:

1. ``WTG_ACCOUNT_<NAME>_<KEY>`` in the environment (NAME upper-cased, ``-`` -> ``_``);
2. the file named by ``WTG_ACCOUNT_<NAME>_<KEY>_FILE`` (Docker/Kubernetes secrets);
3. ``<secrets_dir>/<name>/rotated.json``: tokens wtg refreshed or rotated itself, all keys of one
   refresh written together in one atomic replace (mode 0600) -- a crash can never leave a new
   access token beside an old, already invalid refresh token;
4. ``<secrets_dir>/<name>/<key>``: a file per key an operator placed there.

Nothing here is ever written to the database, the repository or a log line.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path

ROTATED = "rotated.json"


class Secret:
    """A string that does not show itself in repr/str/logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def env_prefix(account: str) -> str:
    return "WTG_ACCOUNT_" + account.upper().replace("-", "_").replace(".", "_") + "_"


class MissingCredential(KeyError):
    def __init__(self, account: str, key: str) -> None:
        self.account = account
        self.key = key
        var = env_prefix(account) + key.upper()
        super().__init__(
            f"Zugangsdaten fehlen: Konto {account!r} braucht {key!r}. "
            f"Bitte die Umgebungsvariable {var} oder {var}_FILE setzen."
        )


class CredentialStore:
    """An account's secrets (implements ``workers.platforms.base.Credentials``)."""

    def __init__(
        self, account: str, *, environ: Mapping[str, str], secrets_dir: Path | None
    ) -> None:
        self.account = account
        self._env = environ
        self._dir = secrets_dir / account if secrets_dir else None
        self._lock = threading.Lock()

    def _rotated(self) -> dict[str, str]:
        if self._dir is None:
            return {}
        try:
            data = json.loads((self._dir / ROTATED).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        var = env_prefix(self.account) + key.upper()
        # a value wtg rotated itself is newer than the environment
        rotated = self._rotated()
        if key in rotated:
            return rotated[key]
        if self._env.get(var):
            return self._env[var]
        file_var = self._env.get(var + "_FILE")
        if file_var and Path(file_var).is_file():
            return Path(file_var).read_text(encoding="utf-8").strip()
        if self._dir is not None and (self._dir / key).is_file():
            return (self._dir / key).read_text(encoding="utf-8").strip()
        return None

    def require(self, key: str) -> str:
        value = self.get(key)
        if not value:
            raise MissingCredential(self.account, key)
        return value

    def update(self, values: Mapping[str, str]) -> None:
        if self._dir is None:
            raise RuntimeError(
                f"cannot store rotated credentials for {self.account!r}: no secrets dir configured"
            )
        with self._lock:
            for folder in (self._dir.parent, self._dir):  # the secrets dir too: 0700
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(folder, 0o700)
            merged = {**self._rotated(), **{k: str(v) for k, v in values.items()}}
            tmp = self._dir / f".{ROTATED}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(merged, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._dir / ROTATED)


class InMemoryCredentials:
    """Credentials held in a dict (tests, the demo's sandbox accounts)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def require(self, key: str) -> str:
        value = self.values.get(key)
        if not value:
            raise MissingCredential("memory", key)
        return value

    def update(self, values: Mapping[str, str]) -> None:
        self.values.update(values)

"""Credentials: wrapped so they never print, read from the environment or secret files only.

An account's credential ``KEY`` (``access_token``, ``refresh_token``, ``client_secret`` ...) is
looked up, first match wins:

1. ``<secrets_dir>/<name>/rotated.json``: tokens wtg obtained itself -- in the dashboard's
   connect flow, or by a refresh or rotation -- all keys of one change written together in one
   atomic replace (mode 0600) under a file lock, so a crash can never leave a new access token
   beside an old, already invalid refresh token;
2. ``WTG_ACCOUNT_<NAME>_<KEY>`` in the environment (NAME upper-cased, ``-`` -> ``_``);
3. the file named by ``WTG_ACCOUNT_<NAME>_<KEY>_FILE`` (Docker/Kubernetes secrets);
4. ``<secrets_dir>/<name>/<key>``: a file per key an operator placed there;
5. for the OAuth client keys (``client_id``, ``client_secret``, ``client_key``): the platform's
   app (:class:`AppCredentials`, ``WTG_OAUTH_<APP>_<KEY>``). An account connected in the
   dashboard took its tokens with that app, so for it the app's keys come first.

Nothing here is ever written to the database, the repository or a log line.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

ROTATED = "rotated.json"
PENDING = "pending.json"  # tokens of a connect flow waiting for the staffer's choice
LOCK = ".lock"
#: the OAuth client's own keys, which an account may take from its platform's app
APP_KEYS = ("client_id", "client_secret", "client_key")
#: marker in rotated.json: these tokens were granted to this app (``PLATFORM_APP`` value)
OAUTH_APP = "oauth_app"
#: which of wtg's OAuth apps connects each platform (Facebook Login serves both Meta platforms)
PLATFORM_APP = {"youtube": "google", "facebook": "meta", "instagram": "meta",
                "tiktok": "tiktok"}
APP_FOLDER = "_oauth"  # <secrets_dir>/_oauth/<app>/<key> (no account name starts with "_")


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


def app_prefix(app: str) -> str:
    return "WTG_OAUTH_" + app.upper() + "_"


class MissingCredential(KeyError):
    def __init__(self, account: str, key: str) -> None:
        self.account = account
        self.key = key
        var = env_prefix(account) + key.upper()
        super().__init__(
            f"Zugangsdaten fehlen: Konto {account!r} braucht {key!r}. Bitte das Konto im "
            f"Dashboard unter „Konten“ verbinden oder die Umgebungsvariable {var} "
            f"(bzw. {var}_FILE) setzen."
        )


class MissingAppCredential(KeyError):
    """wtg's own OAuth app for a platform is not set up (German message for the admin)."""

    def __init__(self, app: str, key: str) -> None:
        self.app = app
        self.key = key
        var = app_prefix(app) + key.upper()
        super().__init__(
            f"Die Anwendung von wtg für {APP_LABEL.get(app, app)} ist nicht eingerichtet: es "
            f"fehlt {key!r}. Bitte die Technik bitten, {var} (bzw. {var}_FILE) zu setzen."
        )


APP_LABEL = {"google": "Google/YouTube", "meta": "Facebook/Instagram", "tiktok": "TikTok"}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class AppCredentials:
    """The keys of one of wtg's OAuth apps (``client_id``/``client_key``, ``client_secret``,
    Meta's optional ``config_id``): ``WTG_OAUTH_<APP>_<KEY>``, its ``_FILE`` variant, or
    ``<secrets_dir>/_oauth/<app>/<key>``."""

    def __init__(self, app: str, *, environ: Mapping[str, str],
                 secrets_dir: Path | None) -> None:
        self.app = app
        self._env = environ
        self._dir = secrets_dir / APP_FOLDER / app if secrets_dir else None

    def get(self, key: str) -> str | None:
        var = app_prefix(self.app) + key.upper()
        if self._env.get(var):
            return self._env[var]
        file_var = self._env.get(var + "_FILE")
        if file_var:
            value = _read(Path(file_var))
            if value:
                return value
        return _read(self._dir / key) if self._dir is not None else None

    def require(self, key: str) -> str:
        value = self.get(key)
        if not value:
            raise MissingAppCredential(self.app, key)
        return value


class CredentialStore:
    """An account's secrets (implements ``workers.platforms.base.Credentials``) and the
    account's part of the secrets store, which wtg writes (files 0600 in a 0700 folder)."""

    def __init__(
        self, account: str, *, environ: Mapping[str, str], secrets_dir: Path | None,
        app: AppCredentials | None = None,
    ) -> None:
        self.account = account
        self._env = environ
        self._dir = secrets_dir / account if secrets_dir else None
        self._app = app
        self._lock = threading.Lock()

    def _json(self, name: str) -> dict[str, str]:
        if self._dir is None:
            return {}
        try:
            data = json.loads((self._dir / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _rotated(self) -> dict[str, str]:
        return self._json(ROTATED)

    def get(self, key: str) -> str | None:
        var = env_prefix(self.account) + key.upper()
        rotated = self._rotated()
        if key in APP_KEYS and self._app is not None and rotated.get(OAUTH_APP):
            own = self._app.get(key)  # tokens granted to wtg's app: refresh with that app
            if own:
                return own
        # a value wtg obtained itself is newer than the environment
        if key in rotated:
            return rotated[key]
        if self._env.get(var):
            return self._env[var]
        file_var = self._env.get(var + "_FILE")
        if file_var and Path(file_var).is_file():
            return Path(file_var).read_text(encoding="utf-8").strip()
        if self._dir is not None and (self._dir / key).is_file():
            return (self._dir / key).read_text(encoding="utf-8").strip()
        if key in APP_KEYS and self._app is not None:
            return self._app.get(key)
        return None

    def require(self, key: str) -> str:
        value = self.get(key)
        if not value:
            raise MissingCredential(self.account, key)
        return value

    # --- writing the store --------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[Path]:
        """The account's folder (0700, the secrets dir too), held under an exclusive file
        lock: a worker rotating a token and the dashboard storing a new connection never
        interleave."""
        if self._dir is None:
            raise RuntimeError(
                f"cannot store credentials for {self.account!r}: no secrets dir configured")
        for folder in (self._dir.parent, self._dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        with self._lock:
            fd = os.open(self._dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield self._dir
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    @staticmethod
    def _write(folder: Path, name: str, values: Mapping[str, str]) -> None:
        tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(values), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)

    def update(self, values: Mapping[str, str]) -> None:
        """Merge refreshed or rotated tokens into the store (one atomic replace)."""
        with self._locked() as folder:
            merged = {**self._rotated(), **{k: str(v) for k, v in values.items()}}
            self._write(folder, ROTATED, merged)

    def replace(self, values: Mapping[str, str], *, app: str | None = None) -> None:
        """A new connection's tokens instead of everything wtg held for the account before
        (a reconnect leaves no stale refresh token behind). ``app``: the OAuth app that
        granted them."""
        fresh = {k: str(v) for k, v in values.items()}
        if app:
            fresh[OAUTH_APP] = app
        with self._locked() as folder:
            self._write(folder, ROTATED, fresh)
            (folder / PENDING).unlink(missing_ok=True)

    def clear(self) -> bool:
        """Forget the tokens wtg holds for the account (disconnect); True if there were any.
        Tokens an operator put into the environment or files are not touched."""
        if self._dir is None or not self._dir.exists():
            return False
        with self._locked() as folder:
            had = (folder / ROTATED).exists()
            (folder / ROTATED).unlink(missing_ok=True)
            (folder / PENDING).unlink(missing_ok=True)
        return had

    def stage(self, flow: str, values: Mapping[str, str]) -> None:
        """Hold a connect flow's tokens until the staffer chose (page, channel): 0600, never
        in the database."""
        with self._locked() as folder:
            self._write(folder, PENDING, {"flow": flow,
                                          "values": json.dumps({k: str(v) for k, v in
                                                                values.items()})})

    def staged(self, flow: str) -> dict[str, str] | None:
        """The tokens held for ``flow`` (None if there are none or another flow's)."""
        data = self._json(PENDING)
        if data.get("flow") != flow:
            return None
        try:
            values = json.loads(data.get("values", "{}"))
        except ValueError:
            return None
        return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else None

    def discard_staged(self, *, older_than: float | None = None) -> bool:
        """Forget tokens held for a choice (all, or only if older than ``older_than``
        seconds: an abandoned flow); True if there were any."""
        path = self._dir / PENDING if self._dir is not None else None
        if path is None or not path.exists():
            return False
        if older_than is not None and time.time() - path.stat().st_mtime < older_than:
            return False
        with self._locked() as folder:
            (folder / PENDING).unlink(missing_ok=True)
        return True

    def held_by_wtg(self) -> set[str]:
        """The keys wtg holds in the store (never their values)."""
        return set(self._rotated()) - {OAUTH_APP}


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

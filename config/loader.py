"""Builds :class:`Settings` from the environment and the settings file. The ONLY reader of
``os.environ`` in wtg (besides ``config.credentials`` receiving the mapping from here).

Sources, highest first: ``WTG_*`` variables (``__`` for nesting, ``_FILE`` suffix to read a value
from a file), the TOML file named by ``WTG_CONFIG`` (default ``wtg.toml`` in the working
directory, if present), the defaults.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .credentials import PLATFORM_APP, AppCredentials, CredentialStore
from .settings import Settings

ENV_PREFIX = "WTG_"
_NOT_SETTINGS = {"CONFIG"}  # WTG_ variables that are not settings fields


class SettingsError(Exception):
    """Settings are missing or invalid; the message says what to fix (German)."""


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    path = config_file or (Path(env["WTG_CONFIG"]) if env.get("WTG_CONFIG") else None)
    if path is None and Path("wtg.toml").is_file():
        path = Path("wtg.toml")
    if path is not None:
        data = _read_toml(path)
    _merge(data, _from_env(env))
    if overrides:
        _merge(data, dict(overrides))
    return settings_from_dict(data, origin=str(path) if path else "Umgebung")


def settings_from_dict(data: Mapping[str, Any], *, origin: str = "Einstellungen") -> Settings:
    try:
        return Settings.model_validate(dict(data))
    except ValidationError as exc:
        lines = [f"Die Einstellungen ({origin}) sind nicht gültig:"]
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "(gesamt)"
            # a list (accounts) can only come whole from one variable, as JSON
            keys = loc[: next((i for i, p in enumerate(loc) if isinstance(p, int)), len(loc))]
            env_name = ENV_PREFIX + "__".join(str(p) for p in keys).upper()
            msg = german_error(err)
            lines.append(f"  - {where}: {msg} (Datei oder Umgebungsvariable {env_name})")
        raise SettingsError("\n".join(lines)) from None


#: pydantic's own error types in German (our validators already speak German)
_GERMAN = {
    "missing": "fehlt",
    "extra_forbidden": "unbekannte Einstellung (Tippfehler?)",
    "int_parsing": "muss eine ganze Zahl sein",
    "int_type": "muss eine ganze Zahl sein",
    "int_from_float": "muss eine ganze Zahl sein",
    "float_parsing": "muss eine Zahl sein",
    "float_type": "muss eine Zahl sein",
    "bool_parsing": "muss true oder false sein",
    "bool_type": "muss true oder false sein",
    "string_type": "muss Text sein",
    "greater_than": "muss größer als {gt} sein",
    "greater_than_equal": "muss mindestens {ge} sein",
    "less_than": "muss kleiner als {lt} sein",
    "less_than_equal": "darf höchstens {le} sein",
    "enum": "erlaubt sind: {expected}",
    "literal_error": "erlaubt sind: {expected}",
    "tuple_type": "muss eine Liste sein",
    "list_type": "muss eine Liste sein",
    "dict_type": "muss eine Tabelle sein",
    "model_type": "muss eine Tabelle sein",
    "model_attributes_type": "muss eine Tabelle sein",
    "path_type": "muss ein Pfad sein",
    "multiple_of": "muss ein Vielfaches von {multiple_of} sein",
    "string_too_short": "darf nicht leer sein",
}


def german_error(err: Any) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as a German phrase."""
    template = _GERMAN.get(err["type"])
    if template is None:
        return str(err["msg"]).removeprefix("Value error, ")
    try:
        ctx = {k: f"{v:g}".replace(".", ",") if isinstance(v, float) else v
               for k, v in (err.get("ctx") or {}).items()}
        return template.format(**ctx).replace("' or '", "' oder '")
    except (KeyError, IndexError):
        return template.split(":")[0]


def credentials_for(
    account: str, settings: Settings, environ: Mapping[str, str] | None = None
) -> CredentialStore:
    """The account's secrets; its OAuth client keys may come from its platform's app."""
    env = os.environ if environ is None else environ
    platform = next((a.platform for a in settings.accounts if a.name == account), None)
    app = PLATFORM_APP.get(platform or "")
    return CredentialStore(
        account, environ=env, secrets_dir=settings.secrets_dir,
        app=AppCredentials(app, environ=env, secrets_dir=settings.secrets_dir) if app else None,
    )


def oauth_app(app: str, settings: Settings,
              environ: Mapping[str, str] | None = None) -> AppCredentials:
    """The keys of wtg's OAuth app ``app`` (google, meta, tiktok): ``WTG_OAUTH_<APP>_<KEY>``,
    ``..._FILE`` or ``<secrets_dir>/_oauth/<app>/<key>``."""
    return AppCredentials(app, environ=os.environ if environ is None else environ,
                          secrets_dir=settings.secrets_dir)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"Einstellungsdatei {path} nicht gefunden.") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"Einstellungsdatei {path}: TOML-Fehler: {exc}") from None
    base = path.parent
    # relative paths in the file are relative to the file
    for key in ("var_dir", "media_root", "secrets_dir", "season_file"):
        if isinstance(data.get(key), str) and not Path(data[key]).is_absolute():
            data[key] = str(base / data[key])
    if "accounts" in data and isinstance(data["accounts"], list):
        data["accounts"] = tuple(data["accounts"])
    return data


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key.startswith(("WTG_ACCOUNT_", "WTG_OAUTH_")):
            continue
        name = key[len(ENV_PREFIX):]
        if name in _NOT_SETTINGS or not name:
            continue
        # WTG_X_FILE reads X from a file, unless X_FILE is itself a setting (season_file)
        if name.endswith("_FILE") and name.lower() not in Settings.model_fields:
            name = name[: -len("_FILE")]
            try:
                value = Path(value).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(f"{key}: Datei {value} nicht lesbar ({exc}).") from None
        parts = [p.lower() for p in name.split("__")]
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = _coerce(value)
    return out


def _coerce(value: str) -> Any:
    if value.startswith(("[", "{")):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    if value == "":
        return None
    return value


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for k, v in other.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v

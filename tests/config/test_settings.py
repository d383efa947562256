"""Settings: environment over TOML over defaults, ``_FILE`` values, German errors for staff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import Secret, Settings, SettingsError, load_settings, settings_from_dict

YT = {"name": "youtube-lup", "platform": "youtube", "api_base": "https://www.googleapis.com"}


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wtg.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """With no file and no WTG_ variables the documented defaults apply."""
    monkeypatch.chdir(tmp_path)  # no wtg.toml here
    s = load_settings({})
    assert s.database_url == "sqlite:///var/wtg.db"
    assert s.broker_url is None
    assert s.timezone == "Europe/Berlin"
    assert s.accounts == ()


def test_toml_overrides_defaults_and_env_overrides_toml(tmp_path: Path):
    """A value in the TOML file beats the default; a WTG_ variable beats the file."""
    path = write_toml(tmp_path, 'log_level = "WARNING"\ngrace_hours = 3.0\n'
                                "[dashboard]\nport = 9000\nsession_hours = 4.0\n")
    s = load_settings({"WTG_LOG_LEVEL": "DEBUG", "WTG_DASHBOARD__PORT": "9100"},
                      config_file=path)
    assert s.log_level == "DEBUG"  # env wins
    assert s.grace_hours == 3.0  # file wins over default
    assert s.dashboard.port == 9100  # nested env wins over nested file value
    assert s.dashboard.session_hours == 4.0  # sibling of the overridden nested value kept


def test_wtg_config_variable_names_the_file(tmp_path: Path):
    """WTG_CONFIG selects the settings file and is not itself taken for a setting."""
    path = write_toml(tmp_path, 'timezone = "Europe/Vienna"\n')
    s = load_settings({"WTG_CONFIG": str(path)})
    assert s.timezone == "Europe/Vienna"


def test_relative_paths_in_the_file_are_relative_to_the_file(tmp_path: Path):
    """var_dir and friends given relative in the TOML file resolve beside that file."""
    path = write_toml(tmp_path, 'var_dir = "data"\nseason_file = "season.toml"\n')
    s = load_settings({}, config_file=path)
    assert s.var_dir == tmp_path / "data"
    assert s.season_file == tmp_path / "season.toml"


def test_accounts_from_the_file(tmp_path: Path):
    """Accounts are read from [[accounts]] tables and trailing slashes are trimmed."""
    path = write_toml(tmp_path, '[[accounts]]\nname = "youtube-lup"\nplatform = "youtube"\n'
                                'api_base = "https://www.googleapis.com/youtube/v3/"\n'
                                "[accounts.options]\npublish_privacy = \"unlisted\"\n")
    s = load_settings({}, config_file=path)
    acc = s.account("youtube-lup")
    assert acc.api_base == "https://www.googleapis.com/youtube/v3"
    assert acc.options == {"publish_privacy": "unlisted"}
    with pytest.raises(KeyError):
        s.account("tiktok-lup")


def test_file_suffix_reads_the_value_from_a_file(tmp_path: Path):
    """WTG_X_FILE reads X from the named file (Docker secrets), stripped of the newline."""
    secret = tmp_path / "db_url"
    secret.write_text("postgresql+psycopg://wtg:geheim@db:5432/wtg\n", encoding="utf-8")
    key = tmp_path / "key"
    key.write_text("sitzungsschluessel-123\n", encoding="utf-8")
    s = load_settings({"WTG_DATABASE_URL_FILE": str(secret),
                       "WTG_DASHBOARD__SECRET_KEY_FILE": str(key)},
                      config_file=write_toml(tmp_path, ""))
    assert s.database_url == "postgresql+psycopg://wtg:geheim@db:5432/wtg"
    assert isinstance(s.dashboard.secret_key, Secret)
    assert s.dashboard.secret_key.reveal() == "sitzungsschluessel-123"


def test_file_suffix_pointing_nowhere_is_a_german_error(tmp_path: Path):
    """A _FILE variable naming a missing file fails with the variable's name, not a traceback."""
    with pytest.raises(SettingsError) as err:
        load_settings({"WTG_DATABASE_URL_FILE": str(tmp_path / "fehlt")},
                      config_file=write_toml(tmp_path, ""))
    assert "WTG_DATABASE_URL_FILE" in str(err.value)
    assert "nicht lesbar" in str(err.value)


def test_missing_settings_file_is_a_german_error(tmp_path: Path):
    """A settings file that does not exist is named in a German message."""
    with pytest.raises(SettingsError, match="nicht gefunden"):
        load_settings({}, config_file=tmp_path / "gibt-es-nicht.toml")


def test_toml_syntax_error_in_settings_is_a_german_error(tmp_path: Path):
    """A broken settings file is reported as a TOML error naming the file."""
    path = write_toml(tmp_path, "log_level = \n")
    with pytest.raises(SettingsError) as err:
        load_settings({}, config_file=path)
    assert "TOML-Fehler" in str(err.value) and str(path) in str(err.value)


def test_notify_urls_from_env_are_split_and_wrapped(tmp_path: Path):
    """Comma-separated apprise URLs from the environment become Secrets that do not print."""
    s = load_settings({"WTG_NOTIFY_URLS": "mailto://a:pw@x.de,tgram://bot/123"},
                      config_file=write_toml(tmp_path, ""))
    assert [u.reveal() for u in s.notify_urls] == ["mailto://a:pw@x.de", "tgram://bot/123"]
    assert len(s.notify_urls) == 2
    assert all(isinstance(u, Secret) for u in s.notify_urls)
    assert "pw@x.de" not in repr(s)


# every kind of invalid setting: (data, field shown, environment variable named, German words)
INVALID: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("zeitzone", {"timezone": "Mars/Olympus"}, "timezone", "WTG_TIMEZONE", "unbekannte Zeitzone"),
    ("db-url", {"database_url": "mysql://x/y"}, "database_url", "WTG_DATABASE_URL",
     "nur sqlite"),
    ("visibility", {"task_time_limit": 8000}, "visibility_timeout", "WTG_VISIBILITY_TIMEOUT",
     "größer als task_time_limit"),
    ("negativ", {"grace_hours": -1}, "grace_hours", "WTG_GRACE_HOURS", "mindestens 0"),
    ("null", {"time_scale": 0}, "time_scale", "WTG_TIME_SCALE", "größer als 0"),
    ("keine-zahl", {"lease_seconds": "abc"}, "lease_seconds", "WTG_LEASE_SECONDS",
     "muss eine Zahl sein"),
    ("keine-ganze-zahl", {"dashboard": {"port": "x"}}, "dashboard.port", "WTG_DASHBOARD__PORT",
     "ganze Zahl"),
    ("policy", {"not_ready_policy": "warten"}, "not_ready_policy", "WTG_NOT_READY_POLICY",
     "erlaubt sind: 'hold' oder 'skip'"),
    ("bool", {"log_json": "vielleicht"}, "log_json", "WTG_LOG_JSON", "true oder false"),
    ("tippfehler", {"grace_hour": 2}, "grace_hour", "WTG_GRACE_HOUR", "unbekannte Einstellung"),
    ("plattform", {"accounts": [{**YT, "platform": "myspace"}]}, "accounts.0.platform",
     "WTG_ACCOUNTS", "unbekannte Plattform"),
    ("kontoname", {"accounts": [{**YT, "name": "YouTube LUP"}]}, "accounts.0.name",
     "WTG_ACCOUNTS", "nur Kleinbuchstaben"),
    ("api-base", {"accounts": [{**YT, "api_base": "ftp://x"}]}, "accounts.0.api_base",
     "WTG_ACCOUNTS", "http:// oder https://"),
    ("api-base-fehlt", {"accounts": [{"name": "yt", "platform": "youtube"}]},
     "accounts.0.api_base", "WTG_ACCOUNTS", "fehlt"),
    ("doppelt", {"accounts": [YT, YT]}, "accounts", "WTG_ACCOUNTS", "mehrfach vergeben"),
]


@pytest.mark.parametrize(("data", "field", "env", "german"),
                         [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_setting_names_field_and_env_var_in_german(
    data: dict[str, Any], field: str, env: str, german: str
):
    """Each kind of invalid setting gives a German line naming the field and its env var."""
    with pytest.raises(SettingsError) as err:
        settings_from_dict(data)
    text = str(err.value)
    assert "sind nicht gültig" in text
    line = next((ln for ln in text.splitlines() if ln.startswith(f"  - {field}:")), None)
    assert line is not None, text
    assert german in line, line
    assert f"Umgebungsvariable {env})" in line, line
    assert "Input should" not in text and "Field required" not in text  # no pydantic English


def test_invalid_value_from_env_is_reported_with_the_env_name(tmp_path: Path):
    """A bad value coming from a WTG_ variable names that variable."""
    with pytest.raises(SettingsError) as err:
        load_settings({"WTG_DASHBOARD__PORT": "achtzig"}, config_file=write_toml(tmp_path, ""))
    assert "WTG_DASHBOARD__PORT" in str(err.value)


def test_all_problems_are_listed_at_once():
    """Several mistakes are reported together, one line each."""
    with pytest.raises(SettingsError) as err:
        settings_from_dict({"timezone": "Nirgendwo", "grace_hours": -2, "typo": 1})
    lines = [ln for ln in str(err.value).splitlines() if ln.startswith("  - ")]
    assert len(lines) == 3


def test_settings_are_frozen(settings: Settings):
    """Settings cannot be changed after they were built."""
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        settings.log_level = "DEBUG"  # type: ignore[misc]
    assert settings.log_level == "INFO"


def test_empty_notify_urls_file_means_no_notifications(tmp_path: Path):
    """An empty secret file for WTG_NOTIFY_URLS_FILE gives no URLs instead of a crash."""
    empty = tmp_path / "notify_urls"
    empty.write_text("\n", encoding="utf-8")
    s = load_settings({"WTG_NOTIFY_URLS_FILE": str(empty)}, config_file=write_toml(tmp_path, ""))
    assert s.notify_urls == ()


def test_settings_whose_name_ends_in_file_can_come_from_env(tmp_path: Path):
    """WTG_SEASON_FILE sets season_file (it is not a _FILE indirection); _FILE_FILE still is."""
    s = load_settings({"WTG_SEASON_FILE": "/etc/wtg/season.toml"},
                      config_file=write_toml(tmp_path, ""))
    assert s.season_file == Path("/etc/wtg/season.toml")
    pointer = tmp_path / "season_path"
    pointer.write_text("/srv/season.toml\n", encoding="utf-8")
    s = load_settings({"WTG_SEASON_FILE_FILE": str(pointer)}, config_file=write_toml(tmp_path, ""))
    assert s.season_file == Path("/srv/season.toml")

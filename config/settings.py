"""The one validated settings object, built at the edge (``config.loader``) and passed in.

Environment variables ``WTG_*`` win over the TOML settings file, which wins over the defaults.
Nested values use ``__`` (``WTG_DASHBOARD__SESSION_HOURS=8``); accounts are a list and are best
kept in the TOML file. Credentials are never settings: they come from the environment or secret
files through :mod:`config.credentials`.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from .credentials import Secret

KNOWN_PLATFORMS = ("facebook", "instagram", "youtube", "mastodon", "tiktok")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")


class NotReadyPolicy(StrEnum):
    HOLD = "hold"  # the series shifts by a week, staff are told
    SKIP = "skip"  # the slot passes without this episode


class AccountSettings(BaseModel):
    """One social-media account wtg posts to. Secrets: see ``config.credentials``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="short unique name, e.g. youtube-lup")
    platform: str = Field(description="facebook | instagram | youtube | mastodon | tiktok")
    display_name: str = ""
    api_base: str = Field(description="the platform's API base URL (a sandbox URL in the demo)")
    enabled: bool = True
    profile: str | None = Field(None, description="rendition profile; default by platform")
    native_scheduling: bool = Field(
        False, description="upload ahead and let the platform publish at the slot"
    )
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("nur Kleinbuchstaben, Ziffern, - und _ (2 bis 63 Zeichen)")
        return v

    @field_validator("platform")
    @classmethod
    def _platform(cls, v: str) -> str:
        if v not in KNOWN_PLATFORMS:
            raise ValueError(f"unbekannte Plattform {v!r}; erlaubt: {', '.join(KNOWN_PLATFORMS)}")
        return v

    @field_validator("api_base")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("muss mit http:// oder https:// beginnen")
        return v.rstrip("/")


class DashboardSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: Secret | None = None  # from WTG_DASHBOARD__SECRET_KEY or a _FILE; required to serve
    session_hours: float = 12.0
    secure_cookies: bool = True
    public_url: str = "http://127.0.0.1:8080"
    max_video_mb: int = Field(
        8192, ge=1, description="largest source clip the dashboard accepts (MB of 2^20 bytes)"
    )
    min_free_disk_mb: int = Field(
        2048, ge=0, description="uploads are refused when less would stay free on the media disk"
    )

    @field_validator("secret_key", mode="before")
    @classmethod
    def _wrap(cls, v: Any) -> Any:
        return Secret(v) if isinstance(v, str) else v


class Settings(BaseModel):
    """Everything wtg needs to run, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    database_url: str = "sqlite:///var/wtg.db"
    broker_url: str | None = Field(
        None, description="redis://...; empty: wtg starts its own embedded broker"
    )
    embedded_broker_port: int = 6391
    var_dir: Path = Path("var")
    media_root: Path = Path("var/media")
    secrets_dir: Path = Path("var/secrets")
    timezone: str = "Europe/Berlin"
    season_file: Path = Path("config/season.toml")
    accounts: tuple[AccountSettings, ...] = ()
    not_ready_policy: NotReadyPolicy = NotReadyPolicy.HOLD
    grace_hours: float = Field(6.0, ge=0, description="late posting window after downtime")
    preflight_hours: tuple[float, ...] = (48.0, 2.0)
    time_scale: float = Field(
        1.0, gt=0, description="demo/tests: 604800 makes a week last one second"
    )
    lease_seconds: float = Field(
        120.0, gt=0, description="a worker's hold on a post; renewed while it works"
    )
    sweep_seconds: float = Field(
        30.0, gt=0, description="how often the scheduler re-enqueues posts whose worker died"
    )
    clock_start: datetime | None = Field(
        None, description="with time_scale: the virtual time when the scheduler first starts"
    )
    leader_lease_seconds: float = Field(
        15.0, gt=0, description="the active scheduler's lease; a standby takes over after it"
    )
    native_schedule_hours: float = Field(
        2.0, ge=0, description="hand natively scheduled posts to the platform this early"
    )
    poll_interval_min: float = Field(2.0, ge=0, description="seconds between processing polls")
    poll_interval_max: float = Field(60.0, ge=0)
    retry_backoff: float = Field(
        2.0, ge=0, description="base seconds of the exponential backoff after transient errors"
    )
    media_branding: bool = Field(True, description="intro/end card with the episode title")
    media_profiles_file: Path | None = Field(
        None, description="rendition profiles (default: the shipped config/media.toml)"
    )
    credentials_check_seconds: float = Field(
        900.0, ge=0, description="pre-flight reuses a successful token check this long"
    )
    log_level: str = "INFO"
    log_json: bool = False
    task_time_limit: int = Field(3600, ge=10, description="seconds; hard limit per task")
    visibility_timeout: int = Field(
        7200, ge=60, validate_default=True,  # checked against task_time_limit even if unset
        description="Redis redelivery after this many seconds; above the longest task",
    )
    notify_urls: tuple[Secret, ...] = ()  # apprise URLs (may contain tokens)
    dashboard: DashboardSettings = DashboardSettings()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unbekannte Zeitzone {v!r} (z. B. Europe/Berlin)") from None
        return v

    @field_validator("notify_urls", mode="before")
    @classmethod
    def _wrap_urls(cls, v: Any) -> Any:
        if v is None:  # an empty WTG_NOTIFY_URLS(_FILE): no notifications
            return ()
        if isinstance(v, str):
            v = [u for u in v.split(",") if u.strip()]
        return tuple(Secret(u) if isinstance(u, str) else u for u in v)

    # checks across fields are field validators, so the error names the field (and its
    # environment variable); fields are validated in declaration order
    @field_validator("accounts")
    @classmethod
    def _unique_names(cls, v: tuple[AccountSettings, ...]) -> tuple[AccountSettings, ...]:
        names = [a.name for a in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"Kontoname mehrfach vergeben: {', '.join(dupes)}")
        return v

    @field_validator("visibility_timeout")
    @classmethod
    def _above_time_limit(cls, v: int, info: ValidationInfo) -> int:
        limit = info.data.get("task_time_limit")
        if limit is not None and v <= limit:
            raise ValueError(
                f"muss größer als task_time_limit ({limit}) sein, sonst stellt Redis "
                "lange Aufgaben ein zweites Mal zu"
            )
        return v

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if not v.startswith(("sqlite:", "postgresql")):
            raise ValueError("nur sqlite:///… oder postgresql+psycopg://… werden unterstützt")
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def account(self, name: str) -> AccountSettings:
        for a in self.accounts:
            if a.name == name:
                return a
        raise KeyError(name)

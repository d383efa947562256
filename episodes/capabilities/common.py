"""Shared pieces of the platform capability modules: the frozen options base model, option
types that read TOML and environment values the way the adapters do, and ``Capabilities``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_TRUE = ("1", "true", "yes", "ja", "on")
_FALSE = ("0", "false", "no", "nein", "off")


class Options(BaseModel):
    """Base of every platform's account options: frozen, unknown options refused.

    Every platform takes the deadlines of the waits (``workers.waits``), in minutes; unset: the
    platform's own (``PlatformSpec.*_deadline``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    processing_deadline_minutes: float | None = Field(
        None, gt=0, description="longest wait for the platform's processing before publishing")
    confirm_deadline_minutes: float | None = Field(
        None, gt=0, description="longest wait for the platform to show a published post")
    finish_deadline_minutes: float | None = Field(
        None, gt=0, description="longest wait for captions, thumbnail and playlist")
    authorize_url: str | None = Field(
        None, pattern=r"^https?://", description="the platform's consent page for connecting "
        "in the dashboard (default: the real one; set only for a test server)")


def _flag(value: Any) -> Any:
    """true/false as TOML gives them, or the words the adapters accept (``ja``, ``1`` ...)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("muss true oder false sein")
    return value


def _text_id(value: Any) -> Any:
    """An id may be written with or without quotes (the adapters call ``str()`` on it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _id(value: str) -> str:
    if not value.strip():
        raise ValueError("darf nicht leer sein")
    return value.strip()


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("muss eine Adresse mit http:// oder https:// sein")
    return value.rstrip("/")


Flag = Annotated[bool, BeforeValidator(_flag)]
Id = Annotated[str, BeforeValidator(_text_id), AfterValidator(_id)]
Url = Annotated[str, AfterValidator(_url)]


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a platform allows, as far as settings can contradict it (sources in brackets refer
    to shared/PLATFORM-APIS.md)."""

    platform: str
    label: str
    options: type[Options]
    #: the platform can hold an uploaded post and publish it at a given time by itself
    native_scheduling: bool
    #: how far ahead a native schedule time must lie at least (0: nothing documented)
    min_schedule_lead: timedelta = timedelta(0)
    #: how far ahead at most (None: nothing documented)
    max_schedule_lead: timedelta | None = None
    #: the rendition profile (config/media.toml) an account gets unless its settings name one
    default_profile: str = "landscape"
    source: str = ""
    #: options the dashboard's connect flow fills in (the page, the Instagram account): an
    #: account that is still to be connected may leave them out at start-up
    connect_fills: tuple[str, ...] = ()

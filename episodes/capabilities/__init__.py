"""Platform capabilities as data: each platform's account options (a frozen pydantic model:
what its adapter reads, typed, with the one set of defaults -- the adapter reads this model as
``Platform.opts``) and the facts settings can contradict (native scheduling, its minimum
lead). Pure: no HTTP, nothing but settings in and German problems out.

    options_model("youtube")            -> YouTubeOptions
    capabilities("mastodon")            -> Capabilities(native_scheduling=True, 5 minutes, ...)
    validate_account(account_settings)  -> ["Konto youtube-lup (YouTube), Option 'chunk_size':
                                            muss ein Vielfaches von 262144 sein"]
    validate_settings(settings)         -> every account, plus native_schedule_hours against
                                           each natively scheduling account's lead
    profile_for(account)                -> the rendition profile the account gets
    text_limits(account) / check_text(account, text) -> what the account's text may be, and
                                           its problems in German (``text.py``)

The ``wtg`` command runs ``validate_settings`` at start-up and stops with these messages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from config.loader import german_error
from config.settings import AccountSettings, Settings
from episodes.captions import PostText, TextLimits

from . import facebook, instagram, mastodon, tiktok, youtube
from .common import Capabilities, Options
from .text import limits_for, text_problems

#: between handing a post to the platform (``native_schedule_hours`` before the slot) and the
#: scheduling call lie the upload and the platform's processing; this much time is kept for
#: them on top of the lead the platform requires (``min_schedule_lead``)
SCHEDULE_SAFETY_MARGIN = timedelta(minutes=30)

_REGISTRY: dict[str, Capabilities] = {}


def _register(caps: Capabilities) -> None:
    if caps.platform in _REGISTRY:
        raise ValueError(f"platform {caps.platform!r} registered twice")
    _REGISTRY[caps.platform] = caps


for _module in (facebook, instagram, youtube, mastodon, tiktok):
    _register(_module.CAPABILITIES)


def capabilities(platform: str) -> Capabilities:
    """The platform's capability facts (KeyError for an unknown platform)."""
    return _REGISTRY[platform]


def profile_for(account: Any) -> str:
    """The rendition profile ``account`` gets: its own setting, else the platform's default."""
    return getattr(account, "profile", None) or _REGISTRY[account.platform].default_profile


def options_view(account: Any) -> Any:
    """The account's options as the typed model where they are valid; else the raw values as
    attributes (a text check must not fail on an option it does not read)."""
    try:
        return options_model(account.platform).model_validate(dict(account.options))
    except (KeyError, ValidationError):
        from types import SimpleNamespace

        return SimpleNamespace(**dict(account.options))


def text_limits(account: Any, *, instance_max: int | None = None) -> TextLimits:
    """What ``account``'s text is measured against (platform, account options, instance)."""
    return limits_for(account.platform, options_view(account), instance_max=instance_max)


def check_text(account: Any, text: PostText, *, limits: TextLimits | None = None) -> list[str]:
    """German problems of ``text`` for ``account`` (empty: fine). Pure."""
    return text_problems(account.platform, text, limits or text_limits(account),
                         options_view(account))


def options_model(platform: str) -> type[Options]:
    """The frozen options model of ``platform`` (KeyError for an unknown platform)."""
    return _REGISTRY[platform].options


def parse_options(account: AccountSettings) -> Options:
    """The account's options as the typed model; raises ``ValueError`` with the German
    problems (call ``validate_account`` first to list them instead)."""
    problems = validate_account(account)
    if problems:
        raise ValueError("\n".join(problems))
    return options_model(account.platform).model_validate(dict(account.options))


def validate_account(account: AccountSettings, *, allow_unconnected: bool = False) -> list[str]:
    """German problems with one account's options and scheduling switch (empty: fine).

    ``allow_unconnected`` (start-up): an option the dashboard's connect flow fills in
    (``Capabilities.connect_fills``) may be missing -- the account is simply not connected
    yet. Everywhere else a missing one is named as „noch nicht verbunden“."""
    caps = _REGISTRY.get(account.platform)
    if caps is None:
        return [f"Konto {account.name}: unbekannte Plattform {account.platform!r}."]
    where = f"Konto {account.name} ({caps.label})"
    out: list[str] = []
    try:
        options: Any = caps.options.model_validate(dict(account.options))
    except ValidationError as exc:
        options = None
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            if err["type"] == "missing" and field in caps.connect_fills:
                if not allow_unconnected:
                    out.append(f"{where} ist noch nicht verbunden: bitte im Dashboard unter "
                               f"„Konten“ verbinden (oder die Option '{field}' setzen).")
                continue
            if field:
                out.append(f"{where}, Option '{field}': {german_error(err)}.")
            else:
                out.append(f"{where}, Optionen: {german_error(err)}.")
    if options is not None and account.platform == "tiktok":
        problem = tiktok.chunk_problem(options, account.api_base)
        if problem:
            out.append(f"{where}, Option 'chunk_size': {problem}.")
    if account.native_scheduling and not caps.native_scheduling:
        out.append(
            f"{where}, Einstellung 'native_scheduling': {caps.label} kann Beiträge nicht selbst "
            "zu einem Termin veröffentlichen. Bitte native_scheduling = false setzen; wtg "
            "veröffentlicht dann selbst zum Termin."
        )
    return out


def validate_settings(settings: Settings, *, allow_unconnected: bool = False) -> list[str]:
    """``validate_account`` for every account, and ``native_schedule_hours`` against the lead
    each natively scheduling account needs (platform minimum or the option ``min_schedule_lead``,
    plus ``SCHEDULE_SAFETY_MARGIN``)."""
    out: list[str] = []
    for account in settings.accounts:
        problems = validate_account(account, allow_unconnected=allow_unconnected)
        out += problems
        if problems or not account.native_scheduling:
            continue
        caps = _REGISTRY[account.platform]
        filled = {k: "-" for k in caps.connect_fills if k not in account.options}
        options: Any = caps.options.model_validate({**account.options, **filled})
        own = getattr(options, "min_schedule_lead", None)
        lead = timedelta(seconds=float(own)) if own is not None else caps.min_schedule_lead
        need = lead + SCHEDULE_SAFETY_MARGIN
        have = timedelta(hours=settings.native_schedule_hours)
        if have < need:
            out.append(
                f"Einstellung 'native_schedule_hours' ({_hours(have)} Stunden) ist für Konto "
                f"{account.name} ({caps.label}) zu kurz: {caps.label} verlangt mindestens "
                f"{_minutes(lead)} Minuten Vorlauf, und Hochladen und Verarbeiten brauchen Zeit "
                f"({_minutes(SCHEDULE_SAFETY_MARGIN)} Minuten Reserve). Bitte mindestens "
                f"{_hours(need)} Stunden einstellen."
            )
        if caps.max_schedule_lead is not None and have > caps.max_schedule_lead:
            out.append(
                f"Einstellung 'native_schedule_hours' ({_hours(have)} Stunden) ist für Konto "
                f"{account.name} ({caps.label}) zu lang: {caps.label} plant höchstens "
                f"{caps.max_schedule_lead.days} Tage im Voraus ein."
            )
    return out


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:g}".replace(".", ",")


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.2f}".rstrip("0").rstrip(".").replace(".", ",")


__all__ = [
    "SCHEDULE_SAFETY_MARGIN", "Capabilities", "Options", "capabilities", "check_text",
    "options_model", "options_view", "parse_options", "profile_for", "text_limits",
    "validate_account", "validate_settings",
]

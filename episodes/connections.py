"""Accounts connected in the dashboard: what a connection learned, how it overlays the settings,
and when it lapses.

Accounts are declared in the settings file (name, platform, API base); the dashboard connects
them. A connection keeps the non-secret facts the platform told us (``AccountConnection``: the
page, the Instagram account, the channel, the Mastodon instance, the granted scopes and when the
tokens lapse); its tokens go to the secrets store (``config.credentials``). :func:`overlay`
puts the learned options over the account's settings, so every part of wtg that builds an
adapter sees the page the staffer chose. A reconnect only replaces the connection and its
tokens: posts, their remote facts and the history stay as they are.

When a connection lapses (:func:`lapse_of`): the earliest of the access token's end where no
refresh exists (Instagram's ~60-day user token) and the refresh token's end (TikTok; YouTube
with a consent screen in Testing: 7 days). Staff are warned from :func:`warn_from` on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import AccountSettings, Settings

from .models import AccountConnection, utcnow
from .store import audit

CONNECTED, DISCONNECTED = "connected", "disconnected"
#: warn this long before a connection lapses: a quarter of its lifetime, at least a day, at
#: most two weeks (Instagram 60 days: 14 days; YouTube in Testing, 7 days: 1 day 18 hours)
WARN_MAX = timedelta(days=14)
WARN_MIN = timedelta(days=1)
WARN_SHARE = 0.25


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What a connect flow learned; nothing secret."""

    remote_id: str
    remote_name: str
    scopes: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    api_base: str | None = None
    token_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Lapse:
    """When a connection stops working unless someone reconnects it."""

    at: datetime
    what_de: str  # "das Zugangs-Token", "das Refresh-Token"
    lifetime: timedelta

    @property
    def warn_from(self) -> datetime:
        lead = min(WARN_MAX, max(WARN_MIN, self.lifetime * WARN_SHARE))
        return self.at - lead


def get(s: Session, account: str) -> AccountConnection | None:
    return s.scalars(select(AccountConnection).where(AccountConnection.account == account)).first()


def by_account(s: Session) -> dict[str, AccountConnection]:
    return {c.account: c for c in s.scalars(select(AccountConnection))}


# --- the overlay ------------------------------------------------------------------------------
def overlay(acc: AccountSettings, conn: AccountConnection | None) -> AccountSettings:
    """The account's settings with what its live connection learned (options, instance)."""
    if conn is None or conn.status != CONNECTED:
        return acc
    update: dict[str, Any] = {"options": {**acc.options, **(conn.options or {})}}
    if conn.api_base:
        update["api_base"] = conn.api_base.rstrip("/")
    return acc.model_copy(update=update)


def effective(s: Session, acc: AccountSettings) -> AccountSettings:
    return overlay(acc, get(s, acc.name))


def with_connections(settings: Settings, s: Session) -> Settings:
    """``settings`` whose accounts carry their connections (the same object if none)."""
    conns = by_account(s)
    if not any(c.status == CONNECTED for c in conns.values()):
        return settings
    accounts = tuple(overlay(a, conns.get(a.name)) for a in settings.accounts)
    return settings.model_copy(update={"accounts": accounts})


# --- recording --------------------------------------------------------------------------------
def record_connected(s: Session, *, account: str, platform: str, facts: Facts, actor: str,
                     now: datetime | None = None) -> tuple[AccountConnection, bool]:
    """Store a (re)connection's facts; (the row, whether it was a reconnect). Audited without
    any secret. Posts and their history are not touched."""
    now = now or utcnow()
    row = get(s, account)
    reconnect = row is not None
    if row is None:
        row = AccountConnection(account=account, platform=platform)
        s.add(row)
    row.platform = platform
    row.status = CONNECTED
    row.api_base = facts.api_base.rstrip("/") if facts.api_base else None
    row.options = {k: str(v) for k, v in facts.options.items()}
    row.remote_id = facts.remote_id[:200]
    row.remote_name = facts.remote_name[:300]
    row.scopes = sorted(facts.scopes)
    row.connected_by = actor[:100]
    row.connected_at = now
    row.token_expires_at = facts.token_expires_at
    row.refresh_expires_at = facts.refresh_expires_at
    row.checked_at, row.check_ok, row.check_message = now, True, ""
    row.warned = {}
    row.details = dict(facts.details)
    s.flush()
    audit(s, actor, "account.reconnect" if reconnect else "account.connect",
          f"account:{account}", platform=platform, remote=row.remote_name,
          remote_id=row.remote_id, scopes=row.scopes,
          lapses_at=lapse.at.isoformat() if (lapse := lapse_of(row)) else None)
    return row, reconnect


def record_disconnected(s: Session, *, account: str, actor: str) -> bool:
    row = get(s, account)
    if row is None or row.status != CONNECTED:
        return False
    row.status = DISCONNECTED
    row.check_ok, row.checked_at = None, utcnow()
    audit(s, actor, "account.disconnect", f"account:{account}", platform=row.platform,
          remote=row.remote_name)
    return True


def record_check(s: Session, *, account: str, ok: bool, message: str,
                 now: datetime | None = None) -> None:
    row = get(s, account)
    if row is not None:
        row.checked_at, row.check_ok, row.check_message = now or utcnow(), ok, message[:2000]


def record_learned(s: Session, *, account: str, options: Mapping[str, str]) -> None:
    """Options the platform reported about itself (a Mastodon instance's ``max_characters``),
    kept with a live connection so every text check uses them (``overlay``). An account set up
    only in the settings file has no connection row: there the setting itself must say it."""
    row = get(s, account)
    if row is not None and row.status == CONNECTED:
        row.options = {**(row.options or {}), **{k: str(v) for k, v in options.items()}}


def record_refused(s: Session, *, account: str, platform: str, actor: str,
                   missing: list[str]) -> None:
    audit(s, actor, "account.connect_refused", f"account:{account}", platform=platform,
          missing=missing)


# --- lapsing ----------------------------------------------------------------------------------
def lapse_of(conn: AccountConnection) -> Lapse | None:
    """The earliest moment the connection stops working by itself, or None (no end known)."""
    if conn.status != CONNECTED:
        return None
    found = []
    if conn.token_expires_at is not None:
        found.append((conn.token_expires_at, "das Zugangs-Token"))
    if conn.refresh_expires_at is not None:
        found.append((conn.refresh_expires_at, "das Refresh-Token"))
    if not found:
        return None
    at, what = min(found)
    return Lapse(at=at, what_de=what, lifetime=max(timedelta(0), at - conn.connected_at))


def level(conn: AccountConnection, now: datetime | None = None) -> str:
    """"ok", "soon" (inside the warning time) or "lapsed"."""
    lapse = lapse_of(conn)
    now = now or utcnow()
    if lapse is None:
        return "ok"
    if lapse.at <= now:
        return "lapsed"
    return "soon" if lapse.warn_from <= now else "ok"


def warning_de(label: str, conn: AccountConnection, now: datetime | None = None) -> str:
    """The German sentence staff read on the accounts page and in the notification."""
    lapse = lapse_of(conn)
    now = now or utcnow()
    if lapse is None:
        return ""
    when = _local(lapse.at)
    if lapse.at <= now:
        return (f"Die Verbindung von {label} ist am {when} abgelaufen ({lapse.what_de}). "
                "Bitte unter „Konten“ auf „Neu verbinden“ klicken; wartende Beiträge danach "
                "„Erneut versuchen“.")
    days = (lapse.at - now).total_seconds() / 86400
    span = f"in {days:.0f} Tagen" if days >= 1.5 else (
        "morgen" if days >= 0.75 else f"in {max(1, round(days * 24))} Stunden")
    return (f"Die Verbindung von {label} läuft {span} ab ({when}, {lapse.what_de}). Bitte "
            "vorher unter „Konten“ auf „Neu verbinden“ klicken, sonst gehen keine Beiträge "
            "mehr hinaus.")


def _local(value: datetime) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d.%m.%Y %H:%M")


__all__ = [
    "CONNECTED", "DISCONNECTED", "Facts", "Lapse", "by_account", "effective", "get", "lapse_of",
    "level", "overlay", "record_check", "record_connected", "record_disconnected",
    "record_refused", "warning_de", "with_connections",
]

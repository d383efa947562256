"""The accounts' health, looked at every hour (``wtg.accounts.health``, sent by the scheduler):

* a connection that lapses soon (``episodes.connections.lapse_of``: Instagram's user token,
  TikTok's refresh token, YouTube in Testing) gets one German warning notification when it
  enters its warning time and one more when it has lapsed;
* a connected account not checked for a day gets the cheap authenticated call of pre-flight
  (``check_account_credentials``); a connection that stops working is told to staff at once
  (the channel never goes quiet unnoticed);
* tokens held for a choice (page, channel) that nobody made are deleted after an hour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from config.loader import credentials_for
from episodes import connections, store
from episodes.capabilities import capabilities
from episodes.models import utcnow

from ..publishing import check_account_credentials
from ..runtime import Runtime

log = logging.getLogger("wtg.connect.health")
CHECK_EVERY = timedelta(hours=24)
STAGED_SECONDS = 3600.0  # a flow's choice is open ten minutes; its tokens go after an hour


@dataclass
class HealthReport:
    warned: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)


def label_of(name: str, platform: str, display: str = "") -> str:
    try:
        plat = capabilities(platform).label
    except KeyError:
        plat = platform
    return f"{display or name} ({plat})"


def sweep(rt: Runtime, *, now: datetime | None = None, network: bool = True) -> HealthReport:
    """Warn about lapsing connections (once per level) and re-check stale ones."""
    now = now or utcnow()
    report = HealthReport()
    stale: list[tuple[str, str, bool | None]] = []
    with rt.db.session() as s:
        conns = connections.by_account(s)
        for acc in rt.settings.accounts:
            conn = conns.get(acc.name)
            if not acc.enabled or conn is None or conn.status != connections.CONNECTED:
                continue
            label = label_of(acc.name, acc.platform, acc.display_name)
            lapse = connections.lapse_of(conn)
            level = connections.level(conn, now)
            if lapse is not None and level != "ok":
                key = lapse.at.isoformat()
                done = (conn.warned or {}).get(key)
                if done != level and done != "lapsed":
                    report.notifications.append(store.notify(
                        s, "error" if level == "lapsed" else "warning",
                        f"Verbindung {'abgelaufen' if level == 'lapsed' else 'läuft ab'}: "
                        f"{label}", connections.warning_de(label, conn, now)))
                    conn.warned = {**(conn.warned or {}), key: level}
                    store.audit(s, "wtg", "account.expiry_warning", f"account:{acc.name}",
                                level=level, lapses_at=key)
                    report.warned.append(acc.name)
            if conn.checked_at is None or conn.checked_at < now - CHECK_EVERY:
                stale.append((acc.name, label, conn.check_ok))
    for acc in rt.settings.accounts:  # tokens of a flow abandoned at the choice
        credentials_for(acc.name, rt.settings).discard_staged(older_than=STAGED_SECONDS)
    if not network:
        return report
    for name, label, was_ok in stale:
        result = check_account_credentials(rt, name)
        report.checked.append(name)
        if result["ok"] or result.get("transient"):
            continue
        report.failing.append(name)
        if was_ok is not False:  # newly failing: tell staff once
            with rt.db.session() as s:
                report.notifications.append(store.notify(
                    s, "error", f"Verbindung funktioniert nicht mehr: {label}",
                    f"{result['message_de']} Bitte unter „Konten“ auf „Neu verbinden“ klicken."))
    return report


__all__ = ["CHECK_EVERY", "HealthReport", "label_of", "sweep"]

"""Delivers staff notifications from the outbox (``notifications`` table) through apprise
(e-mail, Matrix, webhooks ... any apprise URL in ``WTG_NOTIFY_URLS``). Without URLs a
notification stays visible in ``wtg status`` and the dashboard only."""

from __future__ import annotations

import logging
from typing import Any

from episodes.models import Notification, utcnow

from .runtime import Runtime

log = logging.getLogger("wtg.notify")


def deliver(rt: Runtime, notification_id: int) -> dict[str, Any]:
    with rt.db.session() as s:
        note = s.get(Notification, notification_id)
        if note is None or note.sent_at is not None:
            return {"notification": notification_id, "sent": False}
        title, body, level = note.title, note.body, note.level
    urls = [u.reveal() for u in rt.settings.notify_urls]
    if not urls:
        return {"notification": notification_id, "sent": False, "reason": "no notify_urls"}
    import apprise

    ap = apprise.Apprise()
    for url in urls:
        ap.add(url)
    kind = {"error": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING}.get(
        level, apprise.NotifyType.INFO)
    ok = bool(ap.notify(title=f"wtg: {title}", body=body or title, notify_type=kind))
    if ok:
        with rt.db.session() as s:
            s.query(Notification).filter(Notification.id == notification_id).update(
                {"sent_at": utcnow()})
    else:
        log.warning("notification %s could not be delivered", notification_id)
    return {"notification": notification_id, "sent": ok}

"""Every task's name and queue, in one place (no Celery import: the scheduler, the dashboard and
the CLI send tasks by name without loading the workers' code).

    MEDIA_PREPARE(episode_id)        probe -> transcode -> verify          queue ``media``
    PUBLISH_RUN(post_id)             drive one post (re-sent with a countdown while waiting)
    PUBLISH_WITHDRAW(post_id)        delete a withdrawn post on its platform, exactly once
    PUBLISH_CHECK_ACCOUNT(account)   a cheap authenticated call (pre-flight)
    PUBLISH_PREFLIGHT(episode_id, kind)  the pre-flight checks ("queue", "48h", "2h")
    NOTIFY_SEND(notification_id)     deliver one staff notification (apprise)
    ACCOUNTS_HEALTH()                token expiry warnings and a daily connection check

The queue of a task is chosen by :data:`ROUTES` (``task_routes``), never by the sender.
"""

from __future__ import annotations

MEDIA_PREPARE = "wtg.media.prepare"
PUBLISH_RUN = "wtg.publish.run"
PUBLISH_WITHDRAW = "wtg.publish.withdraw"
PUBLISH_CHECK_ACCOUNT = "wtg.publish.check_account"
PUBLISH_PREFLIGHT = "wtg.publish.preflight"
NOTIFY_SEND = "wtg.notify.send"
ACCOUNTS_HEALTH = "wtg.accounts.health"

MEDIA_QUEUE = "media"  # CPU-bound: one task per core
PUBLISH_QUEUE = "publish"  # I/O-bound: many at once
QUEUES = (MEDIA_QUEUE, PUBLISH_QUEUE)
ROUTES = {
    "wtg.media.*": {"queue": MEDIA_QUEUE},
    "wtg.publish.*": {"queue": PUBLISH_QUEUE},
    "wtg.notify.*": {"queue": PUBLISH_QUEUE},
    "wtg.accounts.*": {"queue": PUBLISH_QUEUE},
}

__all__ = [
    "ACCOUNTS_HEALTH", "MEDIA_PREPARE", "MEDIA_QUEUE", "NOTIFY_SEND", "PUBLISH_CHECK_ACCOUNT",
    "PUBLISH_PREFLIGHT", "PUBLISH_QUEUE", "PUBLISH_RUN", "PUBLISH_WITHDRAW", "QUEUES", "ROUTES",
]

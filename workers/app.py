"""The one Celery app: queue ``media`` (CPU-bound) and queue ``publish`` (I/O-bound).

Delivery: JSON only; ``acks_late`` with ``reject_on_worker_lost`` so a task whose worker dies is
delivered again; the Redis visibility timeout above the longest task's hard time limit (otherwise
Redis redelivers a long task while it still runs). Far-future timing never lives in Celery ETAs:
the scheduler keeps slots in the database and enqueues when they are due.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from config import Settings

QUEUES = ("media", "publish")
ROUTES = {
    "wtg.media.*": {"queue": "media"},
    "wtg.publish.*": {"queue": "publish"},
    "wtg.notify.*": {"queue": "publish"},
}


def make_celery(settings: Settings, broker_url: str) -> Celery:
    app = Celery("wtg", broker=broker_url, backend=broker_url, include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=max(5, settings.task_time_limit - 30),
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        task_routes=ROUTES,
        task_default_queue="publish",
        task_track_started=True,
        result_expires=7 * 24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        timezone=settings.timezone,
        enable_utc=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    return app


@worker_process_init.connect
def _fresh_connections(**_kw: object) -> None:
    from .runtime import after_fork

    after_fork()

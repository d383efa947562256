"""The one Celery app: queue ``media`` (CPU-bound) and queue ``publish`` (I/O-bound).

Delivery: JSON only; ``acks_late`` with ``reject_on_worker_lost`` so a task whose worker dies is
delivered again; the Redis visibility timeout above the longest task's hard time limit (otherwise
Redis redelivers a long task while it still runs). Far-future timing never lives in Celery ETAs:
the scheduler keeps slots in the database and enqueues when they are due.

Broker restarts: the worker's consumer is :class:`ReconnectingConsumer` (``worker_consumer``). It
reconnects every ``reconnect_interval`` seconds (at most a quarter of ``sweep_seconds``, at most
5 s; Celery's own backoff grows to 30 s), and it survives a kombu bug that otherwise ends the
worker on a broker restart (see :meth:`ReconnectingConsumer.on_connection_error_after_connected`).
Redis connections time out and are health-checked, so a broker that vanishes without closing
the TCP connection is noticed too. Messages the worker held when the broker went away stay in
Redis' ``unacked`` hash until the visibility timeout; the posts behind them are re-sent sooner by
the scheduler's sweep (the database, not the broker, is the truth).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from celery.worker.consumer import Consumer

from config import Settings

log = logging.getLogger("wtg.worker")

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
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            **REDIS_SOCKETS,
        },
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        redis_socket_connect_timeout=REDIS_SOCKETS["socket_connect_timeout"],
        redis_socket_timeout=REDIS_SOCKETS["socket_timeout"],
        redis_socket_keepalive=True,
        redis_backend_health_check_interval=REDIS_SOCKETS["health_check_interval"],
        task_routes=ROUTES,
        task_default_queue="publish",
        task_track_started=True,
        result_expires=7 * 24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_connection_retry=True,
        worker_consumer="workers.app:ReconnectingConsumer",
        wtg_reconnect_interval=reconnect_interval(settings.sweep_seconds),
        timezone=settings.timezone,
        enable_utc=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    return app


#: Redis connections of broker and result backend: a connect attempt gives up after 5 s, a
#: command after 15 s (BRPOP itself waits 1 s); idle connections are checked every 10 s.
REDIS_SOCKETS: dict[str, Any] = {
    "socket_connect_timeout": 5.0,
    "socket_timeout": 15.0,
    "socket_keepalive": True,
    "health_check_interval": 10,
}


def reconnect_interval(sweep_seconds: float) -> float:
    """Seconds between the consumer's attempts to reach a lost broker: a quarter of the sweep
    interval, between 0.25 and 5 s, so the worker consumes again well within one sweep."""
    return max(0.25, min(5.0, sweep_seconds / 4))


class ReconnectingConsumer(Consumer):  # type: ignore[misc]
    """Celery's consumer with a steady reconnect cadence and one kombu bug contained."""

    def ensure_connected(self, conn: Any) -> Any:
        every = float(self.app.conf.get("wtg_reconnect_interval") or 1.0)
        conn.ensure_connection = functools.partial(
            conn.ensure_connection, interval_start=0, interval_step=every, interval_max=every)
        return super().ensure_connected(conn)

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        """Celery closes the lost connection here. With kombu 5.7.0's Redis transport that
        close can raise ``AttributeError: 'NoneType' object has no attribute 'hostname'`` and
        end the worker ("Unrecoverable error"): ``collect()`` first detaches the transport
        (``transport.client = None``) after the channel's own close failed half-way (its pending
        BRPOP read raised ``ConnectionError``); the second close then tries to restore the
        unacknowledged messages (a held countdown task is enough) through a new connection pool,
        whose parameters come from the detached ``transport.client``
        (``Channel._connparams``). Same failure family as celery/kombu#582 (channel close after
        the transport was closed). The broker is gone at this point, so nothing could be
        restored anyway: the messages stay in Redis' ``unacked`` hash (restored after the
        visibility timeout) and the sweep re-sends their posts. So the AttributeError of this
        one close is logged and ignored; everything else stays Celery's."""
        conn = self.connection
        if conn is not None:
            conn.close = conn.release = _close_ignoring_detached_transport(conn.close)
        super().on_connection_error_after_connected(exc)


def _close_ignoring_detached_transport(close: Any) -> Any:
    @functools.wraps(close)
    def quietly() -> None:
        try:
            close()
        except AttributeError as exc:
            log.warning("Broker-Verbindung: Aufräumen nach dem Verbindungsverlust übersprungen "
                        "(%s); nicht bestätigte Aufgaben holt der Abgleich zurück.", exc)

    return quietly


@worker_process_init.connect
def _fresh_connections(**_kw: object) -> None:
    from .runtime import after_fork

    after_fork()

"""The one Celery app: queue ``media`` (CPU-bound) and queue ``publish`` (I/O-bound).

Delivery: JSON only; ``acks_late`` with ``reject_on_worker_lost`` so a task whose worker dies is
delivered again; the Redis visibility timeout above the longest task's hard time limit (otherwise
Redis redelivers a long task while it still runs). Far-future timing never lives in Celery ETAs:
the scheduler keeps slots in the database and enqueues when they are due.

Broker restarts: the worker's consumer is :class:`ReconnectingConsumer` (``worker_consumer``). It
reconnects every ``reconnect_interval`` seconds (a quarter of ``sweep_seconds``, at most 5 s;
Celery's own backoff grows to 30 s). The transport is :class:`RedisTransport`, kombu's with one
bug contained that otherwise ends the worker on a broker restart (see ``_Channel._connparams``).
Redis connections time out and are health-checked, so a broker that vanishes without closing
the TCP connection is noticed too. Messages the worker held when the broker went away stay in
Redis' ``unacked`` hash until the visibility timeout; the posts behind them are re-sent sooner by
the scheduler's sweep (the database, not the broker, is the truth).
"""

from __future__ import annotations

import functools
from typing import Any

import kombu.transport.redis
import redis.exceptions
from celery import Celery
from celery.signals import worker_process_init
from celery.worker.consumer import Consumer

from config import Settings

from .task_names import PUBLISH_QUEUE, QUEUES, ROUTES

__all__ = ["QUEUES", "ROUTES", "make_celery"]


def make_celery(settings: Settings, broker_url: str) -> Celery:
    app = Celery("wtg", broker=broker_url, backend=broker_url, include=["workers.tasks"])
    if broker_url.startswith("redis://"):  # rediss:// keeps kombu's own (its TLS defaults)
        app.conf.broker_transport = "workers.app:RedisTransport"
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
        task_default_queue=PUBLISH_QUEUE,
        task_track_started=True,
        result_expires=7 * 24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_connection_retry=True,
        worker_consumer="workers.app:ReconnectingConsumer",
        # a running upload goes on through a broker restart (its lease and state guard it)
        worker_cancel_long_running_tasks_on_connection_loss=False,
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
    """Celery's consumer, reconnecting to a lost broker at a steady cadence
    (``wtg_reconnect_interval``) instead of Celery's backoff of 2, 4, 6 … 30 s."""

    def ensure_connected(self, conn: Any) -> Any:
        every = float(self.app.conf.get("wtg_reconnect_interval") or 1.0)
        conn.ensure_connection = functools.partial(
            conn.ensure_connection, interval_start=0, interval_step=every, interval_max=every)
        return super().ensure_connected(conn)


class _Channel(kombu.transport.redis.Channel):  # type: ignore[misc]
    def _connparams(self, asynchronous: bool = False) -> Any:
        """A channel of a connection that is already gone reports that as a connection error.

        kombu 5.7.0 (celery/kombu#582 is the same failure, reported for 3.0): when the broker
        goes away, the worker's consumer closes the lost connection twice (``collect()``, then
        ``close()``). If the first channel close fails half-way (its pending BRPOP read raises
        ``ConnectionError``), ``collect()`` still detaches the transport
        (``transport.client = None``). Any later use of that channel that needs a fresh Redis
        connection pool reads ``self.connection.client.hostname`` here and raises
        ``AttributeError``, which Celery does not expect and which ends the worker
        ("Unrecoverable error"): the second close restoring unacknowledged messages (one held
        countdown task is enough), and the late ack of a task that was running during the
        restart. As a ``ConnectionError`` both are handled as kombu intends: the close is
        ignored, the ack is logged as failed. The message stays in Redis' ``unacked`` hash
        (restored after the visibility timeout) and the sweep re-sends its post well before."""
        transport = self.connection
        if transport is None or transport.client is None:
            raise redis.exceptions.ConnectionError(
                "broker channel belongs to a connection that was lost and closed")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu.transport.redis.Transport):  # type: ignore[misc]
    """kombu's Redis transport with :class:`_Channel` (``broker_transport`` for redis:// URLs)."""

    Channel = _Channel


@worker_process_init.connect
def _fresh_connections(**_kw: object) -> None:
    from .runtime import after_fork

    after_fork()

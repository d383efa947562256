"""``/healthz`` (database and broker reachable; anonymous, says nothing else) and ``/metrics``
(Prometheus text format).

``/metrics`` needs an API token (``Authorization: Bearer <token>``, any role): the scraper gets
its own viewer user (``wtg user add prometheus --role viewer`` + ``wtg user token prometheus``)
and Prometheus reads it with ``authorization: {credentials_file: ...}``. We do not trust
"localhost" instead, because behind a reverse proxy on the same host every caller is localhost.

Metrics are computed at scrape time from the database and Redis, in a registry of this app (not
the process-global one):

    wtg_posts{platform,state}                  gauge: posts by platform and state
    wtg_publish_delay_seconds{platform}        histogram: slot -> published (on the scheduler's
                                               clock: virtual seconds with compressed time)
    wtg_publish_step_seconds{step}             histogram: duration of worker steps (attempts)
    wtg_queue_depth{queue}                     gauge: waiting Celery messages (media, publish)
    wtg_last_published_timestamp_seconds       gauge: when the last post went out (Unix time)
    wtg_episode_media_progress_percent{...}    gauge: transcodes in progress
    wtg_up{component}                          gauge: database / broker reachable
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from episodes import store
from episodes.slots import clock_anchor
from workers.task_names import QUEUES

from .auth import Staff, bearer_user

log = logging.getLogger("wtg.dashboard")
router = APIRouter(include_in_schema=False)

DELAY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 24 * 3600)
STEP_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800)


def histogram(name: str, doc: str, label: str, samples: Iterable[tuple[str, float]],
              buckets: Sequence[float]) -> HistogramMetricFamily:
    """A Prometheus histogram (cumulative buckets) from (label value, observation) pairs."""
    family = HistogramMetricFamily(name, doc, labels=[label])
    grouped: dict[str, list[float]] = defaultdict(list)
    for key, value in samples:
        grouped[key].append(value)
    for key, values in sorted(grouped.items()):
        counts = [0] * (len(buckets) + 1)
        for v in values:
            counts[bisect_left(buckets, v)] += 1
        cumulative, running = [], 0
        for bound, n in zip([*map(str, buckets), "+Inf"], counts, strict=True):
            running += n
            cumulative.append((bound if bound == "+Inf" else str(float(bound)), running))
        family.add_metric([key], cumulative, sum(values))
    return family


def to_virtual(settings: Any, s: Any) -> Callable[[datetime], datetime] | None:
    """Real instants -> the scheduler's (virtual) clock, or None when time is not compressed.
    Reads the anchor the scheduler recorded (``scheduler.clock``); never starts a clock."""
    scale = float(settings.time_scale)
    if settings.clock_start is None and scale == 1.0:
        return None
    start = settings.clock_start
    if start is not None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=settings.tz)
        start = start.astimezone(UTC)
    virtual, real = clock_anchor(s, scale=scale, virtual_start=start, real_now=datetime.now(UTC),
                                 create=False)
    return lambda t: virtual + (t - real) * scale


def broker_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)


class WtgCollector(Collector):
    def __init__(self, deps: Any) -> None:
        self.deps = deps

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("wtg_up", "1 if the component answers", labels=["component"])
        try:
            with self.deps.db.session() as s:
                counts = store.post_counts(s)
                delays = store.publish_delays(s, to_virtual(self.deps.settings, s))
                steps = store.attempt_durations(s)
                last = store.last_published_at(s)
                busy = [(e.id, e.media_status, e.media_progress)
                        for e in store.media_in_progress(s)]
            up.add_metric(["database"], 1)
        except Exception:  # scrape must still answer; the gauge says what is down
            log.exception("metrics: database query failed")
            up.add_metric(["database"], 0)
            counts, delays, steps, last, busy = [], [], [], None, []
        posts = GaugeMetricFamily("wtg_posts", "Posts by platform and state",
                                  labels=["platform", "state"])
        for platform, state, n in counts:
            posts.add_metric([platform, state], n)
        yield posts
        yield histogram("wtg_publish_delay_seconds", "From the slot to publication",
                        "platform", delays, DELAY_BUCKETS)
        yield histogram("wtg_publish_step_seconds", "Duration of publish worker steps",
                        "step", steps, STEP_BUCKETS)
        media = GaugeMetricFamily("wtg_episode_media_progress_percent",
                                  "Media preparation in progress", labels=["episode", "status"])
        for episode_id, status, progress in busy:
            media.add_metric([str(episode_id), status], progress or 0.0)
        yield media
        lastg = GaugeMetricFamily("wtg_last_published_timestamp_seconds",
                                  "Unix time of the last successful post (0: none yet)")
        lastg.add_metric([], last.timestamp() if last else 0.0)
        yield lastg
        depth = GaugeMetricFamily("wtg_queue_depth", "Messages waiting in a Celery queue",
                                  labels=["queue"])
        try:
            client = broker_client(self.deps.broker_url)
            for queue in QUEUES:
                depth.add_metric([queue], client.llen(queue))
            client.close()
            up.add_metric(["broker"], 1)
        except redis.RedisError:
            up.add_metric(["broker"], 0)
        yield depth
        yield up


def registry_for(deps: Any) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WtgCollector(deps))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, staff: Staff = Depends(bearer_user)) -> Response:
    state = request.app.state
    if getattr(state, "metrics_registry", None) is None:
        state.metrics_registry = registry_for(state.wtg)
    return Response(generate_latest(state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    deps = request.app.state.wtg
    checks = {"database": False, "broker": False}
    try:
        with deps.db.session() as s:
            checks["database"] = store.ping(s)
    except Exception:
        log.exception("healthz: database not reachable")
    try:
        client = broker_client(deps.broker_url)
        checks["broker"] = bool(client.ping())
        client.close()
    except redis.RedisError:
        log.warning("healthz: broker not reachable")
    ok = all(checks.values())
    return JSONResponse({"ok": ok, **{k: "ok" if v else "down" for k, v in checks.items()}},
                        status_code=200 if ok else 503)

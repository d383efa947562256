"""Which APScheduler jobs should exist, from a snapshot of the waiting episodes. Pure.

Job ids are stable (``slot:<series>:<UTC instant>``, ``preflight:<episode>:<kind>``,
``ahead:<series>:<UTC instant>``), so syncing the job store with the database is a set
difference: add what is missing, move what changed, remove what is no longer wanted. Times are
virtual (see ``scheduler.clock``); jobs whose time has passed are not planned (the catch-up in
the sweep handles passed slots; a passed pre-flight is not worth running late).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, kw_only=True)
class WaitingEpisode:
    """What the plan needs to know about one episode still waiting for its slot."""

    series_id: int
    episode_id: int
    number: int
    slot_at: datetime
    native: bool = False  # a waiting post's account schedules natively


@dataclass(frozen=True, kw_only=True)
class PlannedJob:
    id: str
    kind: str  # slot | preflight | ahead
    at: datetime  # virtual instant
    args: tuple[int | str, ...]


def preflight_kind(hours: float) -> str:
    return f"{hours:g}h"


def slot_key(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%S%z")


def plan_jobs(
    waiting: Iterable[WaitingEpisode],
    *,
    now: datetime,
    preflight_hours: Sequence[float],
    native_hours: float,
) -> dict[str, PlannedJob]:
    """Job id -> planned job, for every future event of the waiting episodes."""
    jobs: dict[str, PlannedJob] = {}

    def add(job: PlannedJob) -> None:
        if job.at > now:
            jobs.setdefault(job.id, job)

    for ep in waiting:
        key = slot_key(ep.slot_at)
        iso = ep.slot_at.isoformat()
        add(PlannedJob(id=f"slot:{ep.series_id}:{key}", kind="slot", at=ep.slot_at,
                       args=(ep.series_id, iso)))
        for hours in preflight_hours:
            kind = preflight_kind(hours)
            add(PlannedJob(id=f"preflight:{ep.episode_id}:{kind}", kind="preflight",
                           at=ep.slot_at - timedelta(hours=hours), args=(ep.episode_id, kind)))
        if ep.native:
            add(PlannedJob(id=f"ahead:{ep.series_id}:{key}", kind="ahead",
                           at=ep.slot_at - timedelta(hours=native_hours),
                           args=(ep.series_id, iso)))
    return jobs

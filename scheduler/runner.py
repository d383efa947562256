"""``wtg scheduler``: the one active scheduler process.

Leadership: every instance tries to take the named lease ``scheduler`` in the database
(``leader_lease_seconds``, renewed every third of it). The holder runs an APScheduler 3
``BackgroundScheduler`` (Europe/Berlin, ``coalesce``, ``max_instances=1``, an explicit
``misfire_grace_time``) whose jobs live in the project's database (``SQLAlchemyJobStore`` on the
same engine); the others wait. When the leader dies (even SIGKILL), its lease runs out and a
waiting instance takes over within about ``1.3 x leader_lease_seconds``. A leader that cannot
renew its lease stops its scheduler before the lease can have run out, and every job checks
leadership before it acts; ``SlotRun`` and the post state machine make a double firing harmless
anyway.

On becoming leader: pick up the clock (virtual in the demo), handle slots that passed while no
scheduler ran (``jobs.catch_up``: within the grace window they go out now, older ones become
``missed``), sync the job store with the database (``plan.plan_jobs``), then start the jobs and
the sweep. The sweep re-syncs every ``sweep_seconds``, so season loads and ``wtg reschedule``
from other processes are picked up.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config import Settings
from episodes import store
from episodes.db import Database
from episodes.lifecycle import DUE_FROM
from episodes.slots import release_named_lease, upcoming
from workers.task_names import ACCOUNTS_HEALTH

from .clock import Clock, clock_for
from .jobs import Deps, Sender, SlotResult, Sweeper, fire_ahead, fire_preflight, fire_slot
from .plan import WaitingEpisode, plan_jobs

log = logging.getLogger("wtg.scheduler")
LEASE_NAME = "scheduler"
JOB_TABLE = "apscheduler_jobs"
_DUE = {str(x) for x in DUE_FROM}
_active: Runner | None = None


# --- job entry points (referenced by name in the persistent job store) ----------------------
def slot_job(series_id: int, slot_iso: str) -> None:
    runner = _leader()
    if runner:
        runner.slot(series_id, datetime.fromisoformat(slot_iso))


def preflight_job(episode_id: int, kind: str) -> None:
    runner = _leader()
    if runner:
        fire_preflight(runner.deps, episode_id, kind)


def ahead_job(series_id: int, slot_iso: str) -> None:
    runner = _leader()
    if runner:
        with runner.lock:
            fire_ahead(runner.deps, series_id, datetime.fromisoformat(slot_iso))


def sweep_job() -> None:
    runner = _leader()
    if runner:
        runner.sweep()


def accounts_job() -> None:
    """Hourly: the workers warn before account connections lapse (``wtg.accounts.health``)."""
    runner = _leader()
    if runner:
        runner.sender.send_task(ACCOUNTS_HEALTH, args=[])


_FUNCS = {"slot": slot_job, "preflight": preflight_job, "ahead": ahead_job}


def _leader() -> Runner | None:
    runner = _active
    if runner is None or not runner.still_leader():
        log.warning("job skipped: this scheduler is not the leader")
        return None
    return runner


class Runner:
    """One scheduler instance: standby until it holds the lease, then the active scheduler."""

    def __init__(self, settings: Settings, db: Database, sender: Sender, *,
                 owner: str | None = None, clock: Clock | None = None) -> None:
        self.settings = settings
        self.db = db
        self.sender = sender
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._fixed_clock = clock
        self.lock = threading.Lock()  # one slot decision at a time in this process
        self.scheduler: BackgroundScheduler | None = None
        self.leader = False
        self._renewed = float("-inf")
        self.deps: Deps
        self.sweeper: Sweeper

    # --- leadership -------------------------------------------------------------------------
    @property
    def ttl(self) -> float:
        return self.settings.leader_lease_seconds

    def still_leader(self) -> bool:
        """True while our last renewal is recent enough that no one else can hold the lease."""
        return self.leader and time.monotonic() - self._renewed < self.ttl * 0.8

    def _renew(self) -> bool:
        started = time.monotonic()
        try:
            with self.db.session() as s:
                ok = store.take_named_lease(s, LEASE_NAME, self.owner, self.ttl)
        except Exception:
            log.exception("could not renew the scheduler lease")
            return self.still_leader()  # undecided: keep going until our lease could expire
        if ok:
            self._renewed = started
        return ok

    def run_forever(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: renew or wait for the lease, lead while holding it."""
        global _active
        _active = self
        log.info("scheduler %s started (standby until it holds the lease)", self.owner)
        try:
            while not stop.is_set():
                if self._renew():
                    if not self.leader:
                        try:
                            self.activate()
                        except Exception:
                            log.exception("could not start the scheduler; trying again")
                            self.deactivate(release=True)
                elif self.leader:
                    log.warning("scheduler %s lost the lease: stepping down", self.owner)
                    self.deactivate()
                stop.wait(self.ttl / 3)
        finally:
            self.deactivate(release=True)
            _active = None

    # --- the active scheduler ---------------------------------------------------------------
    def activate(self) -> None:
        clock = self._fixed_clock or clock_for(self.settings, self.db)
        self.deps = Deps(db=self.db, sender=self.sender, clock=clock, settings=self.settings)
        self.sweeper = Sweeper(self.deps)
        sched = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.db.engine, tablename=JOB_TABLE),
                       "volatile": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": self.misfire_grace_seconds()},
            timezone=ZoneInfo(self.settings.timezone),
        )
        sched.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        sched.start(paused=True)
        self.scheduler = sched
        self.leader = True
        log.info("scheduler %s is the leader", self.owner)
        with self.db.session() as s:
            store.audit(s, "scheduler", "scheduler.leader", "", owner=self.owner)
        with self.lock:
            self.sweeper(idle_seconds=0)  # catch-up, and posts the last leader left unsent
        self.sync_jobs()
        sched.add_job(sweep_job, IntervalTrigger(seconds=self.settings.sweep_seconds),
                      id="sweep", jobstore="volatile", replace_existing=True)
        sched.add_job(accounts_job, IntervalTrigger(hours=1), id="accounts",
                      jobstore="volatile", replace_existing=True)
        sched.resume()

    def deactivate(self, *, release: bool = False) -> None:
        sched, self.scheduler = self.scheduler, None
        was_leader, self.leader = self.leader, False
        if sched is not None:
            sched.shutdown(wait=False)
        if release and was_leader:
            try:
                with self.db.session() as s:
                    release_named_lease(s, LEASE_NAME, self.owner)
            except Exception:
                log.exception("could not release the scheduler lease")

    def misfire_grace_seconds(self) -> int:
        """APScheduler's misfire grace: the grace window in real seconds (at least 1)."""
        return max(1, int(self.settings.grace_hours * 3600 / self.settings.time_scale))

    def slot(self, series_id: int, slot_at: datetime) -> SlotResult:
        with self.lock:
            result = fire_slot(self.deps, series_id, slot_at)
        if result.held or result.skipped:
            self.sync_jobs()  # the held episodes have new slots
        return result

    def sweep(self) -> None:
        self.sync_jobs()
        with self.lock:
            report = self.sweeper()
        if any(r.held for r in report.slots):
            self.sync_jobs()

    def sync_jobs(self) -> dict[str, int]:
        """Make the job store match the database: add, move and remove slot, pre-flight and
        native-ahead jobs. Jobs already due are left to fire."""
        sched = self.scheduler
        if sched is None:
            return {}
        clock = self.deps.clock
        now = clock.now()
        plan = plan_jobs(self._waiting(), now=now, preflight_hours=self.settings.preflight_hours,
                         native_hours=self.settings.native_schedule_hours)
        existing = {j.id: j for j in sched.get_jobs(jobstore="default")}
        counts = {"added": 0, "moved": 0, "removed": 0}
        for jid, job in plan.items():
            run_at = clock.to_real(job.at)
            have = existing.pop(jid, None)
            if have is None:
                sched.add_job(_FUNCS[job.kind], DateTrigger(run_date=run_at), id=jid, name=jid,
                              args=list(job.args), jobstore="default", replace_existing=True)
                counts["added"] += 1
            elif have.next_run_time is None or abs(
                    (have.next_run_time - run_at).total_seconds()) > 0.001:
                have.reschedule(DateTrigger(run_date=run_at))
                counts["moved"] += 1
        real_now = clock.to_real(now)
        for jid, job in existing.items():
            if job.next_run_time is not None and job.next_run_time <= real_now:
                continue  # due: let it fire (its handler checks the database)
            try:
                sched.remove_job(jid, jobstore="default")
                counts["removed"] += 1
            except JobLookupError:
                pass
        if any(counts.values()):
            log.info("jobs synced: %s", counts)
        return counts

    def _waiting(self) -> list[WaitingEpisode]:
        out = []
        with self.db.session() as s:
            for series in store.all_series(s):
                for ep in upcoming(s, series.id):
                    assert ep.slot_at is not None
                    out.append(WaitingEpisode(
                        series_id=series.id, episode_id=ep.id, number=ep.number,
                        slot_at=ep.slot_at, native=any(
                            p.state in _DUE and self._native(p.account.name) for p in ep.posts)))
        return out

    def _native(self, account: str) -> bool:
        try:
            acc = self.settings.account(account)
        except KeyError:
            return False
        return acc.enabled and acc.native_scheduling

    def _on_event(self, event: Any) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time (the sweep catches slots up)", event.job_id)
        elif isinstance(event, JobExecutionEvent) and event.exception is not None:
            log.error("job %s failed: %r", event.job_id, event.exception)


__all__ = ["LEASE_NAME", "Runner", "ahead_job", "preflight_job", "slot_job", "sweep_job"]

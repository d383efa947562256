"""`wtg worker` supervises its Celery worker: a crashed worker is started again (same node name,
German log line, staff notification) with a doubling backoff; a signal stops both cleanly."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from episodes.models import Notification
from tests.harness import Stack, wait_for
from wtg.supervise import Supervisor, describe_exit

from .test_broker_restarts import celery_child, consuming

NODE = "supervised@test"


def test_killed_celery_worker_is_restarted_and_sigint_stops_everything(make_stack) -> None:
    """SIGKILL to the Celery worker under `wtg worker`: a new one answers under the same name,
    the log says why in German, a staff notification is queued; SIGINT to `wtg worker` then ends
    it with exit code 0 and takes the Celery worker with it."""
    stack: Stack = make_stack()
    worker = stack.start_worker(queues="publish", concurrency=1, name=NODE)
    first = celery_child(worker)
    os.kill(first, signal.SIGKILL)
    stack.wait_for(lambda: _child_or_none(worker) not in (None, first), timeout=30,
                   message="a new Celery worker")
    stack.wait_for(lambda: consuming(stack, NODE), timeout=60, message="the new worker answers")
    log = "".join(p.read_text(errors="replace") for p in stack.logs)
    assert (f"Der Worker {NODE} ist unerwartet beendet (Signal SIGKILL) – Neustart in 1 s "
            "(1. Neustart in Folge).") in log
    with stack.db.session() as s:
        [note] = s.query(Notification).all()
        assert (note.level, note.title) == ("warning", f"Worker {NODE} neu gestartet")
        assert "erneut zugestellt" in note.body
    second = celery_child(worker)
    worker.send_signal(signal.SIGINT)
    assert worker.wait(60) == 0
    wait_for(lambda: not Path(f"/proc/{second}").exists(), timeout=10,
             message="the Celery worker to end")


def _child_or_none(worker) -> int | None:  # type: ignore[no-untyped-def]
    try:
        return celery_child(worker)
    except (OSError, AssertionError):
        return None


def test_backoff_doubles_up_to_the_maximum_until_stopped() -> None:
    """A child that keeps failing is restarted after 0.05, 0.1, 0.2, 0.2 s (the maximum); a
    stop request during the wait ends the supervisor with 0."""
    seen: list[tuple[int, float, int]] = []
    sup = Supervisor([sys.executable, "-c", "raise SystemExit(3)"], name="kaputt",
                     first_delay=0.05, max_delay=0.2)

    def crashed(code: int, delay: float, series: int) -> None:
        seen.append((code, delay, series))
        if len(seen) == 4:
            sup.stop()

    sup.on_crash = crashed
    assert sup.run() == 0
    assert seen == [(3, 0.05, 1), (3, 0.1, 2), (3, 0.2, 3), (3, 0.2, 4)]
    assert sup.restarts == 4


def test_a_child_that_exits_with_0_on_its_own_is_restarted_too() -> None:
    """Celery exits with 0 even after an "Unrecoverable error": only a stop asked of the
    supervisor ends it, any other end of the child is a crash."""
    seen: list[int] = []
    sup = Supervisor([sys.executable, "-c", "pass"], name="still", first_delay=0.01)

    def crashed(code: int, _delay: float, _series: int) -> None:
        seen.append(code)
        if len(seen) == 2:
            sup.stop()

    sup.on_crash = crashed
    assert sup.run() == 0
    assert seen == [0, 0]


def test_exit_descriptions_are_german() -> None:
    """Signals by name, other ends by exit code."""
    assert describe_exit(-9) == "Signal SIGKILL"
    assert describe_exit(1) == "Exit-Code 1"

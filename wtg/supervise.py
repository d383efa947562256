"""``wtg worker`` keeps its Celery worker running: the worker is a child process, and when it
ends unexpectedly (a crash, an unrecoverable error, the OOM killer) it is started again after a
backoff (1 s, doubling up to 60 s; back to 1 s once a worker ran for 5 minutes). Each restart is
logged in German at ERROR; the first of a series also becomes a staff notification.

Signals: SIGTERM or SIGINT to ``wtg worker`` stop it: the child gets SIGTERM (Celery's warm
shutdown: running tasks finish; with ``acks_late`` an interrupted task is delivered again), a
second signal sends SIGQUIT (cold shutdown). ``wtg worker`` waits for the child and exits with
0 after a requested stop. The child dies with its parent (``PR_SET_PDEATHSIG``) so a killed
supervisor never leaves an unsupervised worker behind. Any other end of the child is unexpected,
whatever its exit code: Celery exits with 0 after an "Unrecoverable error" too (and after
``celery control shutdown``; to stop a worker, stop ``wtg worker``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workers.task_names import NOTIFY_SEND

log = logging.getLogger("wtg.supervise")

#: (exit code, seconds until the restart, restarts in this series)
CrashHandler = Callable[[int, float, int], None]


class Supervisor:
    """Runs ``argv`` as a child process and restarts it when it ends unexpectedly."""

    def __init__(
        self, argv: Sequence[str], *, name: str, on_crash: CrashHandler | None = None,
        first_delay: float = 1.0, max_delay: float = 60.0, stable_after: float = 300.0,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.on_crash = on_crash
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.child: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._signals = 0

    def run(self) -> int:
        """Supervise until stopped; returns the exit code for ``wtg worker``."""
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        """Ask the child to shut down warmly and the loop to end (as SIGTERM does)."""
        self._on_signal(signal.SIGTERM, None)

    def _loop(self) -> int:
        delay, series = self.first_delay, 0
        while not self._stop.is_set():
            started = time.monotonic()
            self.child = subprocess.Popen(self.argv)
            log.info("Worker %s gestartet (PID %s).", self.name, self.child.pid)
            if self._stop.is_set():  # a signal came while it was being started
                self.child.send_signal(signal.SIGTERM)
            code = self.child.wait()
            if self._stop.is_set():
                log.info("Worker %s beendet (Exit-Code %s).", self.name, code)
                return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code
            if time.monotonic() - started >= self.stable_after:
                delay, series = self.first_delay, 0
            series += 1
            self.restarts += 1
            log.error("Der Worker %s ist unerwartet beendet (%s) – Neustart in %.0f s "
                      "(%d. Neustart in Folge).", self.name, describe_exit(code),
                      delay, series)
            if self.on_crash is not None:
                try:
                    self.on_crash(code, delay, series)
                except Exception:  # a notification must never stop the supervisor
                    log.exception("Benachrichtigung über den Neustart fehlgeschlagen")
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.max_delay)
        return 0

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals += 1
        self._stop.set()
        child = self.child
        if child is None or child.poll() is not None:
            return
        sig = signal.SIGTERM if self._signals == 1 else signal.SIGQUIT
        log.info("Worker %s wird beendet (%s).", self.name,
                 "warm: laufende Aufgaben enden noch" if sig == signal.SIGTERM else "sofort")
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(sig)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"Signal {signal.Signals(-code).name}"
        except ValueError:
            return f"Signal {-code}"
    return f"Exit-Code {code}"


def wtg_argv(config: Path | None) -> list[str]:
    """How to start ``wtg`` again from this process (same interpreter, same settings file)."""
    argv = [sys.executable, "-m", "wtg"]
    if config is not None:
        argv += ["-c", str(config)]
    return argv


def die_with_parent() -> None:
    """Linux: this process gets SIGTERM when its parent ends (a killed supervisor)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import os

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def crash_notifier(open_app: Callable[[], Any], name: str) -> CrashHandler:
    """A staff notification (outbox, dashboard, ``wtg status``; apprise when configured) for
    the first restart of a series and for every tenth. ``open_app`` wires database and Celery
    app on the first crash (the supervisor itself needs neither)."""
    opened: list[Any] = []

    def notify(code: int, delay: float, series: int) -> None:
        if series != 1 and series % 10:
            return
        from episodes import store

        if not opened:
            opened.append(open_app())
        app = opened[0]

        title = f"Worker {name} neu gestartet"
        body = (f"Der Worker {name} ist unerwartet beendet ({describe_exit(code)}) und wird in "
                f"{delay:.0f} s neu gestartet ({series}. Neustart in Folge). Aufgaben, die er "
                "gerade bearbeitete, werden erneut zugestellt.")
        with app.db.session() as s:
            note = store.notify(s, "warning" if series == 1 else "error", title, body)
        try:
            app.celery.send_task(NOTIFY_SEND, args=[note], retry=False)
        except Exception:  # the broker may be what is down; the outbox keeps it
            log.warning("Benachrichtigung %s nicht eingereiht (Broker?)", note)

    return notify

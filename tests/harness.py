"""Real processes for integration tests: a Redis-protocol broker, ``wtg`` workers and the
scheduler, each started as the README documents and stopped by the test that started it.

    stack = Stack(tmp_path, accounts=[...])        # writes wtg.toml, migrates the database
    stack.start_worker(queues="media,publish")    # a real `wtg worker` process
    stack.wait_for(lambda: ..., timeout=30)       # poll a condition with a deadline
    stack.stop()                                  # every process it started
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import redis
import tomli_w

from config import Settings, load_settings
from episodes.db import Database
from workers.app import make_celery
from workers.broker import EmbeddedBroker, free_port, ping

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
WTG = str(Path(sys.executable).parent / "wtg")
SYSTEM_REDIS = "redis://127.0.0.1:6379"


def wait_for(
    condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


class RedisPool:
    """Hands out a flushed database number per test on the machine's Redis (if it answers),
    else on a private embedded server. ``WTGTEST_REDIS=private`` always takes a private one, so
    two test sessions on one machine never flush each other's databases."""

    def __init__(self, base: Path) -> None:
        self.private: EmbeddedBroker | None = None
        if os.environ.get("WTGTEST_REDIS") != "private" and ping(SYSTEM_REDIS + "/0"):
            self.base_url = SYSTEM_REDIS
        else:
            self.private = EmbeddedBroker(base / "redis", free_port(), appendonly=False)
            self.base_url = self.private.start().rsplit("/", 1)[0]
        self._next = 1

    def database(self) -> str:
        n = self._next
        self._next = self._next % 15 + 1
        url = f"{self.base_url}/{n}"
        redis.Redis.from_url(url).flushdb()
        return url

    def close(self) -> None:
        if self.private:
            self.private.stop()


class Stack:
    """One wtg installation in ``root``: settings file, database, processes."""

    def __init__(
        self,
        root: Path,
        *,
        broker_url: str | None,
        accounts: Sequence[Mapping[str, Any]] = (),
        database_url: str | None = None,
        extra: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {
            "database_url": database_url or f"sqlite:///{root / 'wtg.db'}",
            "var_dir": str(root / "var"),
            "media_root": str(root / "var" / "media"),
            "secrets_dir": str(root / "var" / "secrets"),
            "embedded_broker_port": free_port(),
            "lease_seconds": 5.0,
            "sweep_seconds": 1.0,
            "log_level": "INFO",
            "accounts": [dict(a) for a in accounts],
        }
        if broker_url:
            doc["broker_url"] = broker_url
        doc.update(extra or {})
        self.config_path = root / "wtg.toml"
        self.config_path.write_text(tomli_w.dumps(_tomlable(doc)), encoding="utf-8")
        self.env = {**os.environ, "WTG_CONFIG": str(self.config_path), **(env or {})}
        self.settings: Settings = load_settings(self.env, config_file=self.config_path)
        self.db = Database(self.settings.database_url)
        self.db.migrate()
        self.broker: EmbeddedBroker | None = None
        if not broker_url:
            self.broker = EmbeddedBroker(self.settings.var_dir / "broker",
                                         self.settings.embedded_broker_port)
            self.broker_url = self.broker.start()
        else:
            self.broker_url = broker_url
        self.celery = make_celery(self.settings, self.broker_url)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    # --- processes --------------------------------------------------------------------------
    def run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run a ``wtg`` command to completion."""
        proc = subprocess.run([WTG, *args], env=self.env, cwd=self.root, text=True,
                              capture_output=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"wtg {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def spawn(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = self.root / f"{name}-{len(self.procs)}.log"
        self.logs.append(log)
        fh = log.open("wb")
        proc = subprocess.Popen([WTG, *args], env=self.env, cwd=self.root, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
        fh.close()
        self.procs.append(proc)
        return proc

    def start_worker(self, queues: str = "media,publish", concurrency: int = 1,
                     name: str | None = None, ready_timeout: float = 60) -> subprocess.Popen[bytes]:
        node = name or f"w{len(self.procs)}-{queues.replace(',', '-')}@test"
        proc = self.spawn("worker", "-Q", queues, "-c", str(concurrency), "-n", node,
                          name=f"worker-{node.split('@')[0]}")
        wait_for(lambda: self._pong(node) or self._dead(proc), timeout=ready_timeout,
                 message=f"worker {node} to answer ping")
        if proc.poll() is not None:
            raise AssertionError(f"worker {node} exited:\n{self.log_text()}")
        return proc

    def _pong(self, node: str) -> bool:
        replies = self.celery.control.ping(destination=[node], timeout=0.5) or []
        return any(node in r for r in replies)

    @staticmethod
    def _dead(proc: subprocess.Popen[bytes]) -> bool:
        return proc.poll() is not None

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a process and all its children (a worker dies mid-task)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(proc)
        self.procs.clear()
        if self.broker:
            self.broker.stop()
        self.db.dispose()

    def log_text(self) -> str:
        return "\n".join(f"==> {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in self.logs if p.exists())

    # --- helpers ----------------------------------------------------------------------------
    def wait_for(self, condition: Callable[[], T], *, timeout: float = 30.0,
                 message: str = "condition") -> T:
        try:
            return wait_for(condition, timeout=timeout, message=message)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.log_text()}") from None


def _tomlable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_tomlable(v) for v in value]
    return value

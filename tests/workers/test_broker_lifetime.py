"""Who starts and who stops the embedded broker: a command that started it for itself stops it
when it ends (its queued tasks stay in the append-only file); a broker started by
`wtg broker start` outlives every command; long-running services share one broker that ends with
the last of them; `wtg broker status` tells staff which of these holds, in German."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import tomli_w
from click.testing import CliRunner

from tests.harness import wait_for
from workers.broker import EmbeddedBroker, free_port, ping, process_alive
from wtg.cli import main

from ..integration.season_kit import make_clip, write_season

WTG = str(Path(sys.executable).parent / "wtg")


@dataclass
class Install:
    """A wtg installation with the embedded broker (no broker_url) in a temp dir."""

    root: Path
    port: int
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def directory(self) -> Path:
        return self.root / "var" / "broker"

    def wtg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([WTG, *args], env=self.env, cwd=self.root, text=True,
                             capture_output=True, timeout=120)
        if check and out.returncode != 0:
            raise AssertionError(f"wtg {' '.join(args)}: {out.returncode}\n{out.stdout}"
                                 f"\n{out.stderr}")
        return out

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{args[0]}.log").open("ab")
        return subprocess.Popen([WTG, *args], env=self.env, cwd=self.root, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def servers(self) -> list[int]:
        """Pids of valkey servers listening on this installation's port."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                cmd = (proc / "cmdline").read_bytes()
                if b"valkey" in cmd and f":{self.port}".encode() in cmd \
                        and process_alive(int(proc.name)):
                    found.append(int(proc.name))
        return found


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Install]:
    """Settings without broker_url on a free port, a season of two episodes on one account;
    every broker process on that port is killed afterwards."""
    port = free_port()
    config = tmp_path / "wtg.toml"
    config.write_text(tomli_w.dumps({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}", "var_dir": str(tmp_path / "var"),
        "media_root": str(tmp_path / "var" / "media"), "embedded_broker_port": port,
        "sweep_seconds": 0.5, "log_level": "INFO",
        "accounts": [{"name": "mastodon-a", "platform": "mastodon",
                      "api_base": "http://127.0.0.1:9"}],
    }), encoding="utf-8")
    clip = make_clip(tmp_path / "clip.mp4", seconds=1.5)
    write_season(tmp_path / "season", accounts=["mastodon-a"], episodes=2, clip=clip)
    env = {**os.environ, "WTG_CONFIG": str(config),
           "WTG_ACCOUNT_MASTODON_A_ACCESS_TOKEN": "token"}
    inst = Install(tmp_path, port, env)
    yield inst
    for pid in inst.servers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def season_file(inst: Install) -> str:
    return str(inst.root / "season" / "season.toml")


def test_season_load_stops_the_broker_it_started_and_keeps_its_tasks(install: Install):
    """`wtg season load` starts the broker to queue the media tasks and stops it when done: no
    server is left, and the two queued tasks are still in the append-only file."""
    assert not ping(install.url, 0.2)
    out = install.wtg("season", "load", season_file(install))
    assert "2 Folge(n) zur Videoaufbereitung eingereiht" in out.stdout
    assert not ping(install.url, 0.2)
    assert install.servers() == []
    assert not (install.directory / "on-demand").exists()
    assert list((install.directory / "users").iterdir()) == []
    again = EmbeddedBroker(install.directory, install.port)
    try:
        again.start()
        assert redis.Redis.from_url(install.url).llen("media") == 2
    finally:
        again.stop()


def test_a_broker_from_wtg_broker_start_outlives_short_commands(install: Install):
    """A broker started with `wtg broker start` is left running by `wtg season load` (same
    process), `wtg broker status` says so, and only `wtg broker stop` ends it."""
    install.wtg("broker", "start")
    pid = int((install.directory / "broker.pid").read_text())
    install.wtg("season", "load", season_file(install))
    assert ping(install.url, 0.5) and install.servers() == [pid]
    status = install.wtg("broker", "status").stdout
    assert status.splitlines()[0] == "Eingebauter Broker: läuft"
    assert f"PID:               {pid}" in status
    assert f"Port:              {install.port}" in status
    assert f"URL:               {install.url}" in status
    assert f"Datenverzeichnis:  {install.directory.resolve()}" in status
    assert "Lebensdauer:       läuft, bis „wtg broker stop“" in status
    assert "Broker beendet." in install.wtg("broker", "stop").stdout
    wait_for(lambda: install.servers() == [], timeout=10, message="the broker to end")
    stopped = install.wtg("broker", "status", check=False)
    assert stopped.returncode == 1
    assert stopped.stdout.splitlines()[:2] == ["Eingebauter Broker: läuft nicht",
                                               f"  {'PID:':18} –"]


def test_services_share_one_broker_that_ends_with_the_last(install: Install):
    """`wtg scheduler` starts the broker on demand, `wtg worker` uses the same server; the
    broker outlives the scheduler's end while the worker runs and ends with the worker."""
    procs = []
    try:
        scheduler = install.spawn("scheduler")
        procs.append(scheduler)
        wait_for(lambda: ping(install.url, 0.2) or scheduler.poll() is not None, timeout=60,
                 message="the scheduler to start the broker")
        [server] = install.servers()
        worker = install.spawn("worker", "-Q", "publish", "-c", "1", "-n", "lifetime@test")
        procs.append(worker)
        wait_for(lambda: worker.pid in _users(install), timeout=60,
                 message="the worker to register")
        status = install.wtg("broker", "status").stdout
        assert "endet mit dem letzten wtg-Prozess, der ihn nutzt" in status
        assert str(scheduler.pid) in status and str(worker.pid) in status
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(30) == 0
        assert install.servers() == [server]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
        assert install.servers() == []
        assert not ping(install.url, 0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _users(install: Install) -> list[int]:
    users = install.directory / "users"
    return [int(p.name) for p in users.iterdir()] if users.is_dir() else []


def test_broker_status_with_an_external_broker_names_it_without_password(tmp_path: Path):
    """With broker_url set, `wtg broker status` refuses in German and masks the password."""
    config = tmp_path / "wtg.toml"
    config.write_text(tomli_w.dumps({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}", "var_dir": str(tmp_path / "var"),
        "broker_url": "redis://:geheim@redis.example:6379/0"}), encoding="utf-8")
    out = CliRunner().invoke(main, ["-c", str(config), "broker", "status"])
    assert out.exit_code == 1
    assert "externer Broker eingestellt (redis://***@redis.example:6379/0)" in out.output
    assert "geheim" not in out.output

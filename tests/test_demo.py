"""`wtg demo`: its pieces (stall watch, logins kept across restarts, smaller profiles, the
failure text) and two real runs of the command, as `make demo` starts it: a short season that
prints nothing but its own German steps, and a `--web` run that keeps the dashboard serving
after a failure and keeps its logins across a restart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from workers.media import load_profiles
from wtg.demo_kit import (
    ACCESS_FILE,
    DemoAccess,
    Stall,
    demo_profiles,
    failure_text,
    fresh_workdir,
)

from .harness import wait_for

WTG = str(Path(sys.executable).parent / "wtg")
NOISE = ("celery@", "-------------- ", "SecurityWarning", "Traceback", "WorkerLostError",
         "[config]", "superuser")


def test_stall_is_time_without_change_not_total_time() -> None:
    """A signature that keeps changing never stalls, however long it takes; one that stays the
    same stalls after the given minutes."""
    now = [0.0]
    stall = Stall(2, clock=lambda: now[0])
    for step in range(100):  # 100 minutes of slow progress
        now[0] = step * 60.0
        assert not stall.see(("folge-1", step))
    assert not stall.see(("folge-1", 99))
    now[0] += 119
    assert not stall.see(("folge-1", 99))
    now[0] += 1
    assert stall.see(("folge-1", 99))
    assert not stall.see(("folge-1", 100))


def test_demo_logins_survive_a_restart_and_are_owner_only(tmp_path: Path) -> None:
    """The secret key and both passwords are written once (0600) and read back by the next
    run; starting afresh keeps that file and removes everything else."""
    first = DemoAccess.load_or_create(tmp_path)
    assert len(first.secret_key) >= 32 and set(first.logins) == {"redaktion", "freigabe"}
    assert (tmp_path / ACCESS_FILE).stat().st_mode & 0o777 == 0o600
    (tmp_path / "wtg.db").write_text("alt")
    (tmp_path / "logs").mkdir()
    fresh_workdir(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [ACCESS_FILE]
    assert DemoAccess.load_or_create(tmp_path) == first


def test_demo_profiles_are_smaller_and_keep_every_platform(tmp_path: Path) -> None:
    """The demo's profiles have the shipped profiles' names, caption modes and platforms, with
    smaller frames that every listed platform still accepts."""
    shipped = load_profiles()
    small = load_profiles(demo_profiles(tmp_path / "media.toml"))
    assert small.keys() == shipped.keys()
    for name, profile in small.items():
        full = shipped[name]
        assert profile.captions == full.captions and profile.platforms == full.platforms
        assert profile.width * profile.height <= full.width * full.height / 3
        assert profile.width * full.height == pytest.approx(profile.height * full.width, rel=0.01)
        for limits in profile.platforms:
            assert profile.width >= limits.min_width and profile.height >= limits.min_height


def test_failure_text_says_why_first_then_where_the_logs_are(tmp_path: Path) -> None:
    """The first line is the German cause; the log files follow."""
    logs = [tmp_path / "logs" / "media-worker.log"]
    text = failure_text("Die Videoaufbereitung kommt seit 3 Minuten nicht voran.", tmp_path, logs)
    lines = text.splitlines()
    assert lines[0] == ("Demo fehlgeschlagen: Die Videoaufbereitung kommt seit 3 Minuten nicht "
                        "voran.")
    assert str(logs[0]) in lines[-1]


class Demo:
    """`wtg demo` as a process; its output collected line by line."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WTG_")}
        self.proc = subprocess.Popen([WTG, "demo", *args], env={**env, "COLUMNS": "400"},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def find(self, pattern: str) -> re.Match[str] | None:
        return re.search(pattern, self.text)

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait()
        self.reader.join(10)
        return code


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.stop()


@pytest.mark.integration
def test_short_demo_prints_only_its_own_steps(tmp_path: Path, demos: list[Demo]) -> None:
    """A one-episode season runs end to end and exits 0; the terminal shows the German steps
    and no Celery banner, warning or traceback (those go to <dir>/logs/)."""
    demo = Demo("--dir", str(tmp_path / "demo"), "--episodes", "1")
    demos.append(demo)
    assert demo.proc.wait(600) == 0, demo.text
    demo.reader.join(10)
    assert "Demo erfolgreich" in demo.text
    assert not [n for n in NOISE if n in demo.text], demo.text
    logs = {p.name for p in (tmp_path / "demo" / "logs").iterdir()}
    assert {"media-worker.log", "publish-worker.log", "scheduler.log"} <= logs


def _children(pid: int, needle: str) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True)
            if needle in " ".join(p.cmdline())]


@pytest.mark.integration
def test_web_demo_keeps_the_dashboard_after_a_failure_and_its_logins(
    tmp_path: Path, demos: list[Demo]
) -> None:
    """When a worker dies, `wtg demo --web` prints the German cause first and the log folder,
    and the dashboard keeps serving (the logins work); a restarted demo shows the same
    logins."""
    workdir = tmp_path / "demo"
    demo = Demo("--dir", str(workdir), "--episodes", "1", "--web")
    demos.append(demo)
    found = wait_for(lambda: demo.find(r"Dashboard: (\S+)\s+Anmeldung: (.*?)\s+\(bleiben"),
                     timeout=300, message="the dashboard's address and logins")
    url, logins = found.group(1), found.group(2)
    workers = wait_for(lambda: _children(demo.proc.pid, "-Q media"), timeout=120,
                       message="the media worker")
    for worker in workers:
        os.killpg(worker.pid, signal.SIGKILL)
    wait_for(lambda: "Das Dashboard läuft weiter" in demo.text, timeout=120,
             message="the demo to keep the dashboard after the failure")
    failure = next(i for i, ln in enumerate(demo.lines) if ln.startswith("Demo fehlgeschlagen"))
    assert "Videoaufbereitung" in demo.lines[failure]
    assert "hat sich unerwartet beendet" in demo.text
    assert str(workdir / "logs") in demo.text
    assert not [n for n in NOISE if n in demo.text], demo.text
    name, password = re.match(r"(\S+) / (\S+) ", logins).groups()  # type: ignore[union-attr]
    with httpx.Client(base_url=url, timeout=30) as client:

        def answers() -> bool:
            try:
                return client.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, timeout=60, message="the dashboard to answer")
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        resp = client.post("/login", data={"username": name, "password": password,
                                           "csrf": csrf, "next": "/"})
        assert resp.status_code == 303, resp.text
        assert client.get("/").status_code == 200
    assert demo.stop() != 0
    again = Demo("--dir", str(workdir), "--episodes", "1", "--web")
    demos.append(again)
    second = wait_for(lambda: again.find(r"Anmeldung: (.*?)\s+\(bleiben"), timeout=300,
                      message="the restarted demo's logins")
    assert second.group(1) == logins
    again.stop()

"""``wtg demo``: the whole season end to end on the embedded default.

Makes a small demo season (short generated clips with German subtitle files, the texts of the
real series from ``config/season.toml``), starts a local protocol server for every platform, the
embedded broker, a media worker, a publish worker and the scheduler with time compressed (a week
lasts a few seconds), approves every episode as a second person, and waits until every episode
is published on every account. Prints the status grid; exits 0 only if every post went out
exactly once with the rendition's bytes.

There is no fixed time budget: a busy machine is slow, not broken. The demo gives up only when
nothing moves for ``--stall-minutes`` (the media task writes its progress to the database, the
posts their states). Then it says why, in German, first, and where the logs are; the processes
write to ``<dir>/logs/`` and never to the terminal. ``--web`` keeps the dashboard running after
the season, also after a failure (that is when a staffer wants to look and press „Erneut
versuchen“); its logins and secret key stay the same across restarts (``<dir>/zugang.json``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click
import tomli_w
from rich.console import Console

from config import load_settings
from config.credentials import env_prefix
from workers.broker import free_port

from .demo_kit import (
    LANDSCAPE,
    SHAPES,
    DemoAccess,
    demo_profiles,
    failure_text,
    fresh_workdir,
    make_clip,
    write_srt,
)
from .demo_watch import DemoFailure, verify, wait_media, wait_published

REPO = Path(__file__).resolve().parent.parent
SEASON = REPO / "config" / "season.toml"
PLATFORMS = ("facebook", "instagram", "youtube", "mastodon", "tiktok")


@dataclass
class Proc:
    label: str  # German, for messages
    popen: subprocess.Popen[bytes]
    log: Path


@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("var/demo"),
              show_default=True, help="Arbeitsordner (wird bis auf die Zugänge neu angelegt).")
@click.option("--episodes", type=click.IntRange(1, 11), default=11, show_default=True)
@click.option("--week-seconds", type=float, default=4.0, show_default=True,
              help="So viele Sekunden dauert eine Woche in der Demo.")
@click.option("--clip-seconds", type=float, default=3.5, show_default=True,
              help="Länge der Testclips (Reels und Instagram: mindestens 3 s).")
@click.option("--stall-minutes", type=click.FloatRange(0.1), default=3.0, show_default=True,
              help="Aufgeben, wenn sich so lange nichts bewegt (keine feste Zeitgrenze).")
@click.option("--full-size", is_flag=True,
              help="Die echten Bildgrößen aus config/media.toml (langsamer; sonst kleinere).")
@click.option("--web", is_flag=True,
              help="Dashboard mitstarten (Zugänge werden angezeigt) und danach weiterlaufen "
              "lassen – auch wenn etwas schiefging –, bis Strg+C gedrückt wird.")
def demo(workdir: Path, episodes: int, week_seconds: float, clip_seconds: float,
         stall_minutes: float, full_size: bool, web: bool) -> None:
    """Die ganze Staffel im Zeitraffer: Videos aufbereiten, freigeben, wöchentlich posten
    (an lokale Test-Server aller Plattformen). Beendet sich mit 0, wenn alles gesendet wurde."""
    console = Console(highlight=False)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # `kill`, docker stop: end as cleanly as Ctrl+C
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    workdir = workdir.resolve()
    _stop_stale(workdir)
    fresh_workdir(workdir)
    run = DemoRun(workdir, console, web=web, stall_minutes=stall_minutes)
    ok = False
    try:
        ok = run.execute(episodes, week_seconds, clip_seconds, full_size=full_size)
        console.print(f"Dauer: {time.monotonic() - started:.0f} s")
        if web:
            run.keep_running(ok)
    except KeyboardInterrupt:
        console.print("abgebrochen.")
    finally:
        run.shutdown()
    sys.exit(0 if ok else 1)


class DemoRun:
    def __init__(self, workdir: Path, console: Console, *, web: bool = False,
                 stall_minutes: float = 3.0) -> None:
        self.dir = workdir
        self.logs = workdir / "logs"
        self.console = console
        self.web = web
        self.stall_minutes = stall_minutes
        self.sandboxes: dict[str, Any] = {}
        self.procs: list[Proc] = []
        self.app: Any = None
        self.dashboard_url = ""
        self._log_stream: IO[str] | None = None

    # -- the steps -------------------------------------------------------------------------
    def execute(self, n: int, week: float, clip_seconds: float, *, full_size: bool = False) -> bool:
        """The whole demo; False (after printing why) if it could not finish."""
        try:
            self._run(n, week, clip_seconds, full_size)
        except DemoFailure as exc:
            self.console.print(failure_text(str(exc), self.dir, self._log_files()),
                               style="bold red", markup=False)
            return False
        return True

    def _run(self, n: int, week: float, clip_seconds: float, full_size: bool) -> None:
        c = self.console
        c.rule("[bold]Wir tun GUTes – Demo")
        self.logs.mkdir(parents=True, exist_ok=True)
        season = tomllib.loads(SEASON.read_text(encoding="utf-8"))
        eps = sorted(season["episodes"], key=lambda e: e["number"])[:n]
        c.print(f"1. {len(eps)} Testvideos mit Untertiteln erzeugen (quer, Handy hochkant, 4:3) …")
        media = self.dir / "quellen"
        media.mkdir()
        for e in eps:
            clip = media / f"{e['number']:02d}.mp4"
            make_clip(clip, seconds=clip_seconds, size=SHAPES.get(e["number"], LANDSCAPE),
                      hue=e["number"] * 33, freq=330 + 40 * e["number"])
            write_srt(media / f"{e['number']:02d}.srt", e.get("place", ""), clip_seconds)
            e["video"] = str(clip)
            e["subtitles"] = str(media / f"{e['number']:02d}.srt")

        c.print("2. Lokale Protokoll-Server für Facebook, Instagram, YouTube, Mastodon, TikTok")
        from sandbox import sandboxes

        env: dict[str, str] = {}
        accounts = []
        for platform in PLATFORMS:
            sb = sandboxes()[platform]().start()
            self.sandboxes[platform] = sb
            name = f"{platform}-lup"
            acc, creds = sb.account(name)
            accounts.append({"name": name, "platform": platform,
                             "display_name": f"{acc.display_name} (Sandbox)",
                             "api_base": acc.api_base, "options": dict(acc.options)})
            env.update({env_prefix(name) + k.upper(): v for k, v in creds.items()})
            c.print(f"   {name:15} {acc.api_base}")
        season["series"]["accounts"] = [a["name"] for a in accounts]
        season["episodes"] = eps
        season["series"]["last_date"] = season["series"]["first_date"] + timedelta(
            weeks=len(eps) + len(season["series"].get("blackout_dates", [])) + 1)
        (self.dir / "season.toml").write_text(tomli_w.dumps(season), encoding="utf-8")

        first_slot = _first_slot(season)
        port = free_port()
        settings_doc: dict[str, Any] = {
            "database_url": f"sqlite:///{self.dir / 'wtg.db'}",
            "var_dir": str(self.dir / "var"),
            "media_root": str(self.dir / "var" / "media"),
            "secrets_dir": str(self.dir / "var" / "secrets"),
            "embedded_broker_port": free_port(),
            "media_branding": True,
            "time_scale": 7 * 24 * 3600 / week,
            # the virtual clock starts 3 real seconds before the first slot
            "clock_start": (first_slot - timedelta(seconds=3 * 604800 / week)).isoformat(),
            # late slots still go out up to 6.5 virtual days (3.7 s at 4 s a week): a busy
            # machine may start a slot's job a few seconds late
            "grace_hours": 156.0,
            "lease_seconds": 10.0,
            "sweep_seconds": 1.0,
            "poll_interval_min": 0.1,
            "poll_interval_max": 0.5,
            "retry_backoff": 0.2,
            "log_level": "WARNING",
            "accounts": accounts,
            "dashboard": {"port": port, "secure_cookies": False,
                          "public_url": f"http://127.0.0.1:{port}"},
        }
        if not full_size:
            settings_doc["media_profiles_file"] = str(demo_profiles(self.dir / "media.toml"))
        config = self.dir / "wtg.toml"
        config.write_text(tomli_w.dumps(settings_doc), encoding="utf-8")
        access = DemoAccess.load_or_create(self.dir)
        self.env = {**os.environ, **env, "WTG_CONFIG": str(config),
                    "WTG_DASHBOARD__SECRET_KEY": access.secret_key}
        os.environ.update(env)  # this process reads the sandbox secrets too (pre-flight)
        settings = load_settings(self.env, config_file=config)

        c.print("3. Eingebauter Broker, Datenbank, Staffel laden")
        from .wiring import build

        self.app = build(settings)
        self._quiet_logging()
        self._wtg("season", "load", str(self.dir / "season.toml"))
        if self.web:
            self._start_dashboard(port, access)
        c.print("4. Worker starten (Videoaufbereitung, Veröffentlichen)"
                + ("" if full_size else " – kleinere Bildgrößen für die Demo"))
        self._spawn("Videoaufbereitung", "media-worker",
                    "worker", "-Q", "media", "-c", "1", "-n", "demo-media@localhost")
        self._spawn("Veröffentlichen", "publish-worker",
                    "worker", "-Q", "publish", "-c", "4", "-n", "demo-publish@localhost")
        wait_media(self.app.db, c, len(eps), stall_minutes=self.stall_minutes,
                   check=self._check_procs)
        self._approve()
        c.print(f"5. Planer im Zeitraffer starten: eine Woche = {week:g} s, "
                f"erster Termin {first_slot:%d.%m.%Y %H:%M}")
        self._spawn("Planer", "scheduler", "scheduler")
        wait_published(self.app.db, c, len(eps) * len(PLATFORMS),
                       stall_minutes=self.stall_minutes, check=self._check_procs)
        verify(self.app.db, c, self.sandboxes)
        from .views import status_table

        status_table(self.app)
        c.print("[bold green]Demo erfolgreich: alle Folgen auf allen Konten.")

    def _start_dashboard(self, port: int, access: DemoAccess) -> None:
        """The staff dashboard on this demo, with an editor and an approver login."""
        shown = []
        for name, (role, password) in access.logins.items():
            pw_file = self.dir / f".{name}.pw"
            fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(password)
            try:
                self._wtg("user", "add", name, "--role", role, "--password-file", str(pw_file))
            finally:
                pw_file.unlink()
            shown.append(f"{name} / {password} ({role})")
        self._spawn("Dashboard", "dashboard", "web", "--port", str(port))
        self.dashboard_url = f"http://127.0.0.1:{port}/"
        self.console.print(f"   Dashboard: {self.dashboard_url}   Anmeldung: " + ", ".join(shown)
                           + f"  (bleiben gleich; gespeichert in {self.dir / 'zugang.json'})",
                           markup=False)

    def keep_running(self, ok: bool) -> None:
        """Serve the dashboard until Ctrl+C, also (especially) after a failure."""
        if not self.dashboard_url:
            return
        if ok:
            self.console.print(f"Dashboard läuft weiter: {self.dashboard_url} – beenden mit "
                               "Strg+C.")
        else:
            self.console.print(
                f"Das Dashboard läuft weiter: {self.dashboard_url} – dort steht bei jeder Folge "
                "und jedem Beitrag, was fehlt; nach der Behebung „Erneut versuchen“ wählen. "
                "Beenden mit Strg+C.", markup=False)
        reported: set[str] = set()
        while True:
            for proc in self.procs:
                code = proc.popen.poll()
                if code is not None and proc.label not in reported:
                    reported.add(proc.label)
                    self.console.print(_ended(proc, code), style="red", markup=False)
                    if proc.label == "Dashboard":
                        return
            time.sleep(1)

    def _quiet_logging(self) -> None:
        """This process's own log lines go to logs/demo.log, not between the steps."""
        self._log_stream = (self.logs / "demo.log").open("a", encoding="utf-8")
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(self._log_stream)

    def _wtg(self, *args: str) -> None:
        proc = subprocess.run([_wtg_exe(), *args], env=self.env, cwd=self.dir, text=True,
                              capture_output=True)
        if proc.returncode != 0:
            said = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or [""])
            raise DemoFailure(f"„wtg {args[0]} {args[1]}“ ist fehlgeschlagen: {said[-1]}")
        self.console.print("   " + proc.stdout.strip().replace("\n", "\n   "), markup=False)

    def _spawn(self, label: str, log_name: str, *args: str) -> None:
        log = self.logs / f"{log_name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen([_wtg_exe(), *args], env=self.env, cwd=self.dir,
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.procs.append(Proc(label, popen, log))

    def _check_procs(self) -> None:
        for proc in self.procs:
            code = proc.popen.poll()
            if code is not None:
                raise DemoFailure(_ended(proc, code))

    def _approve(self) -> None:
        from episodes import store
        from episodes.models import Episode, utcnow

        with self.app.db.session() as s:
            for ep in s.query(Episode):
                ep.edited_by = ep.edited_by or "demo-redaktion"
                ep.approved_by = "demo-freigabe"  # four eyes: not the editor
                ep.approved_at = utcnow()
                ep.approved_revision = ep.revision
                store.audit(s, "demo-freigabe", "episode.approve", f"episode:{ep.id}")
        self.console.print("   alle Folgen von einer zweiten Person freigegeben (demo-freigabe)")

    def _log_files(self) -> list[Path]:
        return sorted(self.logs.glob("*.log")) if self.logs.exists() else []

    def shutdown(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.popen.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()
        for sb in self.sandboxes.values():
            sb.stop()
        if self.app is not None:
            if self.app.embedded is not None:
                self.app.embedded.stop()
            self.app.close()
        if self._log_stream is not None:
            self._log_stream.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _ended(proc: Proc, code: int) -> str:
    return (f"Der Prozess „{proc.label}“ hat sich unerwartet beendet (Exit-Code {code}); "
            f"sein Protokoll: {proc.log}")


def _first_slot(season: dict[str, Any]) -> datetime:
    from zoneinfo import ZoneInfo

    from episodes.calendar import parse_time, parse_weekday, weekly_slots

    s = season["series"]
    slots = weekly_slots(first=s["first_date"], last=s["last_date"],
                         weekday=parse_weekday(s.get("weekday", "thursday")),
                         at=parse_time(s.get("time", "17:00")),
                         tz=ZoneInfo(s.get("timezone", "Europe/Berlin")),
                         blackout=s.get("blackout_dates", []))
    return slots[0]


def _stop_stale(workdir: Path) -> None:
    pid = workdir / "var" / "broker" / "broker.pid"
    if pid.is_file():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid.read_text()), signal.SIGTERM)


def _wtg_exe() -> str:
    return str(Path(sys.executable).parent / "wtg")


COMMANDS = [demo]

"""``wtg demo``: the whole season end to end on the embedded default.

Makes a small demo season (short generated clips with German subtitle files, the texts of the
real series from ``config/season.toml``), starts a local protocol server for every platform, the
embedded broker, a media worker, a publish worker and the scheduler with time compressed (a week
lasts a few seconds), approves every episode as a second person, and waits until every episode
is published on every account. Prints the status grid; exits 0 only if every post went out
exactly once with the rendition's bytes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import tomli_w
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config import load_settings
from config.credentials import env_prefix
from workers.broker import free_port

REPO = Path(__file__).resolve().parent.parent
SEASON = REPO / "config" / "season.toml"
PLATFORMS = ("facebook", "instagram", "youtube", "mastodon", "tiktok")
#: some sources deliberately of another shape: vertical phone clips and a 4:3 camera
SHAPES = {3: "360x640", 7: "360x640", 5: "480x360"}
SUBTITLES = (
    "Willkommen bei „Wir tun GUTes“ aus {place}!",
    "Hier packen Nachbarinnen und Nachbarn gemeinsam an – für ein gutes Miteinander.",
)


def make_clip(path: Path, *, seconds: float, size: str, hue: int, freq: int) -> None:
    from workers.media import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds},hue=h={hue}",
         "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", str(path)],
        check=True,
    )


def write_srt(path: Path, place: str, seconds: float) -> None:
    half = seconds / 2
    cues = [(0.1, half - 0.05, SUBTITLES[0]), (half, seconds - 0.1, SUBTITLES[1])]
    out = []
    for i, (a, b, text) in enumerate(cues, 1):
        out.append(f"{i}\n{_ts(a)} --> {_ts(b)}\n{text.format(place=place)}\n")
    path.write_text("\n".join(out), encoding="utf-8")


def _ts(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path("var/demo"),
              show_default=True, help="Arbeitsordner (wird neu angelegt).")
@click.option("--episodes", type=click.IntRange(1, 11), default=11, show_default=True)
@click.option("--week-seconds", type=float, default=4.0, show_default=True,
              help="So viele Sekunden dauert eine Woche in der Demo.")
@click.option("--clip-seconds", type=float, default=2.0, show_default=True)
@click.option("--timeout", type=float, default=270.0, show_default=True)
@click.option("--web", is_flag=True,
              help="Dashboard mitstarten (Zugänge werden angezeigt) und nach der Staffel "
              "weiterlaufen lassen, bis Strg+C gedrückt wird.")
def demo(workdir: Path, episodes: int, week_seconds: float, clip_seconds: float,
         timeout: float, web: bool) -> None:
    """Die ganze Staffel im Zeitraffer: Videos aufbereiten, freigeben, wöchentlich posten
    (an lokale Test-Server aller Plattformen). Beendet sich mit 0, wenn alles gesendet wurde."""
    console = Console()
    started = time.monotonic()
    workdir = workdir.resolve()
    if workdir.exists():
        _stop_stale(workdir)
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    run = DemoRun(workdir, console, web=web)
    try:
        ok = run.execute(episodes, week_seconds, clip_seconds, timeout)
        if web and ok:
            run.keep_running()
    finally:
        run.shutdown()
    console.print(f"Dauer: {time.monotonic() - started:.0f} s")
    sys.exit(0 if ok else 1)


class DemoRun:
    def __init__(self, workdir: Path, console: Console, *, web: bool = False) -> None:
        self.dir = workdir
        self.console = console
        self.web = web
        self.sandboxes: dict[str, Any] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.app: Any = None

    # -- the steps -------------------------------------------------------------------------
    def execute(self, n: int, week: float, clip_seconds: float, timeout: float) -> bool:
        c = self.console
        c.rule("[bold]Wir tun GUTes – Demo")
        season = tomllib.loads(SEASON.read_text(encoding="utf-8"))
        eps = sorted(season["episodes"], key=lambda e: e["number"])[:n]
        c.print(f"1. {len(eps)} Testvideos mit Untertiteln erzeugen …")
        media = self.dir / "quellen"
        media.mkdir()
        for e in eps:
            clip = media / f"{e['number']:02d}.mp4"
            make_clip(clip, seconds=clip_seconds, size=SHAPES.get(e["number"], "640x360"),
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
        settings_doc = {
            "database_url": f"sqlite:///{self.dir / 'wtg.db'}",
            "var_dir": str(self.dir / "var"),
            "media_root": str(self.dir / "var" / "media"),
            "secrets_dir": str(self.dir / "var" / "secrets"),
            "embedded_broker_port": free_port(),
            "media_branding": True,
            "time_scale": 7 * 24 * 3600 / week,
            # the virtual clock starts 1.5 real seconds before the first slot
            "clock_start": (first_slot - timedelta(seconds=1.5 * 604800 / week)).isoformat(),
            "grace_hours": 72.0,  # 1.7 real seconds at 4 s a week: room for a loaded machine
            "lease_seconds": 10.0,
            "sweep_seconds": 1.0,
            "poll_interval_min": 0.1,
            "poll_interval_max": 0.5,
            "retry_backoff": 0.2,
            "log_level": "WARNING",
            "accounts": accounts,
            "dashboard": {"port": free_port(), "secure_cookies": False},
        }
        config = self.dir / "wtg.toml"
        config.write_text(tomli_w.dumps(settings_doc), encoding="utf-8")
        self.env = {**os.environ, **env, "WTG_CONFIG": str(config),
                    "WTG_DASHBOARD__SECRET_KEY": secrets.token_urlsafe(48)}
        os.environ.update(env)  # this process reads the sandbox secrets too (pre-flight)
        settings = load_settings(self.env, config_file=config)

        c.print("3. Eingebauter Broker, Datenbank, Staffel laden")
        from .wiring import build

        self.app = build(settings)
        self._wtg("season", "load", str(self.dir / "season.toml"))
        if self.web:
            self._start_dashboard(settings_doc["dashboard"]["port"])  # type: ignore[index]
        c.print("4. Worker starten (Videoaufbereitung, Veröffentlichen)")
        self._spawn("worker", "-Q", "media", "-c", "1", "-n", "demo-media@localhost")
        self._spawn("worker", "-Q", "publish", "-c", "4", "-n", "demo-publish@localhost")
        if not self._wait_media(len(eps), timeout=timeout * 0.6):
            return self._report(False)
        self._approve()
        c.print(f"5. Planer im Zeitraffer starten: eine Woche = {week:g} s, "
                f"erster Termin {first_slot:%d.%m.%Y %H:%M}")
        self._spawn("scheduler")
        ok = self._wait_published(len(eps) * len(PLATFORMS), timeout=timeout)
        return self._report(ok and self._verify(len(eps)))

    def _start_dashboard(self, port: int) -> None:
        """The staff dashboard on this demo, with an editor and an approver login."""
        logins = []
        for name, role in (("redaktion", "editor"), ("freigabe", "approver")):
            password = secrets.token_urlsafe(9)
            pw_file = self.dir / f".{name}.pw"
            pw_file.write_text(password, encoding="utf-8")
            pw_file.chmod(0o600)
            self._wtg("user", "add", name, "--role", role, "--password-file", str(pw_file))
            pw_file.unlink()
            logins.append(f"{name} / {password} ({role})")
        self._spawn("web", "--port", str(port))
        self.dashboard_url = f"http://127.0.0.1:{port}/"
        self.console.print(f"   Dashboard: {self.dashboard_url}   Anmeldung: " + ", ".join(logins))

    def keep_running(self) -> None:
        self.console.print(f"Dashboard läuft weiter: {self.dashboard_url} – beenden mit Strg+C.")
        try:
            while True:
                self._check_procs()
                time.sleep(1)
        except KeyboardInterrupt:
            self.console.print("beendet.")

    def _wtg(self, *args: str) -> None:
        proc = subprocess.run([_wtg_exe(), *args], env=self.env, cwd=self.dir, text=True,
                              capture_output=True)
        if proc.returncode != 0:
            raise click.ClickException(f"wtg {' '.join(args)}:\n{proc.stdout}{proc.stderr}")
        self.console.print("   " + proc.stdout.strip().replace("\n", "\n   "))

    def _spawn(self, *args: str) -> None:
        log = (self.dir / f"{args[0]}-{len(self.procs)}.log").open("wb")
        self.procs.append(subprocess.Popen(
            [_wtg_exe(), *args], env=self.env, cwd=self.dir, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True))
        log.close()

    def _wait_media(self, n: int, timeout: float) -> bool:
        from episodes.models import Episode, MediaStatus

        deadline = time.monotonic() + timeout
        with _progress(self.console) as bar:
            task = bar.add_task("Videos aufbereiten", total=n)
            while time.monotonic() < deadline:
                self._check_procs()
                with self.app.db.session() as s:
                    rows = s.query(Episode.media_status, Episode.media_problems).all()
                failed = [p for st, p in rows if st == MediaStatus.FAILED]
                if failed:
                    self.console.print(f"[red]Video abgelehnt: {failed[0]}")
                    return False
                done = sum(1 for st, _ in rows if st == MediaStatus.VERIFIED)
                bar.update(task, completed=done)
                if done == n:
                    return True
                time.sleep(0.3)
        self.console.print("[red]Zeitüberschreitung bei der Videoaufbereitung")
        return False

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

    def _wait_published(self, total: int, timeout: float) -> bool:
        from episodes.lifecycle import WAITING_FOR_STAFF
        from episodes.models import Post

        deadline = time.monotonic() + timeout
        with _progress(self.console) as bar:
            task = bar.add_task("Beiträge veröffentlicht", total=total)
            while time.monotonic() < deadline:
                self._check_procs()
                with self.app.db.session() as s:
                    states = [p.state for p in s.query(Post)]
                done = states.count("published")
                bar.update(task, completed=done)
                stuck = [st for st in states if st in {str(x) for x in WAITING_FOR_STAFF}]
                if stuck:
                    self.console.print(f"[red]{len(stuck)} Beitrag/Beiträge brauchen Hilfe")
                    return False
                if done == total:
                    return True
                time.sleep(0.3)
        self.console.print("[red]Zeitüberschreitung: nicht alle Beiträge veröffentlicht")
        return False

    def _verify(self, n: int) -> bool:
        """Every sandbox holds exactly one public post per episode, with the rendition's bytes."""
        from episodes.models import Post

        ok = True
        with self.app.db.session() as s:
            posts = s.query(Post).all()
            expected: dict[str, list[str]] = {}
            for p in posts:
                expected.setdefault(p.account.platform, []).append(p.rendition_sha256 or "")
        for platform, sb in self.sandboxes.items():
            public = sb.snapshot()["published"]
            got = sorted(x.get("sha256", "") for x in public)
            want = sorted(expected.get(platform, []))
            if got != want:
                ok = False
                self.console.print(f"[red]{platform}: {len(public)} öffentliche Beiträge, "
                                   f"erwartet {len(want)} (oder Inhalte weichen ab)")
            else:
                self.console.print(f"   {platform:10} {len(public)} Beiträge, je genau einmal, "
                                   "Bytes geprüft (sha256)")
        return ok

    def _report(self, ok: bool) -> bool:
        from .views import status_table

        if self.app is not None:
            status_table(self.app)
        if ok:
            self.console.print("[bold green]Demo erfolgreich: alle Folgen auf allen Konten.")
        else:
            self.console.print(f"[bold red]Demo fehlgeschlagen. Logs: {self.dir}")
            for log in sorted(self.dir.glob("*.log")):
                tail = log.read_text(errors="replace").strip().splitlines()[-15:]
                self.console.print(f"--- {log.name}", *tail, sep="\n", markup=False)
        return ok

    def _check_procs(self) -> None:
        for p in self.procs:
            if p.poll() is not None:
                raise click.ClickException(
                    f"Ein Prozess ist unerwartet beendet ({' '.join(map(str, p.args[1:]))}); "
                    f"Logs in {self.dir}")

    def shutdown(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for sb in self.sandboxes.values():
            sb.stop()
        if self.app is not None:
            if self.app.embedded is not None:
                self.app.embedded.stop()
            self.app.close()


def _first_slot(season: dict[str, Any]) -> datetime:
    from zoneinfo import ZoneInfo

    from episodes.calendar import parse_time, parse_weekday, weekly_slots
    from episodes.season import parse_season  # noqa: F401  (the same rules as season load)

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


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("   {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _wtg_exe() -> str:
    return str(Path(sys.executable).parent / "wtg")


COMMANDS = [demo]

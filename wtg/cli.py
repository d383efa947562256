"""``wtg``: the command line for staff and operators.

    wtg init                     create the database (and var/ folders)
    wtg season load FILE         load or update the season (idempotent)
    wtg episode list|show N      the episodes; show previews each account's text
    wtg status [--json]          episodes x accounts: state, slot, link, last error
    wtg worker                   run a Celery worker (queues media, publish), restarted if it dies
    wtg broker start|stop|status the embedded broker (without WTG_BROKER_URL)
    wtg scheduler                run the weekly posting job
    wtg web                      run the staff dashboard
    wtg demo                     the whole season end to end against local sandboxes
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from config import Settings, SettingsError, load_settings

from .startup import with_connections


class Ctx:
    """Lazily loaded settings (so ``--help`` works without any configuration)."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                settings = load_settings(config_file=self.config)
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from None
            from .startup import account_problems

            problems = account_problems(settings)  # every command starts from valid accounts
            if problems:
                raise click.ClickException(problems)
            self._settings = with_connections(settings)
        return self._settings

    def app(self, *, start_broker: bool = False) -> Any:
        """The wired app. ``start_broker``: this command uses the embedded broker (and starts
        it if needed); it signs off when the command ends, however it ends, and the last user
        of a broker started that way stops it (``workers.broker.SharedBroker``)."""
        from workers.broker import BrokerError

        from .wiring import build

        try:
            app = build(self.settings, start_broker=start_broker)
        except BrokerError as exc:
            raise click.ClickException(str(exc)) from None
        _on_command_end(app.close)
        if app.shared is not None:
            _exit_on_sigterm()
        return app

    def use_broker(self) -> str:
        """Only the broker, as :meth:`app` with ``start_broker`` uses it: its URL."""
        from workers.broker import BrokerError, SharedBroker

        from .wiring import embedded_broker

        if self.settings.broker_url:
            return self.settings.broker_url
        shared = SharedBroker(embedded_broker(self.settings))
        try:
            url = shared.acquire()
        except BrokerError as exc:
            raise click.ClickException(str(exc)) from None
        _on_command_end(shared.release)
        _exit_on_sigterm()
        return url

    @contextmanager
    def opened(self, *, start_broker: bool = False) -> Iterator[Any]:
        """The wired app for one command, closed afterwards."""
        app = self.app(start_broker=start_broker)
        try:
            yield app
        finally:
            app.close()

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A database session (one transaction) for one command."""
        with self.opened() as app, app.db.session() as s:
            yield s


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "-c", type=click.Path(path_type=Path, dir_okay=False),
    envvar="WTG_CONFIG", help="Einstellungsdatei (Standard: wtg.toml, falls vorhanden).",
)
@click.pass_context
def main(click_ctx: click.Context, config: Path | None) -> None:
    """wtg plant und veröffentlicht die Videoreihe „Wir tun GUTes“.

    Jede Woche geht eine Folge auf allen Konten des Landkreises online
    (Facebook, Instagram, YouTube, Mastodon, TikTok) – mit Untertiteln.
    """
    click_ctx.obj = Ctx(config)


@main.command()
@pass_ctx
def init(ctx: Ctx) -> None:
    """Datenbank anlegen bzw. auf den neuesten Stand bringen."""
    with ctx.opened():
        for d in (ctx.settings.media_root, ctx.settings.secrets_dir):
            d.mkdir(parents=True, exist_ok=True)
    click.echo(f"Datenbank bereit: {_safe_url(ctx.settings.database_url)}")


# --- season -----------------------------------------------------------------------------------
@main.group()
def season() -> None:
    """Staffel laden und prüfen."""


@season.command("load")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--check", is_flag=True, help="Nur prüfen, nichts speichern.")
@click.option("--no-media", is_flag=True, help="Videos noch nicht zur Aufbereitung einreihen.")
@pass_ctx
def season_load(ctx: Ctx, file: Path, check: bool, no_media: bool) -> None:
    """Staffeldatei FILE laden (Standard: season_file aus den Einstellungen). Erneutes Laden
    aktualisiert, verdoppelt nie."""
    from episodes.season import SeasonError, apply_season, parse_season
    from episodes.store import sync_accounts
    from workers.media.intake import SeasonMediaCheck
    from workers.media.profiles import load_profiles
    from workers.preflight import spec_text_problems

    from .queueing import queue_media_for

    file = file or ctx.settings.season_file
    known = {a.name for a in ctx.settings.accounts}
    # the dashboard upload's checks on every named video and subtitle file
    media_check = SeasonMediaCheck(load_profiles(ctx.settings.media_profiles_file).values(),
                                   branding=ctx.settings.media_branding)
    try:
        spec = parse_season(file, known_accounts=known, media_check=media_check)
        too_long = spec_text_problems(ctx.settings, spec)
        if too_long:  # refused at queue time, not at posting time
            raise SeasonError(file, too_long)
    except SeasonError as exc:
        raise click.ClickException(str(exc)) from None
    for note in spec.notes:
        click.echo(f"Hinweis: {note}")
    if check:
        click.echo(f"{file}: in Ordnung ({len(spec.episodes)} Folgen).")
        return
    app = ctx.app(start_broker=not no_media)
    try:
        with app.db.session() as s:
            accounts = sync_accounts(s, ctx.settings.accounts)
            report = apply_season(s, spec, accounts)
    except SeasonError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Staffel „{spec.name}“ geladen: {len(report.created)} neu, {len(report.updated)} "
        f"geändert, {len(report.unchanged)} unverändert, {len(report.removed)} entfernt; "
        f"{report.posts_created} Beiträge angelegt."
    )
    queued = queue_media_for(app, report.series_id, send=not no_media)
    if queued:
        click.echo(f"{queued} Folge(n) zur Videoaufbereitung eingereiht (wtg worker).")
    app.close()


# --- episodes ---------------------------------------------------------------------------------
@main.group()
def episode() -> None:
    """Folgen ansehen."""


@episode.command("list")
@pass_ctx
def episode_list(ctx: Ctx) -> None:
    """Alle Folgen mit Termin, Videostatus und Freigabe."""
    from .views import episode_table

    with ctx.opened() as app:
        episode_table(app)


@episode.command("show")
@click.argument("number", type=int)
@pass_ctx
def episode_show(ctx: Ctx, number: int) -> None:
    """Eine Folge: Daten und genau der Text, den jedes Konto erhält."""
    from .views import episode_detail

    with ctx.opened() as app:
        episode_detail(app, number)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Maschinenlesbar ausgeben.")
@pass_ctx
def status(ctx: Ctx, as_json: bool) -> None:
    """Übersicht: Folgen x Konten mit Zustand, Termin, Link und letztem Fehler."""
    from .views import status_data, status_table

    with ctx.opened() as app:
        if as_json:
            click.echo(json.dumps(status_data(app), ensure_ascii=False, indent=2))
        else:
            status_table(app)


# --- processes --------------------------------------------------------------------------------
@main.command()
@click.option("--queues", "-Q", default="media,publish", show_default=True)
@click.option("--concurrency", "-c", type=int, default=2, show_default=True)
@click.option("--name", "-n", default=None, help="Worker name (default: wtg-<queues>@host).")
@click.option("--pool", default="prefork", show_default=True)
@click.option("--supervise/--no-supervise", default=True, show_default=True,
              help="Den Celery-Worker als Kindprozess überwachen und neu starten, falls er "
                   "unerwartet endet.")
@click.option("--supervised-child", is_flag=True, hidden=True)
@pass_ctx
def worker(ctx: Ctx, queues: str, concurrency: int, name: str | None, pool: str,
           supervise: bool, supervised_child: bool) -> None:
    """Einen Worker starten (Videoaufbereitung und/oder Veröffentlichen).

    `wtg worker` überwacht den eigentlichen Celery-Worker: endet dieser unerwartet, wird er nach
    einer Wartezeit (1 s, 2 s, 4 s … höchstens 60 s) neu gestartet, protokolliert und eine
    Benachrichtigung angelegt. SIGTERM/SIGINT beenden beide sauber (laufende Aufgaben dürfen fertig
    werden)."""
    import socket

    from . import supervise as sv

    node = name or f"wtg-{queues.replace(',', '-')}-{_pid()}@{socket.gethostname()}"
    argv = ["worker", "-Q", queues, "-c", str(concurrency), "-n", node, "--pool", pool,
            "--without-gossip", "--without-mingle", "-l", ctx.settings.log_level]
    if supervised_child:  # the parent `wtg worker` uses the broker on its behalf
        sv.die_with_parent()
        ctx.app(start_broker=False).celery.worker_main(argv)
        return
    if not supervise:
        ctx.app(start_broker=True).celery.worker_main(argv)
        return
    from config.logging import setup_logging

    setup_logging(ctx.settings.log_level, json_lines=ctx.settings.log_json)
    ctx.use_broker()  # for as long as this supervisor runs; the child only connects
    child = [*sv.wtg_argv(ctx.config), "worker", "-Q", queues, "-c", str(concurrency), "-n", node,
             "--pool", pool, "--supervised-child"]
    notify = sv.crash_notifier(lambda: ctx.app(start_broker=False), node)
    sys.exit(sv.Supervisor(child, name=node, on_crash=notify).run())


@main.group()
def broker() -> None:
    """Den eingebauten Broker verwalten (nur ohne WTG_BROKER_URL).

    Ohne `wtg broker start` startet jeder wtg-Befehl, der den Broker braucht, ihn bei Bedarf
    selbst; der letzte von ihnen beendet ihn wieder. Mit `wtg broker start` gestartet läuft
    er, bis `wtg broker stop` ihn beendet."""


def _shared(ctx: Ctx) -> Any:
    from workers.broker import SharedBroker

    from .wiring import embedded_broker

    if ctx.settings.broker_url:
        raise click.ClickException(
            f"Es ist ein externer Broker eingestellt ({_safe_url(ctx.settings.broker_url)}); "
            "der eingebaute wird nicht verwendet.")
    return SharedBroker(embedded_broker(ctx.settings))


@broker.command("start")
@pass_ctx
def broker_start(ctx: Ctx) -> None:
    """Den eingebauten Broker starten; er läuft im Hintergrund, bis `wtg broker stop`."""
    from workers.broker import BrokerError

    try:
        click.echo(_shared(ctx).start_kept())
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from None


@broker.command("stop")
@pass_ctx
def broker_stop(ctx: Ctx) -> None:
    """Den eingebauten Broker beenden (auch wenn wtg-Prozesse ihn noch nutzen)."""
    shared = _shared(ctx)
    users = shared.state().users
    if not shared.stop():
        click.echo("Kein eingebauter Broker von wtg läuft.")
        return
    click.echo("Broker beendet.")
    if users:
        click.echo(f"Hinweis: {len(users)} wtg-Prozess(e) nutzten ihn noch (PID "
                   f"{', '.join(map(str, users))}); sie verbinden sich neu, sobald er wieder "
                   "läuft.")


@broker.command("status")
@pass_ctx
def broker_status(ctx: Ctx) -> None:
    """Zeigt, ob der eingebaute Broker läuft (Exit-Code 0) oder nicht (Exit-Code 1)."""
    st = _shared(ctx).state()
    rows = [("PID", str(st.pid) if st.pid else "–"), ("Port", str(st.port)), ("URL", st.url),
            ("Datenverzeichnis", str(st.directory))]
    if st.running:
        rows.append(("genutzt von", (", ".join(map(str, st.users)) or "keinem") + " (wtg-PID)"))
        rows.append(("Lebensdauer", "endet mit dem letzten wtg-Prozess, der ihn nutzt"
                     if st.on_demand else "läuft, bis „wtg broker stop“"))
    click.echo(f"Eingebauter Broker: {'läuft' if st.running else 'läuft nicht'}")
    for label, value in rows:
        click.echo(f"  {label + ':':18} {value}")
    sys.exit(0 if st.running else 1)


def _on_command_end(callback: Any) -> None:
    click_ctx = click.get_current_context(silent=True)
    if click_ctx is not None:
        click_ctx.call_on_close(callback)


def _exit_on_sigterm() -> None:
    """SIGTERM ends a command like Ctrl+C would (so it signs off the broker), unless the
    command handles SIGTERM itself."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_exit)


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _pid() -> int:
    import os

    return os.getpid()


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _register_commands() -> None:
    """Commands that live in their own modules (scheduler, dashboard, demo)."""
    from . import cli_dashboard, cli_schedule, demo

    for module in (cli_schedule, cli_dashboard, demo):
        for cmd in module.COMMANDS:
            main.add_command(cmd)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

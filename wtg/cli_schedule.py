"""Commands of the weekly posting job (registered by ``wtg.cli``):

    wtg schedule [--ics FILE]        the slot calendar (German, local times); iCalendar export
    wtg scheduler                    run the scheduler (one active, others stand by)
    wtg publish-now N [--platform P] send episode N now
    wtg retry [N | --post ID]        failed / needs attention / missed posts go out again
    wtg pause | wtg resume           paused slots are held: the series moves a week per slot
    wtg reschedule N WHEN            a new slot ("2022-12-01 17:00" local, or ISO 8601)

Manual controls record the actor (``--actor``, default the OS user) in the audit trail.
"""

from __future__ import annotations

import getpass
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from .cli import Ctx, pass_ctx


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


actor_option = click.option("--actor", default=_default_actor, show_default="OS-Benutzer",
                            help="Wer das veranlasst (erscheint im Protokoll).")
series_option = click.option("--series", "series_slug", default=None,
                             help="Reihe (slug); Standard: die erste geladene.")


def _deps(app: Any) -> Any:
    from scheduler.clock import clock_for
    from scheduler.jobs import Deps

    return Deps(db=app.db, sender=app.celery, settings=app.settings,
                clock=clock_for(app.settings, app.db, create=False))


def _control(ctx: Ctx, fn: Any, *args: Any, **kw: Any) -> None:
    from scheduler.controls import ControlError

    try:
        with ctx.opened() as app:
            done = fn(_deps(app), *args, **kw)
    except ControlError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(done.message_de)


# --- the calendar -----------------------------------------------------------------------------
@click.command("schedule")
@click.option("--ics", "ics_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Zusätzlich als iCalendar-Datei (.ics) zum Abonnieren schreiben.")
@series_option
@pass_ctx
def schedule_cmd(ctx: Ctx, ics_file: Path | None, series_slug: str | None) -> None:
    """Sendeplan: jede Folge mit Termin (Ortszeit) und Stand."""
    from episodes import store
    from episodes.calendar import WEEKDAYS_DE, format_de
    from episodes.lifecycle import LABEL_DE, PostState
    from episodes.models import utcnow
    from episodes.slots import not_ready
    from scheduler.ics import CalendarEvent, to_ics

    with ctx.opened() as app, app.db.session() as s:
        series = store.get_series(s, series_slug)
        if series is None:
            raise click.ClickException("Keine Staffel geladen (wtg season load …).")
        tz = ZoneInfo(series.timezone)
        policy = {"hold": "halten (Reihe rückt eine Woche nach)", "skip": "überspringen"}
        click.echo(f"Sendeplan „{series.name}“ – {WEEKDAYS_DE[series.weekday].lower()}s "
                   f"{series.time_of_day} Uhr ({series.timezone})")
        blackout = ", ".join(_de_date(d) for d in series.blackout_dates) or "keine"
        click.echo(f"Zeitraum {series.first_date:%d.%m.%Y} – {series.last_date:%d.%m.%Y}"
                   f" · Sperrtermine: {blackout}"
                   f" · nicht bereit: {policy[app.settings.not_ready_policy]}")
        if series.paused:
            click.echo("PAUSIERT: Termine werden gehalten, bis „wtg resume“.")
        click.echo(f"{'Folge':9} {'Termin':25} {'Titel':44} Stand")
        events = []
        for ep in store.episodes_of(s, series.id):
            states = Counter(p.state for p in ep.posts)
            stand = ", ".join(f"{n}× {LABEL_DE[PostState(st)]}"
                              for st, n in sorted(states.items())) or "keine Konten"
            waiting = any(p.state in ("pending", "preparing", "ready") for p in ep.posts)
            problems = not_ready(ep) if waiting else []
            if problems:
                stand += " – nicht bereit: " + ", ".join(p.code for p in problems)
            when = format_de(ep.slot_at, tz) if ep.slot_at else "ohne Termin"
            click.echo(f"{ep.label:9} {when:25} {_cut(ep.title, 44):44} {stand}")
            if ep.slot_at:
                done = {"cancelled", "skipped"}
                status = ("CANCELLED" if ep.posts and set(states) <= done
                          else "TENTATIVE" if problems else "CONFIRMED")
                events.append(CalendarEvent(
                    series_slug=series.slug, number=ep.number, title=ep.title,
                    start=ep.slot_at, location=ep.place, url=series.link, status=status,
                    description=f"{ep.label} · {stand}"))
        if ics_file is not None:
            ics_file.write_bytes(to_ics(series.name, events, stamp=utcnow()).encode())
            click.echo(f"iCalendar geschrieben: {ics_file} ({len(events)} Termine)")


def _de_date(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}.{m}.{y}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the process ------------------------------------------------------------------------------
@click.command("scheduler")
@click.option("--name", default=None, help="Name dieser Instanz (Standard: Rechner:PID).")
@pass_ctx
def scheduler_cmd(ctx: Ctx, name: str | None) -> None:
    """Den wöchentlichen Sendeplaner starten. Es ist immer nur einer aktiv; ein zweiter wartet
    in Bereitschaft und übernimmt, wenn der erste ausfällt."""
    from scheduler.runner import Runner

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with ctx.opened(start_broker=True) as app:
        Runner(app.settings, app.db, app.celery, owner=name).run_forever(stop)


# --- manual controls --------------------------------------------------------------------------
@click.command("publish-now")
@click.argument("number", type=int)
@click.option("--platform", default=None, help="Nur diese Plattform (oder dieses Konto).")
@actor_option
@series_option
@pass_ctx
def publish_now_cmd(ctx: Ctx, number: int, platform: str | None, actor: str,
                    series_slug: str | None) -> None:
    """Folge NUMBER jetzt senden (nur freigegeben und mit fertigem Video)."""
    from scheduler.controls import publish_now

    _control(ctx, publish_now, number, platform=platform, actor=actor, series=series_slug)


@click.command("retry")
@click.argument("number", type=int, required=False)
@click.option("--post", "post_id", type=int, default=None, help="Nur diesen Beitrag (ID).")
@actor_option
@series_option
@pass_ctx
def retry_cmd(ctx: Ctx, number: int | None, post_id: int | None, actor: str,
              series_slug: str | None) -> None:
    """Fehlgeschlagene, verpasste oder hängende Beiträge erneut senden."""
    from scheduler.controls import retry

    _control(ctx, retry, number=number, post_id=post_id, actor=actor, series=series_slug)


@click.command("pause")
@actor_option
@series_option
@pass_ctx
def pause_cmd(ctx: Ctx, actor: str, series_slug: str | None) -> None:
    """Reihe pausieren: Termine werden gehalten (nichts geht raus, die Reihe rückt nach)."""
    from scheduler.controls import set_paused

    _control(ctx, set_paused, True, actor=actor, series=series_slug)


@click.command("resume")
@actor_option
@series_option
@pass_ctx
def resume_cmd(ctx: Ctx, actor: str, series_slug: str | None) -> None:
    """Pause beenden: der nächste Termin wird wieder gesendet."""
    from scheduler.controls import set_paused

    _control(ctx, set_paused, False, actor=actor, series=series_slug)


@click.command("reschedule")
@click.argument("number", type=int)
@click.argument("when")
@actor_option
@series_option
@pass_ctx
def reschedule_cmd(ctx: Ctx, number: int, when: str, actor: str,
                   series_slug: str | None) -> None:
    """Folge NUMBER auf den Termin WHEN legen („2022-12-01 17:00“ Ortszeit oder ISO 8601)."""
    from scheduler.controls import ControlError, parse_when, reschedule

    try:
        at = parse_when(when, ctx.settings.tz)
    except ControlError as exc:
        raise click.ClickException(str(exc)) from None
    _control(ctx, reschedule, number, at, actor=actor, series=series_slug)


COMMANDS = [schedule_cmd, scheduler_cmd, publish_now_cmd, retry_cmd, pause_cmd, resume_cmd,
            reschedule_cmd]

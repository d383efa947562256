"""What ``wtg status``, ``wtg episode list`` and ``wtg episode show`` print (rich tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from episodes import store
from episodes.captions import measure, render_for
from episodes.lifecycle import LABEL_DE, PostState
from episodes.models import PreflightResult

STYLE = {
    "published": "green", "scheduled": "green", "failed": "red", "needs_attention": "red",
    "missed": "red", "unconfirmed": "yellow", "uploading": "cyan", "processing": "cyan",
    "publishing": "cyan", "queued": "cyan",
}


WD = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def _de(at: datetime) -> str:
    return f"{WD[at.weekday()]} {at:%d.%m.%Y %H:%M}"


def _local(at: datetime | None, tz: ZoneInfo) -> str:
    return _de(at.astimezone(tz)) if at else "–"


def _series(app: Any, s: Any) -> Any:
    series = store.get_series(s)
    if series is None:
        raise click.ClickException("Noch keine Staffel geladen: wtg season load config/season.toml")
    return series


def status_data(app: Any) -> dict[str, Any]:
    tz = app.settings.tz
    with app.db.session() as s:
        series = _series(app, s)
        rows = store.status_grid(s, series.id)
        checks = _latest_preflight(s, series.id)
        return {
            "series": series.name,
            "timezone": series.timezone,
            "paused": series.paused,
            "episodes": [
                {
                    "number": r.number, "title": r.title, "place": r.place,
                    "slot": r.slot_at.astimezone(tz).isoformat() if r.slot_at else None,
                    "media": r.media_status, "approved": r.approved,
                    "preflight": checks.get(r.episode_id),
                    "posts": [
                        {"account": c.account, "platform": c.platform, "state": c.state,
                         "url": c.url, "error": c.error, "progress": c.progress,
                         "slot": c.slot_at.astimezone(tz).isoformat() if c.slot_at else None}
                        for c in r.cells
                    ],
                }
                for r in rows
            ],
        }


def _latest_preflight(s: Any, series_id: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    q = s.query(PreflightResult).order_by(PreflightResult.id)
    for row in q:
        out[row.episode_id] = {"kind": row.kind, "ok": row.ok,
                               "problems": [p["message_de"] for p in row.problems]}
    return out


def status_table(app: Any) -> None:
    data = status_data(app)
    accounts = sorted({p["account"] for e in data["episodes"] for p in e["posts"]})
    table = Table(title=f"{data['series']} ({data['timezone']})"
                  + (" – PAUSIERT" if data["paused"] else ""), show_lines=False)
    table.add_column("Nr", justify="right")
    table.add_column("Folge")
    table.add_column("Termin")
    table.add_column("Video")
    table.add_column("Frei")
    for a in accounts:
        table.add_column(a)
    errors = []
    for e in data["episodes"]:
        cells = {p["account"]: p for p in e["posts"]}
        row = [str(e["number"]), e["place"] or e["title"],
               _de(datetime.fromisoformat(e["slot"])) if e["slot"] else "–", e["media"],
               "ja" if e["approved"] else "nein"]
        for a in accounts:
            p = cells.get(a)
            if p is None:
                row.append("")
                continue
            label = LABEL_DE.get(PostState(p["state"]), p["state"])
            row.append(f"[{STYLE.get(p['state'], 'white')}]{label}[/]")
            if p["error"]:
                errors.append(f"Folge {e['number']} / {a}: {p['error']}")
            if p["url"]:
                errors.append(f"Folge {e['number']} / {a}: {p['url']}")
        pf = e.get("preflight")
        if pf and not pf["ok"]:
            errors.extend(f"Folge {e['number']} Vorabprüfung {pf['kind']}: {m}"
                          for m in pf["problems"])
        table.add_row(*row)
    console = Console(width=max(120, 40 + 18 * len(accounts)))
    console.print(table)
    for line in errors:
        console.print(f"  {line}", highlight=False, soft_wrap=True)


def episode_table(app: Any) -> None:
    tz = app.settings.tz
    with app.db.session() as s:
        series = _series(app, s)
        table = Table(title=series.name)
        for col in ("Nr", "Titel", "Ort", "Termin", "Video", "Untertitel", "Freigabe"):
            table.add_column(col)
        for ep in store.episodes_of(s, series.id):
            table.add_row(str(ep.number), ep.title, ep.place, _local(ep.slot_at, tz),
                          ep.media_status, "ja" if ep.subtitle_path else "FEHLT",
                          f"ja ({ep.approved_by})" if ep.approved else "nein")
    Console(width=160).print(table)


def episode_detail(app: Any, number: int) -> None:
    from workers.platforms.base import registry

    tz = app.settings.tz
    console = Console(width=110)
    with app.db.session() as s:
        series = _series(app, s)
        ep = store.get_episode(s, series.id, number)
        if ep is None:
            raise click.ClickException(f"Folge {number} gibt es nicht.")
        console.print(f"[bold]{ep.title}[/] ({ep.label}, {ep.place})")
        console.print(f"Termin: {_local(ep.slot_at, tz)}   Video: {ep.media_status}   "
                      f"Freigabe: {'ja' if ep.approved else 'nein'}   Revision {ep.revision}")
        for prob in ep.media_problems:
            console.print(f"  [{prob.get('severity')}] {prob.get('message_de')}")
        adapters = registry()
        for name in series.accounts:
            try:
                acc = app.settings.account(name)
            except KeyError:
                console.print(f"\n[red]{name}: Konto nicht eingerichtet[/]")
                continue
            text = render_for(ep, series, acc.platform)
            spec = adapters[acc.platform].SPEC
            n = measure(text.body, spec.text.body_unit, url_weight=spec.text.url_weight)
            console.rule(f"{name} ({spec.label}) – {n}/{spec.text.body_max} "
                         f"{'Bytes' if str(spec.text.body_unit) == 'bytes' else 'Zeichen'}")
            if text.title is not None:
                console.print(f"[bold]Titel:[/] {text.title}", highlight=False)
            console.print(text.body, highlight=False, markup=False)

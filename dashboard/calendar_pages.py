"""The calendar: month and week views of a series, with its blackout dates, the public
holidays of Mecklenburg-Vorpommern, and each episode with its approval and its state on every
account. Editors drag an episode onto another day (``static/calendar.js``; staff choose whether
later episodes make room) or click a day to add one; without JavaScript every episode has a
„Verschieben" link to a form (:mod:`.series_pages`)."""

from __future__ import annotations

import calendar as cal
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from episodes import store
from episodes.holidays import holiday_mv
from episodes.models import Episode, Series, utcnow
from episodes.moves import movable

from .auth import Staff, page_user
from .pages import deps_of, render
from .templating import MONTHS, WEEKDAYS, media_label, state_label
from .words import refused_by, short_heading

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Cell:
    account: str
    platform: str
    state: str
    label: str
    refused: str


@dataclass(frozen=True)
class Card:
    """One episode in the calendar."""

    id: int
    heading: str
    title: str
    time: str
    approved: bool
    media: str
    movable: bool
    cells: tuple[Cell, ...]


@dataclass
class Day:
    day: date
    in_range: bool
    holiday: str | None
    blackout: bool
    today: bool
    cards: list[Card] = field(default_factory=list)


def _cards(series: Series, episodes: list[Episode], names: dict[str, str]
           ) -> dict[date, list[Card]]:
    tz = ZoneInfo(series.timezone)
    out: dict[date, list[Card]] = defaultdict(list)
    for ep in sorted(episodes, key=lambda e: (e.slot_at is None, e.slot_at, e.number)):
        if ep.slot_at is None:
            continue
        local = ep.slot_at.astimezone(tz)
        cells = tuple(
            Cell(account=names.get(p.account.name, p.account.name), platform=p.account.platform,
                 state=p.state, label=state_label(p.state), refused=refused_by(p.last_error))
            for p in sorted(ep.posts, key=lambda p: p.account.name))
        out[local.date()].append(Card(
            id=ep.id, heading=short_heading(ep.number, ep.title, ep.place), title=ep.title,
            time=f"{local:%H:%M}", approved=ep.approved, media=media_label(ep.media_status),
            movable=movable(ep), cells=cells))
    return out


def _anchor(at: str, episodes: list[Episode], tz: ZoneInfo) -> date:
    """The day the view shows: ``at``, else the next episode's day, else today."""
    if at:
        try:
            return date.fromisoformat(at)
        except ValueError:
            raise HTTPException(404, "Dieses Datum gibt es nicht (bitte wie 2026-12-03).") \
                from None
    now = utcnow()
    upcoming = sorted(e.slot_at for e in episodes if e.slot_at is not None and e.slot_at >= now)
    return (upcoming[0] if upcoming else now).astimezone(tz).date()


def _days(series: Series, first: date, last: date, in_range: Any,
          cards: dict[date, list[Card]], today: date) -> list[Day]:
    blackouts = set(series.blackout_dates or [])
    out = []
    day = first
    while day <= last:
        out.append(Day(day=day, in_range=in_range(day), holiday=holiday_mv(day),
                       blackout=day.isoformat() in blackouts, today=day == today,
                       cards=cards.get(day, [])))
        day += timedelta(days=1)
    return out


@router.get("/calendar", response_class=HTMLResponse)
def calendar_view(request: Request, series: str | None = None, view: str = "month",
                  at: str = "", staff: Staff = Depends(page_user)) -> Response:
    deps = deps_of(request)
    names = {a.name: a.display_name or a.name for a in deps.settings.accounts}
    with deps.db.session() as s:
        everything = store.all_series(s)
        current = store.get_series(s, series) if everything else None
        if everything and current is None:
            raise HTTPException(404, "Diese Staffel gibt es nicht.")
        episodes = store.episodes_of(s, current.id) if current else []
    if current is None:
        return render(request, "calendar.html", staff, series=None, all_series=everything,
                      weeks=[], weekdays=WEEKDAYS)
    tz = ZoneInfo(current.timezone)
    anchor = _anchor(at, episodes, tz)
    cards = _cards(current, episodes, names)
    today = utcnow().astimezone(tz).date()
    week = view == "week"
    if week:
        first = anchor - timedelta(days=anchor.weekday())
        last = first + timedelta(days=6)
        title = f"Woche vom {first:%d.%m.} bis {last:%d.%m.%Y}"
        prev, nxt = first - timedelta(days=7), first + timedelta(days=7)

        def in_range(d: date) -> bool:
            return True
    else:
        grid = cal.Calendar(firstweekday=0).monthdatescalendar(anchor.year, anchor.month)
        first, last = grid[0][0], grid[-1][-1]
        title = f"{MONTHS[anchor.month - 1]} {anchor.year}"
        prev = (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
        nxt = (anchor.replace(day=28) + timedelta(days=4)).replace(day=1)

        def in_range(d: date) -> bool:
            return d.month == anchor.month
    days = _days(current, first, last, in_range, cards, today)
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    here = f"/calendar?series={current.slug}&view={'week' if week else 'month'}" \
           f"&at={anchor.isoformat()}"
    return render(request, "calendar.html", staff, series=current, all_series=everything,
                  weeks=weeks, weekdays=WEEKDAYS, view="week" if week else "month",
                  title=title, anchor=anchor, prev=prev, next=nxt, today=today, here=here,
                  can_edit=staff.can("editor"))

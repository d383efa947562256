"""Jinja2 templates (autoescaped) and the filters that put data into German words and
Europe/Berlin local time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from episodes.lifecycle import LABEL_DE, PostState
from episodes.users import ROLE_DE

from . import words
from .words import OUTCOME_DE

TEMPLATES = Path(__file__).resolve().parent / "templates"
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember")

MEDIA_DE = {
    "missing": "kein Video",
    "queued": "wartet auf Aufbereitung",
    "probing": "wird geprüft",
    "transcoding": "wird umgewandelt",
    "verified": "geprüft, bereit",
    "failed": "von wtg abgelehnt",
}


#: what a state waiting for staff means, in plain German
STATE_HELP = {
    PostState.FAILED: "Die Plattform hat den Beitrag abgelehnt oder es gab einen Fehler, der "
    "sich nicht von selbst behebt. Bitte die Meldung lesen, die Ursache beheben und dann "
    "„Erneut versuchen“ wählen.",
    PostState.NEEDS_ATTENTION: "wtg kann hier nicht allein weitermachen (z. B. abgelaufene "
    "Zugangsdaten oder ein unklarer Zustand bei der Plattform). Bitte die Meldung lesen; nach "
    "der Klärung „Erneut versuchen“ wählen.",
    PostState.MISSED: "Der Sendetermin ist verstrichen, während wtg nicht lief. „Erneut "
    "versuchen“ veröffentlicht den Beitrag jetzt.",
    PostState.UNCONFIRMED: "Ob die Plattform den Beitrag angenommen hat, war unklar; wtg prüft "
    "das selbst, bevor es etwas erneut sendet. Es wird nie doppelt gepostet.",
}


def local(value: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """An aware datetime as Europe/Berlin wall-clock time ("–" for none)."""
    if value is None:
        return "–"
    when = value.astimezone(BERLIN)
    text = when.strftime(fmt)
    if "%a" in fmt:
        text = text.replace(when.strftime("%a"), WEEKDAYS[when.weekday()])
    return text


def state_label(state: str) -> str:
    try:
        return LABEL_DE[PostState(state)]
    except ValueError:
        return state


def media_label(status: str) -> str:
    return MEDIA_DE.get(status, status)


def _make() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES))
    t.env.autoescape = True
    t.env.filters["local"] = local
    t.env.filters["state_label"] = state_label
    t.env.filters["media_label"] = media_label
    t.env.filters["role_label"] = lambda r: ROLE_DE.get(r, r)
    t.env.filters["outcome_label"] = lambda o: OUTCOME_DE.get(o, o)
    t.env.filters.update(words.FILTERS)  # the words staff use (accounts, formats, steps)
    t.env.globals.update(words.GLOBALS)
    t.env.globals["STATE_HELP"] = {str(k): v for k, v in STATE_HELP.items()}
    return t


templates = _make()

__all__ = ["BERLIN", "MEDIA_DE", "MONTHS", "WEEKDAYS", "local", "media_label", "state_label",
           "templates"]

"""Moving an episode to another slot (the calendar's drag and drop, its move form, the API's
``PATCH /episodes/{id}`` with ``slot``). Pure planning over loaded rows: :func:`plan_move`
returns the new slot of every episode that moves, or raises :class:`MoveRefused` with a German
sentence; the caller writes (``episodes.series_edit``).

A slot is wall-clock time in the series' timezone: moving an episode from October into
November keeps 17:00 local (the UTC instant changes with daylight saving time).

``shift``: staff choose whether the episodes at or after the target slot make room — each moves
to the next free slot of the series' weekly calendar (blackout dates skipped) after the one
before it, keeping their order — or whether everything else stays (then the target must be
free).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from .calendar import format_de, local_slot, next_weekly_slot
from .lifecycle import DUE_FROM
from .models import Episode, Series
from .slots import calendar_of

_DUE = {str(x) for x in DUE_FROM}


class MoveRefused(Exception):
    """The move cannot be done in this state (409); ``message_de`` says why."""

    def __init__(self, message_de: str) -> None:
        self.message_de = message_de
        super().__init__(message_de)


def movable(ep: Episode) -> bool:
    """Every post still waits for its slot (an episode without posts moves freely)."""
    return all(p.state in _DUE for p in ep.posts)


def slot_on(day: date, ep: Episode | None, series: Series) -> datetime:
    """The slot on ``day`` at the episode's own local time (or the series' time)."""
    tz = ZoneInfo(series.timezone)
    at = calendar_of(series)["at"]
    if ep is not None and ep.slot_at is not None:
        local = ep.slot_at.astimezone(tz)
        at = time(local.hour, local.minute)
    return local_slot(day, at, tz)


def plan_move(
    series: Series, ep: Episode, target: datetime, *, shift: bool, now: datetime,
    handled: Iterable[datetime] = (),
) -> dict[Episode, datetime]:
    """The episodes that move (``ep`` first) and their new slots."""
    tz = ZoneInfo(series.timezone)
    when = format_de(target, tz)
    if not movable(ep):
        raise MoveRefused(f"{ep.label} wird gerade gesendet oder ist schon veröffentlicht; der "
                          "Termin kann nicht mehr geändert werden.")
    if target.astimezone(UTC) <= now.astimezone(UTC):
        raise MoveRefused(f"Der Termin {when} liegt in der Vergangenheit.")
    done = {t.astimezone(UTC) for t in handled}
    if target.astimezone(UTC) in done:
        raise MoveRefused(f"Zum Termin {when} hat der Planer schon gearbeitet; bitte einen "
                          "anderen Termin wählen.")
    others = [e for e in series.episodes if e is not ep and e.slot_at is not None]
    at_target = [e for e in others if _same(e.slot_at, target)]
    if not shift:
        if at_target:
            raise MoveRefused(f"Am {when} ist schon {at_target[0].label} eingeplant. Bitte einen "
                              "freien Termin wählen oder die folgenden Folgen mitverschieben.")
        return {ep: target}
    chain = sorted((e for e in others if movable(e) and _key(e.slot_at) >= _key(target)),
                   key=lambda e: (_key(e.slot_at), e.number))
    fixed = {_key(e.slot_at) for e in others if e not in chain} | done
    if _key(target) in fixed:
        blocker = next((e for e in at_target if e not in chain), None)
        name = blocker.label if blocker else "eine andere Folge"
        raise MoveRefused(f"Am {when} ist schon {name} gesendet oder unterwegs; dieser Termin "
                          "ist nicht frei.")
    out = {ep: target}
    floor = target
    cal = calendar_of(series)
    for e in chain:
        new = e.slot_at
        assert new is not None
        if _key(new) <= _key(floor) or _key(new) in fixed:
            new = next_weekly_slot(floor, **cal)
            while _key(new) in fixed:
                new = next_weekly_slot(new, **cal)
        if not _same(new, e.slot_at):
            out[e] = new
        floor = new
    return out


def _key(when: datetime | None) -> datetime:
    assert when is not None
    return when.astimezone(UTC)


def _same(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and _key(a) == _key(b)


__all__ = ["MoveRefused", "movable", "plan_move", "slot_on"]

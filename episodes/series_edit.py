"""Editing a season in the dashboard and through the API: create and change a series, add,
change, renumber, move and remove episodes. Values arrive validated by the shared models
(:mod:`.season_models`); the rules of the season file apply (:mod:`.season`): an episode with a
post in flight or out keeps its texts, media and slot; a change starts a new revision (the
approval is void) and names its editor; every episode needs a slot.

Each function works in the caller's transaction and raises :class:`EditConflict` (the state
forbids it, HTTP 409) or :class:`EditInvalid` (the values do not fit, 422) before the caller
commits, so a refused edit writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .calendar import assign_slots, local_slot, parse_time, weekly_slots
from .lifecycle import DUE_FROM, PostState
from .models import Account, Episode, MediaStatus, Series
from .moves import MoveRefused, movable, plan_move
from .review import ReviewError, check_editable, record_edit
from .season import (
    DEFAULT_FIT,
    changed_fields,
    ep_label,
    follow_plan,
    is_frozen,
    series_values,
    sync_account_posts,
    too_few_slots,
)
from .season_export import season_dict
from .season_models import EpisodeIn, Problem, SeriesFields
from .slots import calendar_of, handled_slots, set_slot
from .store import audit, ensure_posts, transition

_DUE = {str(x) for x in DUE_FROM}


class EditConflict(Exception):
    """The state forbids the change (409); ``message_de`` says why."""

    def __init__(self, message_de: str) -> None:
        self.message_de = message_de
        super().__init__(message_de)


class EditInvalid(Exception):
    """The values do not fit the season (422); ``problems`` name the fields."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message_de for p in problems))


@dataclass
class Edited:
    """What an episode edit did: changed fields, moved episodes, whether media is prepared
    again (a new ``fit``)."""

    changed: list[str] = field(default_factory=list)
    moved: list[tuple[str, datetime | None, datetime]] = field(default_factory=list)
    media_again: bool = False


# --- current values (for PATCH: the request is laid over them and validated whole) -----------
def series_fields_of(series: Series) -> dict[str, Any]:
    return season_dict(series)["series"] | {"templates": dict(series.templates or {})}


def episode_fields_of(ep: Episode) -> dict[str, Any]:
    fit = {**DEFAULT_FIT, **(ep.fit or {})}
    return {"number": ep.number, "title": ep.title, "place": ep.place or "",
            "description": ep.description or "", "hashtags": list(ep.hashtags or []),
            "text": {k: dict(v) for k, v in (ep.text_overrides or {}).items()},
            "slot": ep.slot_at, "fit": fit["mode"], "focal_x": float(fit["focal_x"])}


# --- series -----------------------------------------------------------------------------------
def create_series(s: Session, fields: SeriesFields, *, actor: str) -> Series:
    if s.scalars(select(Series).where(Series.slug == fields.slug)).first() is not None:
        raise EditConflict(f"Eine Reihe mit dem Kürzel „{fields.slug}“ gibt es schon.")
    series = Series(slug=fields.slug, **series_values(fields))
    s.add(series)
    s.flush()
    audit(s, actor, "series.create", f"series:{series.slug}", name=series.name)
    return series


def update_series(s: Session, series: Series, fields: SeriesFields,
                  accounts: Mapping[str, Account], *, actor: str) -> list[str]:
    """Change the series' fields; episodes that are not out follow the new plan."""
    if fields.slug != series.slug:
        raise EditConflict("Das Kürzel einer Reihe bleibt fest (sonst entstünde eine neue Reihe).")
    values = series_values(fields)
    changed = [k for k, v in values.items() if getattr(series, k) != v]
    if not changed:
        return []
    old_accounts = list(series.accounts or [])
    old_tz, old_at = ZoneInfo(series.timezone), parse_time(series.time_of_day)
    for key in changed:
        setattr(series, key, values[key])
    if "time_of_day" in changed or "timezone" in changed:
        _follow_time(series, old_tz, old_at)
    replan(s, series, accounts, old_accounts=old_accounts)
    audit(s, actor, "series.edit", f"series:{series.slug}", fields=changed)
    return changed


def _follow_time(series: Series, old_tz: ZoneInfo, old_at: Any) -> None:
    """Fixed slots at the series' old time move to its new time on the same day."""
    tz, at = ZoneInfo(series.timezone), parse_time(series.time_of_day)
    for ep in series.episodes:
        if ep.slot_override is None or is_frozen(ep):
            continue
        local = ep.slot_override.astimezone(old_tz)
        if (local.hour, local.minute) == (old_at.hour, old_at.minute):
            ep.slot_override = local_slot(local.date(), at, tz)


def plan_of(series: Series) -> dict[int, datetime | None]:
    """Episode number -> planned slot: the weekly calendar, fixed slots kept."""
    cal = calendar_of(series)
    slots = weekly_slots(first=series.first_date, last=series.last_date, **cal)
    overrides = {e.number: e.slot_override for e in series.episodes
                 if e.slot_override is not None}
    return assign_slots([e.number for e in series.episodes], slots, overrides)


def replan(s: Session, series: Series, accounts: Mapping[str, Account], *,
           keep_current: bool = False, old_accounts: list[str] | None = None) -> None:
    """Every episode that is not out follows the plan (``keep_current``: episodes the plan
    would move are fixed where they are); posts follow their episode and the accounts."""
    plan = plan_of(series)
    if keep_current:
        for ep in series.episodes:
            if (not is_frozen(ep) and ep.slot_override is None and ep.slot_at is not None
                    and plan.get(ep.number) != ep.slot_at):
                ep.slot_override = ep.slot_at
        plan = plan_of(series)
    missing = sorted(n for n, at in plan.items() if at is None)
    if missing:
        raise EditInvalid([Problem(("last_date",), "last_date", too_few_slots(missing))])
    for ep in series.episodes:
        if not is_frozen(ep):
            follow_plan(ep, plan[ep.number])
    s.flush()
    sync_account_posts(s, series, old_accounts)
    ensure_posts(s, series, accounts)


# --- episodes ---------------------------------------------------------------------------------
def next_number(series: Series) -> int:
    return max((e.number for e in series.episodes), default=0) + 1


def add_episode(s: Session, series: Series, fields: EpisodeIn, accounts: Mapping[str, Account],
                *, actor: str, shift: bool = False, now: datetime) -> Episode:
    number = fields.number if fields.number is not None else next_number(series)
    if any(e.number == number for e in series.episodes):
        raise EditConflict(f"{ep_label(number)} gibt es in „{series.name}“ schon.")
    ep = Episode(number=number, media_status=MediaStatus.MISSING, edited_by=actor,
                 **_text_values(fields))
    series.episodes.append(ep)
    s.flush()
    if fields.slot is not None:
        _move(s, series, ep, aware_slot(fields.slot, series), shift=shift, now=now)
    replan(s, series, accounts, keep_current=fields.slot is not None)
    audit(s, actor, "episode.create", f"episode:{ep.id}", number=number, title=ep.title)
    return ep


def update_episode(s: Session, ep: Episode, fields: EpisodeIn, accounts: Mapping[str, Account],
                   *, actor: str, shift: bool = False, now: datetime) -> Edited:
    """Texts, number and slot of an episode (``fields``: its whole new state)."""
    series = ep.series
    out = Edited()
    values = _text_values(fields)
    out.changed = changed_fields(ep, values)
    if out.changed:
        try:
            check_editable(ep)
        except ReviewError as exc:
            raise EditConflict(exc.message_de) from None
        for key in out.changed:
            setattr(ep, key, values[key])
        record_edit(s, ep, actor, "episode.edit", fields=out.changed)
        if "fit" in out.changed and ep.source_path:  # the renditions are made again
            out.media_again = True
            ep.media_status = MediaStatus.QUEUED
            for p in ep.posts:
                if p.state in (PostState.READY, PostState.PREPARING):
                    transition(s, p.id, PostState.PENDING)
    if fields.number is not None and fields.number != ep.number:
        renumber(s, ep, fields.number, actor=actor)
        out.changed.append("number")
    if fields.slot is not None:
        target = aware_slot(fields.slot, series)
        if ep.slot_at is None or target != ep.slot_at:
            out.moved = move_episode(s, ep, target, accounts, actor=actor, shift=shift, now=now)
    return out


def move_episode(s: Session, ep: Episode, target: datetime, accounts: Mapping[str, Account], *,
                 actor: str, shift: bool, now: datetime) -> list[tuple[str, datetime | None,
                                                                      datetime]]:
    """Give ``ep`` the slot ``target``; with ``shift`` the later episodes make room."""
    series = ep.series
    moved = _move(s, series, ep, target, shift=shift, now=now)
    replan(s, series, accounts, keep_current=True)
    audit(s, actor, "episode.move", f"episode:{ep.id}", shift=shift,
          moves=[{"episode": label, "old": old, "new": new} for label, old, new in moved])
    return moved


def _move(s: Session, series: Series, ep: Episode, target: datetime, *, shift: bool,
          now: datetime) -> list[tuple[str, datetime | None, datetime]]:
    try:
        plan = plan_move(series, ep, target, shift=shift, now=now,
                         handled=handled_slots(s, series.id))
    except MoveRefused as exc:
        raise EditConflict(exc.message_de) from None
    moved = []
    for e, new in plan.items():
        moved.append((e.label, e.slot_at, new))
        e.slot_override = new
        e.planned_slot_at = new
        set_slot(s, e, new)
    s.flush()
    return moved


def renumber(s: Session, ep: Episode, number: int, *, actor: str) -> None:
    """Give ``ep`` another number; an episode holding that number takes ``ep``'s (the order of
    the season changes, and with it which free slot each takes)."""
    series = ep.series
    other = next((e for e in series.episodes if e.number == number and e is not ep), None)
    for e in (ep, other):
        if e is not None and not movable(e):
            raise EditConflict(f"{e.label} wird gerade gesendet oder ist schon veröffentlicht; "
                               "ihre Nummer bleibt.")
    old = ep.number
    if other is not None:
        other.number = -1 - old  # out of the way of the unique (series, number) pair
        s.flush()
    ep.number = number
    s.flush()
    if other is not None:
        other.number = old
    s.flush()
    audit(s, actor, "episode.renumber", f"episode:{ep.id}", old=old, new=number,
          swapped_with=other.id if other is not None else None)


def remove_episode(s: Session, ep: Episode, accounts: Mapping[str, Account], *,
                   actor: str) -> None:
    """Delete an episode while nothing of it is in flight or out; later episodes move up."""
    busy = [p for p in ep.posts
            if p.state not in _DUE | {PostState.CANCELLED, PostState.SKIPPED,
                                       PostState.MISSED, PostState.FAILED} or p.public_url]
    if busy:
        raise EditConflict(f"{ep.label} kann nicht gelöscht werden: ein Beitrag ist unterwegs, "
                           "veröffentlicht oder wartet auf eine Entscheidung.")
    series = ep.series
    audit(s, actor, "episode.delete", f"episode:{ep.id}", number=ep.number, title=ep.title)
    series.episodes.remove(ep)
    s.flush()
    replan(s, series, accounts)


def _text_values(fields: EpisodeIn) -> dict[str, Any]:
    return {"title": fields.title, "place": fields.place, "description": fields.description,
            "hashtags": list(fields.hashtags),
            "text_overrides": {k: dict(v) for k, v in fields.text.items()},
            "fit": {"mode": fields.fit, "focal_x": fields.focal_x}}


def aware_slot(slot: datetime, series: Series) -> datetime:
    """A slot without offset is wall-clock time of the series."""
    if slot.tzinfo is not None:
        return slot
    return local_slot(slot.date(), slot.time(), ZoneInfo(series.timezone))


def on_day(series: Series, day: date) -> datetime:
    """The series' slot time on ``day`` (DST-correct)."""
    cal = calendar_of(series)
    return local_slot(day, cal["at"], cal["tz"])


__all__ = [
    "EditConflict", "EditInvalid", "Edited", "add_episode", "create_series",
    "episode_fields_of", "move_episode", "next_number", "on_day", "plan_of", "remove_episode",
    "renumber", "replan", "series_fields_of", "update_episode", "update_series",
]

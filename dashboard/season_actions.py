"""Season editing shared by the pages and the JSON API: validate with the shared models
(:mod:`episodes.season_models`), change in one transaction (:mod:`episodes.series_edit`), send
media tasks after the commit. A refusal is :class:`Refused` with the HTTP status, a German
sentence and, for invalid values, the fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from episodes import series_edit as edit
from episodes import store
from episodes.models import Account, Episode, Series, utcnow
from episodes.moves import slot_on
from episodes.season import (
    SeasonConflict,
    SeasonError,
    apply_season,
    changed_fields,
    episode_values,
    parse_season_text,
    series_values,
)
from episodes.season_export import season_toml
from episodes.season_models import EpisodeIn, Problem, SeriesFields, problems_of
from workers.task_names import MEDIA_PREPARE

from .app import Wtg
from .auth import Staff

M = TypeVar("M", bound=BaseModel)
BUSY_MEDIA = ("queued", "probing", "transcoding")


class Refused(Exception):
    """``status`` 404/409/422; ``message_de`` for staff; ``problems`` name fields (422)."""

    def __init__(self, status: int, message_de: str, problems: list[Problem] | None = None):
        self.status = status
        self.message_de = message_de
        self.problems = problems or []
        super().__init__(message_de)


def validate(model: type[M], data: Mapping[str, Any], deps: Wtg) -> M:
    """``data`` through the shared model, with the settings' accounts as the known ones."""
    try:
        return model.model_validate(dict(data), context={
            "known_accounts": {a.name for a in deps.settings.accounts}})
    except ValidationError as exc:
        problems = problems_of(exc)
        raise Refused(422, "Bitte die markierten Angaben prüfen.", problems) from None


def _accounts(s: Session, deps: Wtg) -> dict[str, Account]:
    return store.sync_accounts(s, deps.settings.accounts)


def _series(s: Session, slug: str) -> Series:
    series = store.get_series(s, slug) if slug else None
    if series is None:
        raise Refused(404, "Diese Reihe gibt es nicht.")
    return series


def _episode(s: Session, episode_id: int) -> Episode:
    ep = s.get(Episode, episode_id)
    if ep is None:
        raise Refused(404, "Diese Folge gibt es nicht.")
    return ep


def _edits(fn: Any) -> Any:
    """Run a domain edit, turning its refusals into :class:`Refused`."""
    try:
        return fn()
    except edit.EditConflict as exc:
        raise Refused(409, exc.message_de) from None
    except edit.EditInvalid as exc:
        raise Refused(422, str(exc), exc.problems) from None


# --- series -----------------------------------------------------------------------------------
def create_series(deps: Wtg, staff: Staff, data: Mapping[str, Any]) -> str:
    fields = validate(SeriesFields, data, deps)
    with deps.db.session() as s:
        series = _edits(lambda: edit.create_series(s, fields, actor=staff.username))
        return str(series.slug)


def update_series(deps: Wtg, staff: Staff, slug: str, patch: Mapping[str, Any]) -> list[str]:
    """``patch`` laid over the series' current values, validated whole, then applied."""
    if "slug" in patch and patch["slug"] != slug:
        raise Refused(409, "Das Kürzel einer Reihe bleibt fest (sonst entstünde eine neue Reihe).")
    with deps.db.session() as s:
        series = _series(s, slug)
        fields = validate(SeriesFields, {**edit.series_fields_of(series), **patch}, deps)
        rows = _accounts(s, deps)
        return _edits(lambda: edit.update_series(s, series, fields, rows,  # type: ignore[no-any-return]
                                                 actor=staff.username))


# --- episodes ---------------------------------------------------------------------------------
def add_episode(deps: Wtg, staff: Staff, slug: str, data: Mapping[str, Any], *,
                shift: bool = False) -> int:
    fields = validate(EpisodeIn, data, deps)
    with deps.db.session() as s:
        series = _series(s, slug)
        rows = _accounts(s, deps)
        ep = _edits(lambda: edit.add_episode(s, series, fields, rows, actor=staff.username,
                                             shift=shift, now=utcnow()))
        return int(ep.id)


@dataclass
class EpisodeChange:
    changed: list[str] = field(default_factory=list)
    moved: list[tuple[str, datetime | None, datetime]] = field(default_factory=list)


def update_episode(deps: Wtg, staff: Staff, episode_id: int, patch: Mapping[str, Any], *,
                   shift: bool = False) -> EpisodeChange:
    with deps.db.session() as s:
        ep = _episode(s, episode_id)
        fields = validate(EpisodeIn, {**edit.episode_fields_of(ep), **patch}, deps)
        busy = ep.media_status in BUSY_MEDIA
        rows = _accounts(s, deps)
        done = _edits(lambda: edit.update_episode(s, ep, fields, rows, actor=staff.username,
                                                  shift=shift, now=utcnow()))
        # the title is on the intro card; a job running on the old revision drops its result
        again = done.media_again or (bool(ep.source_path) and bool(done.changed)
                                     and (busy or "title" in done.changed))
    if again:
        deps.send(MEDIA_PREPARE, episode_id)
    return EpisodeChange(done.changed, done.moved)


def move_to_day(deps: Wtg, staff: Staff, episode_id: int, day: date, *, shift: bool,
                at: str | None = None) -> list[tuple[str, datetime | None, datetime]]:
    """The calendar's move: ``day`` at the episode's own local time (or ``at``, HH:MM)."""
    with deps.db.session() as s:
        ep = _episode(s, episode_id)
        if at:
            slot = validate(EpisodeIn, {"title": ep.title, "slot": f"{day.isoformat()}T{at}"},
                            deps).slot
            assert slot is not None
            target = edit.aware_slot(slot, ep.series)
        else:
            target = slot_on(day, ep, ep.series)
        rows = _accounts(s, deps)
        return _edits(lambda: edit.move_episode(  # type: ignore[no-any-return]
            s, ep, target, rows, actor=staff.username, shift=shift, now=utcnow()))


def remove_episode(deps: Wtg, staff: Staff, episode_id: int) -> str:
    with deps.db.session() as s:
        ep = _episode(s, episode_id)
        slug = ep.series.slug
        rows = _accounts(s, deps)
        _edits(lambda: edit.remove_episode(s, ep, rows, actor=staff.username))
        return slug


def renumber(deps: Wtg, staff: Staff, episode_id: int, step: int) -> str:
    """Swap the episode with its neighbour in the order (``step`` -1: earlier, +1: later)."""
    with deps.db.session() as s:
        ep = _episode(s, episode_id)
        order = sorted(e.number for e in ep.series.episodes)
        i = order.index(ep.number) + step
        if not 0 <= i < len(order):
            raise Refused(409, f"{ep.label} steht schon am {'Anfang' if step < 0 else 'Ende'}.")
        rows = _accounts(s, deps)
        series = ep.series

        def swap() -> None:
            edit.renumber(s, ep, order[i], actor=staff.username)
            edit.replan(s, series, rows)

        _edits(swap)
        return str(series.slug)


# --- export and import ------------------------------------------------------------------------
def export(deps: Wtg, slug: str) -> str:
    with deps.db.session() as s:
        return season_toml(_series(s, slug))


@dataclass
class ImportResult:
    """What an import changes (or changed): for the preview and the API."""

    slug: str
    name: str
    applied: bool
    new_series: bool
    series_changes: list[str] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    updated: dict[int, list[str]] = field(default_factory=dict)
    unchanged: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return bool(self.new_series or self.series_changes or self.created or self.updated
                    or self.removed)


class _DryRun(Exception):
    def __init__(self, result: ImportResult) -> None:
        self.result = result


def import_season(deps: Wtg, staff: Staff, raw: bytes, *, dry_run: bool,
                  name: str = "Import") -> ImportResult:
    """Validate the season file text and show (``dry_run``) or apply what it changes; raises
    :class:`Refused` (422 problems, 409 published episodes) with nothing written."""
    from workers.preflight import spec_text_problems

    try:
        spec = parse_season_text(raw, origin=Path(name), base=None,
                                 known_accounts={a.name for a in deps.settings.accounts})
        too_long = spec_text_problems(deps.settings, spec)
        if too_long:
            raise SeasonError(name, too_long)
    except SeasonError as exc:
        raise Refused(422, str(exc), [Problem(("toml",), "toml", p) for p in exc.problems]) \
            from None
    try:
        with deps.db.session() as s:
            series = store.get_series(s, spec.slug)
            result = ImportResult(slug=spec.slug, name=spec.name, applied=not dry_run,
                                  new_series=series is None, notes=list(spec.notes))
            if series is not None:
                _diff(series, spec, result)
            report = apply_season(s, spec, _accounts(s, deps), actor=staff.username,
                                  editor=staff.username)
            result.created, result.unchanged = report.created, report.unchanged
            result.removed = report.removed
            if dry_run:
                raise _DryRun(result)  # rolls the transaction back: nothing is written
            store.audit(s, staff.username, "season.import", f"series:{spec.slug}",
                        digest=spec.digest, created=result.created,
                        updated=sorted(result.updated), removed=result.removed)
    except _DryRun as done:
        return done.result
    except SeasonConflict as exc:
        raise Refused(409, str(exc), [Problem(("toml",), "toml", p) for p in exc.problems]) \
            from None
    return result


def _diff(series: Series, spec: Any, result: ImportResult) -> None:
    new = series_values(spec)
    result.series_changes = [k for k, v in new.items() if getattr(series, k) != v]
    existing = {e.number: e for e in series.episodes}
    for e in spec.episodes:
        ep = existing.get(e.number)
        if ep is not None:
            changed = changed_fields(ep, episode_values(e))
            if ep.slot_override != e.slot:
                changed.append("slot")
            if changed:
                result.updated[e.number] = changed


__all__ = ["EpisodeChange", "ImportResult", "Refused", "add_episode", "create_series",
           "export", "import_season", "move_to_day", "remove_episode", "renumber",
           "update_episode", "update_series", "validate"]

"""JSON API for running the season (``/api/v1``): create and change series, add, change, move
and delete episodes, export and import the season file. Bodies use the season file's field
names and the same rules (:mod:`episodes.season_models`); errors come back with a German
``detail`` (422: a list naming each field; 409: the state forbids the change). Same roles as
the pages: reading needs a login, changing the role „Bearbeiten"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from episodes import store
from episodes.models import Episode, Series
from episodes.season_models import EpisodeIn, EpisodePatch, SeriesFields, SeriesPatch

from .api import CONFLICT, ERRORS, Editor, EpisodeOut, Viewer, _episode_out
from .pages import RowId
from .season_actions import (
    ImportResult,
    Refused,
    add_episode,
    create_series,
    export,
    import_season,
    remove_episode,
    update_episode,
    update_series,
)

router = APIRouter(tags=["wtg"], responses=ERRORS)
Shift = Annotated[bool, Query(description="spätere Folgen rücken nach, wenn der Termin belegt "
                                          "ist (sonst muss er frei sein)")]


class EpisodeBrief(BaseModel):
    id: int
    number: int
    title: str
    slot_at: datetime | None


class SeriesDetail(BaseModel):
    id: int
    slug: str
    name: str
    timezone: str
    weekday: int = Field(description="0 = Montag … 6 = Sonntag")
    time: str
    first_date: date
    last_date: date
    blackout_dates: list[date]
    hashtags: list[str]
    accounts: list[str]
    link: str
    credits: str
    templates: dict[str, dict[str, str]]
    paused: bool
    episodes: list[EpisodeBrief]


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    toml: str = Field(max_length=900_000, description="der Text der Staffeldatei")
    dry_run: bool = Field(True, description="nur zeigen, was sich ändern würde")


class ImportOut(BaseModel):
    slug: str
    name: str
    applied: bool
    new_series: bool
    series_changes: list[str]
    created: list[int]
    updated: dict[str, list[str]]
    unchanged: list[int]
    removed: list[int]
    notes: list[str]


def _deps(request: Request) -> Any:
    return request.app.state.wtg


def _refused(exc: Refused) -> Exception:
    """422 as FastAPI's validation errors (``loc``/``msg``/``type``, German), else the
    status with a German ``detail``."""
    from fastapi import HTTPException

    if exc.status == 422 and exc.problems:
        return RequestValidationError([
            {"loc": ["body", *p.loc], "msg": p.message_de, "type": "wtg"} for p in exc.problems])
    return HTTPException(exc.status, exc.message_de)


def _detail(request: Request, slug: str) -> SeriesDetail:
    with _deps(request).db.session() as s:
        series = store.get_series(s, slug)
        if series is None:
            raise _refused(Refused(404, "Diese Reihe gibt es nicht."))
        return _series_out(series)


def _series_out(x: Series) -> SeriesDetail:
    return SeriesDetail(
        id=x.id, slug=x.slug, name=x.name, timezone=x.timezone, weekday=x.weekday,
        time=x.time_of_day, first_date=x.first_date, last_date=x.last_date,
        blackout_dates=[date.fromisoformat(d) for d in x.blackout_dates or []],
        hashtags=list(x.hashtags or []), accounts=list(x.accounts or []), link=x.link or "",
        credits=x.credits or "",
        templates={k: {kk: str(vv) for kk, vv in (v or {}).items()}
                   for k, v in (x.templates or {}).items()},
        paused=bool(x.paused),
        episodes=[EpisodeBrief(id=e.id, number=e.number, title=e.title, slot_at=e.slot_at)
                  for e in sorted(x.episodes, key=lambda e: e.number)])


def _episode(request: Request, episode_id: int) -> EpisodeOut:
    with _deps(request).db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise _refused(Refused(404, "Diese Folge gibt es nicht."))
        return _episode_out(ep)


@router.post("/series", response_model=SeriesDetail, status_code=201, responses=CONFLICT)
def series_create(request: Request, body: SeriesFields, staff: Editor) -> SeriesDetail:
    """Eine neue Reihe (noch ohne Folgen)."""
    try:
        slug = create_series(_deps(request), staff, body.model_dump())
    except Refused as exc:
        raise _refused(exc) from None
    return _detail(request, slug)


@router.get("/series/{slug}", response_model=SeriesDetail)
def series_get(request: Request, slug: str, staff: Viewer) -> SeriesDetail:
    return _detail(request, slug)


@router.patch("/series/{slug}", response_model=SeriesDetail, responses=CONFLICT)
def series_patch(request: Request, slug: str, body: SeriesPatch,  # type: ignore[valid-type]
                 staff: Editor) -> SeriesDetail:
    """Felder ändern; nicht genannte bleiben. Folgen, die noch nicht unterwegs sind, folgen
    dem neuen Plan."""
    try:
        update_series(_deps(request), staff, slug,
                      body.model_dump(exclude_unset=True))  # type: ignore[attr-defined]
    except Refused as exc:
        raise _refused(exc) from None
    return _detail(request, slug)


@router.post("/series/{slug}/episodes", response_model=EpisodeOut, status_code=201,
             responses=CONFLICT)
def episode_create(request: Request, slug: str, body: EpisodeIn, staff: Editor,
                   shift: Shift = False) -> EpisodeOut:
    """Eine neue Folge; ohne ``slot`` nimmt sie den nächsten freien Termin der Reihe."""
    try:
        episode_id = add_episode(_deps(request), staff, slug,
                                 body.model_dump(exclude_unset=True), shift=shift)
    except Refused as exc:
        raise _refused(exc) from None
    return _episode(request, episode_id)


@router.patch("/episodes/{episode_id}", response_model=EpisodeOut, responses=CONFLICT)
def episode_patch(request: Request, episode_id: RowId, body: EpisodePatch,  # type: ignore[valid-type]
                  staff: Editor, shift: Shift = False) -> EpisodeOut:
    """Texte, Ort, Nummer oder Termin (``slot``, ISO 8601 mit Offset). Eine Textänderung
    hebt die Freigabe auf."""
    try:
        update_episode(_deps(request), staff, episode_id,
                       body.model_dump(exclude_unset=True), shift=shift)  # type: ignore[attr-defined]
    except Refused as exc:
        raise _refused(exc) from None
    return _episode(request, episode_id)


@router.delete("/episodes/{episode_id}", status_code=204, responses=CONFLICT)
def episode_delete(request: Request, episode_id: RowId, staff: Editor) -> Response:
    """Nur solange nichts von ihr unterwegs oder veröffentlicht ist."""
    try:
        remove_episode(_deps(request), staff, episode_id)
    except Refused as exc:
        raise _refused(exc) from None
    return Response(status_code=204)


@router.get("/series/{slug}/export", response_class=Response, responses={
    200: {"content": {"application/toml": {"schema": {"type": "string"}}},
          "description": "die Staffeldatei"}})
def series_export(request: Request, slug: str, staff: Viewer) -> Response:
    try:
        text = export(_deps(request), slug)
    except Refused as exc:
        raise _refused(exc) from None
    return Response(text, media_type="application/toml; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{slug}.toml"'})


@router.post("/series/import", response_model=ImportOut, responses=CONFLICT)
def series_import(request: Request, body: ImportIn, staff: Editor) -> ImportOut | JSONResponse:
    """Eine Staffeldatei prüfen (``dry_run``: nur zeigen, was sich ändert) oder übernehmen."""
    try:
        result = import_season(_deps(request), staff, body.toml.encode("utf-8", "surrogatepass"),
                               dry_run=body.dry_run)
    except Refused as exc:
        raise _refused(exc) from None
    return _import_out(result)


def _import_out(r: ImportResult) -> ImportOut:
    return ImportOut(slug=r.slug, name=r.name, applied=r.applied, new_series=r.new_series,
                     series_changes=r.series_changes, created=r.created,
                     updated={str(k): v for k, v in r.updated.items()}, unchanged=r.unchanged,
                     removed=r.removed, notes=r.notes)


__all__ = ["router"]

"""JSON API ``/api/v1`` for the district's other tools: series, grid, episodes (read, approve),
posts (read, retry); editing the season is :mod:`.api_series`. ``Authorization: Bearer <token>``
on every route (``wtg user token NAME``); the token's user needs the same role as on the pages.
The OpenAPI document is ``/api/v1/openapi.json`` (also behind the token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from episodes import store
from episodes.models import Episode, Role, Series
from episodes.review import cleared

from .actions import ActionError, approve_episode, retry_post
from .auth import Staff, api_role
from .pages import RowId
from .templating import state_label

Viewer = Annotated[Staff, Depends(api_role(Role.VIEWER))]
Editor = Annotated[Staff, Depends(api_role(Role.EDITOR))]
Approver = Annotated[Staff, Depends(api_role(Role.APPROVER))]

class Error(BaseModel):
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "Kein oder ungültiges Token"},
    403: {"model": Error, "description": "Rolle reicht nicht / Vier-Augen-Prinzip"},
    404: {"model": Error, "description": "Nicht gefunden"},
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Error, "description": "Zustand erlaubt das nicht"}
}


class Me(BaseModel):
    username: str
    role: str


class SeriesOut(BaseModel):
    slug: str
    name: str
    timezone: str
    accounts: list[str]


class CellOut(BaseModel):
    post_id: int
    account: str
    platform: str
    state: str
    state_de: str
    slot_at: datetime | None
    url: str | None
    error: str | None
    progress: float


class RowOut(BaseModel):
    episode_id: int
    number: int
    title: str
    place: str
    slot_at: datetime | None
    media_status: str
    approved: bool
    cells: list[CellOut]


class EpisodeOut(BaseModel):
    id: int
    series: str
    number: int
    title: str
    place: str
    description: str
    hashtags: list[str]
    text_overrides: dict[str, dict[str, str]]
    slot_at: datetime | None
    media_status: str
    media_problems: list[dict[str, str]]
    revision: int
    edited_by: str | None
    approved_by: str | None
    approved_revision: int | None
    approved: bool = Field(description="approved in its current revision by someone else")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    revision: int = Field(ge=1, le=2**31 - 1, description="the revision the approver reviewed")
    override_reason: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] | None = Field(
        None, description="admins only: approve although a preview shows a problem (audited)")


class AttemptOut(BaseModel):
    step: str
    outcome: str
    from_state: str
    to_state: str
    started_at: datetime
    finished_at: datetime | None
    message_de: str | None


class PostOut(BaseModel):
    id: int
    episode_id: int
    account: str
    platform: str
    state: str
    state_de: str
    slot_at: datetime | None
    public_url: str | None
    progress: float
    error: str | None
    attempts: list[AttemptOut]


router = APIRouter(tags=["wtg"], responses=ERRORS)


def _deps(request: Request) -> Any:
    return request.app.state.wtg


def _fail(exc: ActionError) -> HTTPException:
    return HTTPException(exc.status, exc.message_de)


def _episode_out(ep: Episode) -> EpisodeOut:
    return EpisodeOut(
        id=ep.id, series=ep.series.slug, number=ep.number, title=ep.title, place=ep.place,
        description=ep.description, hashtags=list(ep.hashtags or []),
        text_overrides={k: {kk: str(vv) for kk, vv in (v or {}).items()}
                        for k, v in (ep.text_overrides or {}).items()},
        slot_at=ep.slot_at, media_status=ep.media_status,
        media_problems=[{k: str(v) for k, v in p.items()} for p in ep.media_problems or []],
        revision=ep.revision, edited_by=ep.edited_by, approved_by=ep.approved_by,
        approved_revision=ep.approved_revision, approved=cleared(ep),
    )


def _series(s: Any, slug: str) -> Series:
    series = store.get_series(s, slug)
    if series is None:
        raise HTTPException(404, "Diese Staffel gibt es nicht.")
    return series


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, staff: Viewer) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/me", response_model=Me)
def me(staff: Viewer) -> Me:
    return Me(username=staff.username, role=staff.role)


@router.get("/series", response_model=list[SeriesOut])
def series_list(request: Request, staff: Viewer) -> list[SeriesOut]:
    with _deps(request).db.session() as s:
        return [SeriesOut(slug=x.slug, name=x.name, timezone=x.timezone,
                          accounts=list(x.accounts or [])) for x in store.all_series(s)]


@router.get("/series/{slug}/grid", response_model=list[RowOut])
def series_grid(request: Request, slug: str, staff: Viewer) -> list[RowOut]:
    with _deps(request).db.session() as s:
        rows = store.status_grid(s, _series(s, slug).id)
    return [
        RowOut(episode_id=r.episode_id, number=r.number, title=r.title, place=r.place,
               slot_at=r.slot_at, media_status=r.media_status, approved=r.approved,
               cells=[CellOut(post_id=c.post_id, account=c.account, platform=c.platform,
                              state=c.state, state_de=state_label(c.state), slot_at=c.slot_at,
                              url=c.url, error=c.error, progress=c.progress) for c in r.cells])
        for r in rows
    ]


@router.get("/series/{slug}/episodes", response_model=list[EpisodeOut])
def series_episodes(request: Request, slug: str, staff: Viewer) -> list[EpisodeOut]:
    with _deps(request).db.session() as s:
        return [_episode_out(ep) for ep in store.episodes_of(s, _series(s, slug).id)]


@router.get("/episodes/{episode_id}", response_model=EpisodeOut)
def episode_get(request: Request, episode_id: RowId, staff: Viewer) -> EpisodeOut:
    with _deps(request).db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise HTTPException(404, "Diese Folge gibt es nicht.")
        return _episode_out(ep)


@router.post("/episodes/{episode_id}/approve", response_model=EpisodeOut, responses=CONFLICT)
def episode_approve(request: Request, episode_id: RowId, body: ApproveIn,
                    staff: Approver) -> EpisodeOut:
    try:
        approve_episode(_deps(request), staff, episode_id, body.revision, body.override_reason)
    except ActionError as exc:
        raise _fail(exc) from None
    return episode_get(request, episode_id, staff)


@router.get("/posts/{post_id}", response_model=PostOut)
def post_get(request: Request, post_id: RowId, staff: Viewer) -> PostOut:
    with _deps(request).db.session() as s:
        p = store.get_post(s, post_id)
        if p is None:
            raise HTTPException(404, "Diesen Beitrag gibt es nicht.")
        return PostOut(
            id=p.id, episode_id=p.episode_id, account=p.account.name,
            platform=p.account.platform, state=p.state, state_de=state_label(p.state),
            slot_at=p.slot_at, public_url=p.public_url, progress=p.progress or 0.0,
            error=(p.last_error or {}).get("message_de"),
            attempts=[AttemptOut(step=a.step, outcome=a.outcome, from_state=a.from_state,
                                 to_state=a.to_state, started_at=a.started_at,
                                 finished_at=a.finished_at,
                                 message_de=(a.error or {}).get("message_de"))
                      for a in p.attempts_log],
        )


@router.post("/posts/{post_id}/retry", response_model=PostOut, responses=CONFLICT)
def post_retry(request: Request, post_id: RowId, staff: Editor) -> PostOut:
    try:
        retry_post(_deps(request), staff, post_id)
    except ActionError as exc:
        raise _fail(exc) from None
    return post_get(request, post_id, staff)

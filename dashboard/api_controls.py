"""JSON API ``/api/v1`` for the staff controls, with the same permissions as the pages:
pause/resume a series, publish now / hold / skip / cancel an episode, cancel a post, correct a
refused post (``PATCH /posts/{id}``) and approve the correction, withdraw an episode (request,
then a second person approves), and the „Braucht Aufmerksamkeit" list. Refusals carry a German
``detail``: 403 for a missing role or one's own edit, 409 where the state forbids the change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from episodes import store, withdrawals
from episodes.attention import problems
from episodes.control_models import Withdrawal
from episodes.models import Role
from episodes.repair import correction_summary
from scheduler import controls

from . import control_actions as act
from .actions import ActionError
from .api import CONFLICT, ERRORS, PostOut, post_get
from .auth import Staff, api_role
from .pages import RowId
from .preview import problems_of

Viewer = Annotated[Staff, Depends(api_role(Role.VIEWER))]
Editor = Annotated[Staff, Depends(api_role(Role.EDITOR))]
Approver = Annotated[Staff, Depends(api_role(Role.APPROVER))]
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Text = Annotated[str, Field(max_length=10000, pattern=r"^[^\x00]*$")]

router = APIRouter(tags=["controls"], responses=ERRORS)


class SeriesStateOut(BaseModel):
    slug: str
    paused: bool
    message_de: str


class ControlOut(BaseModel):
    message_de: str
    post_ids: list[int]


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")] = Field(
        description="why (at least 10 characters, audited), e.g. consent withdrawn")


class WithdrawalOut(BaseModel):
    id: int
    episode_id: int
    state: str = Field(description="requested | approved | rejected")
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    deleting: list[int] = Field(description="posts being deleted on their platforms")
    cancelled: list[int] = Field(description="posts that never went out, now cancelled")


class PostTextIn(BaseModel):
    """A correction of a refused post; fields left out stay as they are, an empty string falls
    back to the episode's text (or, for ``profile``, the account's rendition)."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(max_length=300, pattern=r"^[^\x00]*$")] | None = None
    body: Text | None = None
    profile: Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9-]*$")] | None = None


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    correction: int = Field(ge=1, le=2**31 - 1, description="the correction the approver saw")
    override_reason: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] | None = None


class PostCorrectionOut(BaseModel):
    id: int
    state: str
    text_override: dict[str, str] | None
    profile_override: str | None
    correction: int
    correction_approved: int | None
    correction_approved_by: str | None
    cleared: bool = Field(description="no correction, or the current one is approved")
    preview_problems: list[str]


class AttentionOut(BaseModel):
    kind: str = Field(description="post | preflight | withdrawal")
    episode_id: int
    episode: str
    account: str | None
    post_id: int | None
    state: str | None
    reason_de: str
    fix: str = Field(description="the one action that helps")


def _deps(request: Request) -> Any:
    return request.app.state.wtg


def _fail(exc: ActionError) -> HTTPException:
    return HTTPException(exc.status, exc.message_de)


def _run(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except ActionError as exc:
        raise _fail(exc) from None


# --- series -----------------------------------------------------------------------------------
@router.post("/series/{slug}/pause", response_model=SeriesStateOut, responses=CONFLICT)
def series_pause(request: Request, slug: Slug, staff: Editor) -> SeriesStateOut:
    done = _run(act.set_paused, _deps(request), staff, slug, True)
    return SeriesStateOut(slug=slug, paused=True, message_de=done.message_de)


@router.post("/series/{slug}/resume", response_model=SeriesStateOut, responses=CONFLICT)
def series_resume(request: Request, slug: Slug, staff: Editor) -> SeriesStateOut:
    done = _run(act.set_paused, _deps(request), staff, slug, False)
    return SeriesStateOut(slug=slug, paused=False, message_de=done.message_de)


@router.get("/series/{slug}/attention", response_model=list[AttentionOut])
def series_attention(request: Request, slug: Slug, staff: Viewer) -> list[AttentionOut]:
    with _deps(request).db.session() as s:
        series = store.get_series(s, slug)
        if series is None:
            raise HTTPException(404, "Diese Staffel gibt es nicht.")
        return [AttentionOut(kind=p.kind, episode_id=p.episode_id, episode=p.episode,
                             account=p.account, post_id=p.post_id, state=p.state,
                             reason_de=p.reason_de, fix=p.fix) for p in problems(s, series.id)]


# --- episodes ---------------------------------------------------------------------------------
def _episode_control(fn: Any) -> Any:
    def route(request: Request, episode_id: RowId, staff: Editor) -> ControlOut:
        done = _run(act.control, _deps(request), staff, fn, episode_id=episode_id)
        return ControlOut(message_de=done.message_de, post_ids=list(done.post_ids))

    return route


for _path, _fn in (("publish-now", controls.publish_now), ("hold", controls.hold),
                   ("skip", controls.skip), ("cancel", controls.cancel_episode)):
    router.add_api_route(f"/episodes/{{episode_id}}/{_path}", _episode_control(_fn),
                         methods=["POST"], response_model=ControlOut, responses=CONFLICT,
                         name=f"episode_{_path.replace('-', '_')}")


def _withdrawal_out(w: Withdrawal) -> WithdrawalOut:
    return WithdrawalOut(id=w.id, episode_id=w.episode_id, state=w.state, reason=w.reason,
                         requested_by=w.requested_by, requested_at=w.requested_at,
                         decided_by=w.decided_by, decided_at=w.decided_at,
                         deleting=list((w.posts or {}).get("deleting", [])),
                         cancelled=list((w.posts or {}).get("cancelled", [])))


def _withdrawal(request: Request, withdrawal_id: int) -> WithdrawalOut:
    with _deps(request).db.session() as s:
        w = s.get(Withdrawal, withdrawal_id)
        if w is None:
            raise HTTPException(404, "Diesen Antrag gibt es nicht.")
        return _withdrawal_out(w)


@router.post("/episodes/{episode_id}/withdraw", response_model=WithdrawalOut, status_code=201,
             responses=CONFLICT)
def episode_withdraw(request: Request, episode_id: RowId, body: WithdrawIn,
                     staff: Editor) -> WithdrawalOut:
    """Ask for the episode to be deleted on every platform; a second person approves it with
    ``POST /withdrawals/{id}/approve``."""
    wid = _run(act.request_withdrawal, _deps(request), staff, episode_id, body.reason)
    return _withdrawal(request, wid)


@router.get("/episodes/{episode_id}/withdrawals", response_model=list[WithdrawalOut])
def episode_withdrawals(request: Request, episode_id: RowId,
                        staff: Viewer) -> list[WithdrawalOut]:
    with _deps(request).db.session() as s:
        return [_withdrawal_out(w) for w in withdrawals.history(s, episode_id)]


@router.post("/withdrawals/{withdrawal_id}/approve", response_model=WithdrawalOut,
             responses=CONFLICT)
def withdrawal_approve(request: Request, withdrawal_id: RowId,
                       staff: Approver) -> WithdrawalOut:
    """Four eyes: someone other than the requester; the deletes start at once."""
    _run(act.decide_withdrawal, _deps(request), staff, withdrawal_id, approve=True)
    return _withdrawal(request, withdrawal_id)


@router.post("/withdrawals/{withdrawal_id}/reject", response_model=WithdrawalOut,
             responses=CONFLICT)
def withdrawal_reject(request: Request, withdrawal_id: RowId, staff: Editor) -> WithdrawalOut:
    _run(act.decide_withdrawal, _deps(request), staff, withdrawal_id, approve=False)
    return _withdrawal(request, withdrawal_id)


# --- posts ------------------------------------------------------------------------------------
@router.post("/posts/{post_id}/cancel", response_model=PostOut, responses=CONFLICT)
def post_cancel(request: Request, post_id: RowId, staff: Editor) -> PostOut:
    _run(act.control, _deps(request), staff, controls.cancel_post, post_id)
    return post_get(request, post_id, staff)


def _correction(request: Request, post_id: int) -> PostCorrectionOut:
    deps = _deps(request)
    with deps.db.session() as s:
        post = store.get_post(s, post_id)
        if post is None:
            raise HTTPException(404, "Diesen Beitrag gibt es nicht.")
        summary = correction_summary(post)
        return PostCorrectionOut(
            id=post.id, state=post.state, **summary,
            preview_problems=problems_of(act.post_previews(deps, post)))


@router.get("/posts/{post_id}/correction", response_model=PostCorrectionOut)
def post_correction(request: Request, post_id: RowId, staff: Viewer) -> PostCorrectionOut:
    return _correction(request, post_id)


@router.patch("/posts/{post_id}", response_model=PostCorrectionOut, responses=CONFLICT)
def post_patch(request: Request, post_id: RowId, body: PostTextIn,
               staff: Editor) -> PostCorrectionOut:
    """Correct a refused, failed or missed post: its own text (and/or rendition). Voids the
    post's approval: a second person approves with ``POST /posts/{id}/approve-correction``,
    then ``POST /posts/{id}/retry`` sends only what is missing."""
    values = body.model_dump(exclude_unset=True)
    text = None
    if "title" in values or "body" in values:
        with _deps(request).db.session() as s:
            post = store.get_post(s, post_id)
            current = dict((post.text_override or {}) if post else {})
        text = {k: (values[k] if k in values else current.get(k)) or ""
                for k in ("title", "body")}
    _run(act.repair, _deps(request), staff, post_id, text=text, profile=values.get("profile"))
    return _correction(request, post_id)


@router.post("/posts/{post_id}/approve-correction", response_model=PostCorrectionOut,
             responses=CONFLICT)
def post_approve_correction(request: Request, post_id: RowId, body: CorrectionIn,
                            staff: Approver) -> PostCorrectionOut:
    _run(act.approve_repair, _deps(request), staff, post_id, body.correction,
         body.override_reason)
    return _correction(request, post_id)


@router.post("/posts/{post_id}/withdraw/confirm", response_model=PostOut, responses=CONFLICT)
def post_withdraw_confirm(request: Request, post_id: RowId, staff: Editor) -> PostOut:
    """The post was deleted in the platform's app (Instagram, TikTok): mark it withdrawn."""
    _run(act.withdraw_post_step, _deps(request), staff, post_id, by_hand=True)
    return post_get(request, post_id, staff)


@router.post("/posts/{post_id}/withdraw/retry", response_model=PostOut, responses=CONFLICT)
def post_withdraw_retry(request: Request, post_id: RowId, staff: Editor) -> PostOut:
    _run(act.withdraw_post_step, _deps(request), staff, post_id, by_hand=False)
    return post_get(request, post_id, staff)


__all__ = ["router"]

"""Pages and forms of the staff controls: pause and resume the series; publish now, hold, skip
and cancel an episode; cancel a post; repair a refused post (``/posts/{id}/repair``); withdraw
an episode with a reason and a second person (``/episodes/{id}/withdraw``). Every form carries
the session's CSRF token (checked by :func:`.auth.page_user`); the work is done in
:mod:`.control_actions`, shared with the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from episodes import store, withdrawals
from episodes.models import Episode, Role
from episodes.repair import REPAIRABLE, cleared_post, correction_summary
from episodes.review import editors_since
from scheduler import controls

from . import control_actions as act
from .actions import ActionError
from .auth import Staff, page_role, page_user
from .pages import FLASH, RowId, deps_of, render

router = APIRouter(include_in_schema=False)
Editor = Annotated[Staff, Depends(page_role(Role.EDITOR))]
Slug = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

FLASH.update({  # the notices of these controls, shown after the redirect (``?ok=``)
    "paused": "Die Reihe ist pausiert: bis zum Fortsetzen wird nichts gesendet.",
    "resumed": "Die Reihe läuft weiter; der nächste Termin wird gesendet.",
    "publish_now": "Die Folge wird jetzt gesendet.",
    "held": "Die Folge ist eine Woche zurückgehalten; die Reihe rückt nach.",
    "skipped": "Die Folge wird übersprungen.",
    "cancelled": "Abgesagt.",
    "corrected": "Korrektur gespeichert. Eine zweite Person muss sie freigeben.",
    "correction_approved": "Korrektur freigegeben. Jetzt „Erneut versuchen“ wählen.",
    "withdraw_requested": "Antrag auf Zurückziehen gestellt. Eine zweite Person muss bestätigen.",
    "withdraw_approved": "Zurückziehen bestätigt: die Beiträge werden auf den Plattformen "
                         "gelöscht.",
    "withdraw_rejected": "Der Antrag auf Zurückziehen ist abgelehnt.",
    "withdraw_confirmed": "Als gelöscht bestätigt.",
    "withdraw_retried": "Das Löschen wird erneut versucht.",
    "approved_override": "Freigegeben trotz Problemen in der Vorschau (Begründung protokolliert).",
})


def _refused(request: Request, staff: Staff, exc: ActionError, back: str) -> HTMLResponse:
    return render(request, "error.html", staff, status=exc.status, message=exc.message_de,
                  back=back)


def _done(url: str, ok: str) -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}ok={ok}", status_code=303)


# --- series -----------------------------------------------------------------------------------
@router.post("/series/{slug}/pause", response_class=HTMLResponse)
def series_pause(request: Request, slug: Slug, staff: Editor) -> Response:
    return _pause(request, staff, slug, True)


@router.post("/series/{slug}/resume", response_class=HTMLResponse)
def series_resume(request: Request, slug: Slug, staff: Editor) -> Response:
    return _pause(request, staff, slug, False)


def _pause(request: Request, staff: Staff, slug: str, paused: bool) -> Response:
    back = f"/?series={slug}"
    try:
        act.set_paused(deps_of(request), staff, slug, paused)
    except ActionError as exc:
        return _refused(request, staff, exc, back)
    return _done(back, "paused" if paused else "resumed")


# --- episodes ---------------------------------------------------------------------------------
EPISODE_CONTROLS = {"publish-now": (controls.publish_now, "publish_now"),
                    "hold": (controls.hold, "held"), "skip": (controls.skip, "skipped"),
                    "cancel": (controls.cancel_episode, "cancelled")}


def _episode_control(what: str) -> Any:
    fn, ok = EPISODE_CONTROLS[what]

    def route(request: Request, episode_id: RowId, staff: Editor) -> Response:
        back = f"/episodes/{episode_id}"
        try:
            act.control(deps_of(request), staff, fn, episode_id=episode_id)
        except ActionError as exc:
            return _refused(request, staff, exc, back)
        return _done(back, ok)

    route.__name__ = f"episode_{what.replace('-', '_')}"
    return route


for _what in EPISODE_CONTROLS:  # explicit paths: never shadow the episode page's own forms
    router.add_api_route(f"/episodes/{{episode_id}}/{_what}", _episode_control(_what),
                         methods=["POST"], response_class=HTMLResponse)


@router.post("/episodes/{episode_id}/approve-override", response_class=HTMLResponse)
def approve_override(request: Request, episode_id: RowId, staff: Staff = Depends(page_user),
                     revision: int = Form(0), reason: str = Form("")) -> Response:
    back = f"/episodes/{episode_id}"
    try:
        act.approve_with_override(deps_of(request), staff, episode_id, revision or None, reason)
    except ActionError as exc:
        return _refused(request, staff, exc, back)
    return _done(back, "approved_override")


# --- posts: cancel and repair -----------------------------------------------------------------
@router.post("/posts/{post_id}/cancel", response_class=HTMLResponse)
def post_cancel(request: Request, post_id: RowId, staff: Editor) -> Response:
    back = f"/posts/{post_id}"
    try:
        act.control(deps_of(request), staff, controls.cancel_post, post_id)
    except ActionError as exc:
        return _refused(request, staff, exc, back)
    return _done(back, "cancelled")


def _repair_context(request: Request, post_id: int) -> dict[str, Any]:
    deps = deps_of(request)
    with deps.db.session() as s:
        post = store.get_post(s, post_id)
        if post is None:
            raise HTTPException(404, "Diesen Beitrag gibt es nicht.")
        editors = editors_since(s, post.episode_id, post.correction_approved, post_id=post.id)
        shown = act.post_previews(deps, post)
        return {"post": post, "episode": post.episode, "preview": shown[0] if shown else None,
                "profiles": act.verified_profiles(post), "fix": correction_summary(post),
                "editors": sorted(editors), "repairable": post.state in REPAIRABLE,
                "cleared_post": cleared_post(post),
                "audit": store.audit_log(s, target=f"post:{post_id}", limit=30)}


@router.get("/posts/{post_id}/repair", response_class=HTMLResponse)
def repair_page(request: Request, post_id: RowId, staff: Staff = Depends(page_user)) -> Response:
    return render(request, "repair.html", staff, **_repair_context(request, post_id))


@router.post("/posts/{post_id}/repair", response_class=HTMLResponse)
def repair_save(request: Request, post_id: RowId, staff: Editor, title: str = Form(""),
                body: str = Form(""), profile: str = Form("")) -> Response:
    text = {"title": title.replace("\r\n", "\n"), "body": body.replace("\r\n", "\n")}
    try:
        changed = act.repair(deps_of(request), staff, post_id, text=text, profile=profile)
    except ActionError as exc:
        return render(request, "repair.html", staff, status=exc.status, errors=[exc.message_de],
                      **_repair_context(request, post_id))
    return _done(f"/posts/{post_id}/repair", "corrected" if changed else "unchanged")


@router.post("/posts/{post_id}/repair/approve", response_class=HTMLResponse)
def repair_approve(request: Request, post_id: RowId, staff: Staff = Depends(page_user),
                   correction: int = Form(0), reason: str = Form("")) -> Response:
    try:
        act.approve_repair(deps_of(request), staff, post_id, correction or None, reason or None)
    except ActionError as exc:
        return render(request, "repair.html", staff, status=exc.status, errors=[exc.message_de],
                      **_repair_context(request, post_id))
    return _done(f"/posts/{post_id}/repair", "correction_approved")


# --- withdrawal -------------------------------------------------------------------------------
@router.get("/episodes/{episode_id}/withdraw", response_class=HTMLResponse)
def withdraw_page(request: Request, episode_id: RowId,
                  staff: Staff = Depends(page_user)) -> Response:
    return render(request, "withdraw.html", staff, **_withdraw_context(request, episode_id))


def _withdraw_context(request: Request, episode_id: int) -> dict[str, Any]:
    with deps_of(request).db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise HTTPException(404, "Diese Folge gibt es nicht.")
        posts = sorted(ep.posts, key=lambda p: p.account.name)
        return {"episode": ep, "series": ep.series, "posts": posts,
                "pending": withdrawals.open_request(s, episode_id),
                "history": withdrawals.history(s, episode_id),
                "out": {p.id for p in posts if withdrawals.may_be_out(p)},
                "audit": store.audit_log(s, target=f"episode:{episode_id}", limit=30)}


@router.post("/episodes/{episode_id}/withdraw", response_class=HTMLResponse)
def withdraw_request(request: Request, episode_id: RowId, staff: Editor,
                     reason: str = Form("")) -> Response:
    try:
        act.request_withdrawal(deps_of(request), staff, episode_id, reason)
    except ActionError as exc:
        return render(request, "withdraw.html", staff, status=exc.status,
                      errors=[exc.message_de], reason=reason,
                      **_withdraw_context(request, episode_id))
    return _done(f"/episodes/{episode_id}/withdraw", "withdraw_requested")


@router.post("/withdrawals/{withdrawal_id}/{decision}", response_class=HTMLResponse)
def withdraw_decide(request: Request, withdrawal_id: RowId,
                    decision: Annotated[str, Path(pattern=r"^(approve|reject)$")],
                    staff: Staff = Depends(page_user)) -> Response:
    deps = deps_of(request)
    try:
        episode_id = act.decide_withdrawal(deps, staff, withdrawal_id,
                                           approve=decision == "approve")
    except ActionError as exc:
        return _refused(request, staff, exc, "/")
    ok = "withdraw_approved" if decision == "approve" else "withdraw_rejected"
    return _done(f"/episodes/{episode_id}/withdraw", ok)


@router.post("/posts/{post_id}/withdraw/{step}", response_class=HTMLResponse)
def withdraw_post(request: Request, post_id: RowId,
                  step: Annotated[str, Path(pattern=r"^(confirm|retry)$")],
                  staff: Editor) -> Response:
    back = f"/posts/{post_id}"
    try:
        act.withdraw_post_step(deps_of(request), staff, post_id, by_hand=step == "confirm")
    except ActionError as exc:
        return _refused(request, staff, exc, back)
    return _done(back, "withdraw_confirmed" if step == "confirm" else "withdraw_retried")


__all__ = ["router"]

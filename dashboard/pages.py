"""Pages: login, the season grid, a post with its attempts, the audit trail, the
notification outbox, and the JSON the pages poll every two seconds for live progress."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from episodes import store
from episodes.lifecycle import WAITING_FOR_STAFF
from episodes.models import Series
from episodes.users import LOGIN_FAILED, authenticate

from .actions import ActionError, retry_post
from .app import Wtg
from .attention import attention_items
from .auth import COOKIE, CSRF_REFUSED, LOGIN_COOKIE, Forbidden, Staff, page_user
from .templating import media_label, state_label, templates

router = APIRouter(include_in_schema=False)
LOGIN_THREADS = 2  # argon2 needs a core and 64 MiB per check
MAX_ID = 2**31 - 1
#: a row id in a path: positive and within the database's integer range
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

FLASH = {
    "saved": "Gespeichert. Die Folge muss neu freigegeben werden.",
    "unchanged": "Keine Änderung.",
    "approved": "Freigegeben.",
    "retried": "Der Beitrag ist wieder in der Warteschlange.",
    "uploaded": "Hochgeladen und geprüft. Das Video wird jetzt aufbereitet.",
    "subtitles": "Untertitel gespeichert. Das Video wird mit ihnen neu aufbereitet.",
}


def deps_of(request: Request) -> Wtg:
    return request.app.state.wtg


def render(request: Request, name: str, staff: Staff | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    flash = FLASH.get(request.query_params.get("ok", ""))
    return templates.TemplateResponse(
        request, name, {"user": staff, "flash": flash, **context}, status_code=status
    )


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


# --- login ------------------------------------------------------------------------------------
def _login_page(request: Request, next_: str, status: int = 200, **extra: Any) -> Response:
    """The login form with a CSRF token bound to a random nonce in a cookie of its own."""
    sessions = deps_of(request).sessions
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    fresh = not (16 <= len(nonce) <= 64)
    if fresh:
        nonce = sessions.new_nonce()
    response = render(request, "login.html", None, status=status, csrf=sessions.login_csrf(nonce),
                      next=_safe_next(next_), **extra)
    if fresh:
        sessions.set_login(response, nonce)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
    csrf: str = Form(""),
) -> Response:
    """Check a login. The password checks run on their own two threads (``LOGIN_THREADS``), so
    a flood of login attempts queues there and never takes the threads other pages need."""
    deps = deps_of(request)
    if not deps.sessions.login_csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), csrf):
        raise Forbidden(CSRF_REFUSED)
    client = request.client.host if request.client else ""
    uid = await anyio.to_thread.run_sync(_check_login, deps, username, password, client,
                                         limiter=_login_threads(request))
    if uid is None:
        return _login_page(request, next, status=401, error=LOGIN_FAILED,
                           username=username[:100])
    token = await anyio.to_thread.run_sync(deps.sessions.open, uid, client)
    response = RedirectResponse(_safe_next(next), status_code=303)  # a new session, new CSRF
    deps.sessions.set(response, token)
    return response


def _login_threads(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    if getattr(state, "login_threads", None) is None:  # made inside the server's event loop
        state.login_threads = anyio.CapacityLimiter(LOGIN_THREADS)
    return state.login_threads  # type: ignore[no-any-return]


def _check_login(deps: Wtg, username: str, password: str, client: str) -> int | None:
    with deps.db.session() as s:
        result = authenticate(s, username, password, client=client)
        if result.user is None:
            return None
        store.audit(s, result.user.username, "user.login", f"user:{result.user.username}",
                    client=client)
        return result.user.id


@router.post("/logout")
def logout(request: Request, staff: Staff = Depends(page_user)) -> Response:
    """End this session (the cookie is worthless from now on, also in a copy)."""
    deps = deps_of(request)
    deps.sessions.end(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    deps.sessions.clear(response)
    return response


@router.post("/logout/all")
def logout_everywhere(request: Request, staff: Staff = Depends(page_user)) -> Response:
    """„Überall abmelden": end every session of this person, on every device."""
    deps = deps_of(request)
    ended = deps.sessions.end_all(staff.id)
    with deps.db.session() as s:
        store.audit(s, staff.username, "user.logout_all", f"user:{staff.username}",
                    sessions=ended)
    response = RedirectResponse("/login", status_code=303)
    deps.sessions.clear(response)
    return response


# --- grid and calendar ------------------------------------------------------------------------
def _pick_series(s: Any, slug: str | None) -> Series:
    series = store.get_series(s, slug)
    if series is None:
        raise HTTPException(404, "Diese Staffel gibt es nicht.")
    return series


@router.get("/", response_class=HTMLResponse)
def grid(request: Request, series: str | None = None,
         staff: Staff = Depends(page_user)) -> Response:
    deps = deps_of(request)
    with deps.db.session() as s:
        everything = store.all_series(s)
        current = _pick_series(s, series) if everything else None
        rows = store.status_grid(s, current.id) if current else []
        attention = attention_items(s, current.id) if current else []
    accounts = sorted({c.account for r in rows for c in r.cells})
    return render(request, "grid.html", staff, series=current, all_series=everything,
                  rows=rows, accounts=accounts, attention=attention)


# --- posts ------------------------------------------------------------------------------------
@router.get("/posts/{post_id}", response_class=HTMLResponse)
def post_page(request: Request, post_id: RowId, staff: Staff = Depends(page_user)) -> Response:
    with deps_of(request).db.session() as s:
        post = store.get_post(s, post_id)
        if post is None:
            raise HTTPException(404, "Diesen Beitrag gibt es nicht.")
        audit = store.audit_log(s, target=f"post:{post_id}", limit=50)
    can_retry = post.state in {str(x) for x in WAITING_FOR_STAFF}
    return render(request, "post.html", staff, post=post, episode=post.episode,
                  audit=audit, can_retry=can_retry)


@router.post("/posts/{post_id}/retry", response_class=HTMLResponse)
def post_retry(request: Request, post_id: RowId, staff: Staff = Depends(page_user)) -> Response:
    try:
        retry_post(deps_of(request), staff, post_id)
    except ActionError as exc:
        return render(request, "error.html", staff, status=exc.status, message=exc.message_de,
                      back=f"/posts/{post_id}")
    return RedirectResponse(f"/posts/{post_id}?ok=retried", status_code=303)


# --- audit and notifications ------------------------------------------------------------------
@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, staff: Staff = Depends(page_user)) -> Response:
    with deps_of(request).db.session() as s:
        entries = store.audit_log(s, limit=300)
    return render(request, "audit.html", staff, entries=entries)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, staff: Staff = Depends(page_user)) -> Response:
    with deps_of(request).db.session() as s:
        items = store.notifications(s, limit=200)
    return render(request, "notifications.html", staff, items=items)


# --- live progress (polled by static/live.js every 2 s) --------------------------------------
@router.get("/live/progress")
def live_progress(request: Request, series_id: Annotated[int, Query(ge=1, le=MAX_ID)],
                  staff: Staff = Depends(page_user)) -> JSONResponse:
    with deps_of(request).db.session() as s:
        posts, episodes = store.progress_of(s, series_id)
    return JSONResponse({
        "posts": {
            str(p.id): {"state": p.state, "label": state_label(p.state),
                        "progress": round(p.progress or 0.0, 1), "url": p.public_url}
            for p in posts
        },
        "episodes": {
            str(e.id): {"media_status": e.media_status, "label": media_label(e.media_status),
                        "progress": round(e.media_progress or 0.0, 1)}
            for e in episodes
        },
    })


"""The team, for admins (``/users``): add or invite people, change roles, deactivate, reset
passwords, issue and revoke API tokens, end sessions. And the one page anyone with a link may
use: ``/set-password/{token}`` (an invitation or a reset).

A token or a link is shown exactly once, on the answer to the form that made it; the database
keeps only hashes. Every change is audited (``episodes.people``)."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from episodes import logins, people, store
from episodes.models import Role, User
from episodes.users import RANK, UserError, create_user, issue_token, list_users, set_active

from .auth import CSRF_REFUSED, LOGIN_COOKIE, Forbidden, Staff, page_role
from .pages import RowId, deps_of, render

router = APIRouter(include_in_schema=False)
Admin = Depends(page_role(Role.ADMIN))
DONE = {
    "created": "Die Person ist angelegt und kann sich anmelden.",
    "role": "Die Rolle ist geändert; sie gilt ab dem nächsten Klick der Person.",
    "unchanged": "Keine Änderung.",
    "deactivated": "Die Person ist deaktiviert: ihre Sitzungen sind beendet, ihr API-Token "
                   "funktioniert nicht mehr.",
    "activated": "Die Person ist wieder aktiv.",
    "password": "Das neue Passwort ist gesetzt; alle Sitzungen der Person sind beendet.",
    "revoked": "Das API-Token ist widerrufen.",
    "no-token": "Die Person hatte kein API-Token.",
    "ended": "Alle Sitzungen der Person sind beendet.",
}


def _user(s: Any, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise HTTPException(404, "Diese Person gibt es nicht.")
    return user


def _link(request: Request, token: str) -> str:
    return deps_of(request).settings.dashboard.public_url.rstrip("/") + f"/set-password/{token}"


def _back(user_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/users/{user_id}?done={done}", status_code=303)


def _list(request: Request, staff: Staff, status: int = 200, **extra: Any) -> HTMLResponse:
    with deps_of(request).db.session() as s:
        users = list_users(s)
        counts = logins.session_counts(s)
        links = people.open_links(s)
    return render(request, "users.html", staff, status=status, users=users, counts=counts,
                  links=links, roles=list(RANK), **extra)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, staff: Staff = Admin) -> Response:
    return _list(request, staff)


@router.post("/users", response_class=HTMLResponse)
def add_user(request: Request, username: str = Form(""), display_name: str = Form(""),
             role: str = Form("viewer"), how: str = Form("invite"), password: str = Form(""),
             staff: Staff = Admin) -> Response:
    """Add a colleague: with an invitation link (they choose their password) or a password
    the admin gives them."""
    try:
        with deps_of(request).db.session() as s:
            if how == "password":
                user = create_user(s, username, password, role=role, actor=staff.username,
                                   display_name=display_name.strip()[:200])
                return _back(user.id, "created")
            user, token = people.invite(s, username, role=role, actor=staff.username,
                                        display_name=display_name.strip()[:200])
            name, uid = user.username, user.id
    except UserError as exc:
        return _list(request, staff, status=400, errors=[str(exc)],
                     form={"username": username[:100], "display_name": display_name[:200],
                           "role": role})
    return render(request, "shown_once.html", staff, title="Einladung", person=name,
                  user_id=uid, link=_link(request, token), days=people.LINK_DAYS["invite"])


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    return _user_view(request, staff, user_id)


def _user_view(request: Request, staff: Staff, user_id: int, status: int = 200,
               **extra: Any) -> HTMLResponse:
    with deps_of(request).db.session() as s:
        user = _user(s, user_id)
        sessions = logins.session_counts(s).get(user.id, 0)
        link = people.open_links(s).get(user.id)
        audit = store.audit_log(s, target=f"user:{user.username}", limit=30)
    done = DONE.get(request.query_params.get("done", ""), "")
    return render(request, "user.html", staff, status=status, person=user, sessions=sessions,
                  link=link, audit=audit, roles=list(RANK), done=done,
                  me=user.id == staff.id, **extra)


def _change(request: Request, staff: Staff, user_id: int, action: Any) -> Response:
    """Run ``action(session, user)`` -> done code; a German refusal shows on the page."""
    try:
        with deps_of(request).db.session() as s:
            done = action(s, _user(s, user_id))
    except UserError as exc:
        return _user_view(request, staff, user_id, status=409, errors=[str(exc)])
    return _back(user_id, done)


@router.post("/users/{user_id}/role", response_class=HTMLResponse)
def change_role(request: Request, user_id: RowId, role: str = Form(""),
                staff: Staff = Admin) -> Response:
    return _change(request, staff, user_id, lambda s, u: "role" if people.set_role(
        s, u, role, actor=staff.username) else "unchanged")


@router.post("/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    def act(s: Any, user: User) -> str:
        if user.id == staff.id:
            raise UserError("Sie können sich nicht selbst deaktivieren.")
        people.deactivate(s, user, actor=staff.username)
        return "deactivated"

    return _change(request, staff, user_id, act)


@router.post("/users/{user_id}/activate", response_class=HTMLResponse)
def activate(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    def act(s: Any, user: User) -> str:
        set_active(s, user, True, actor=staff.username)
        return "activated"

    return _change(request, staff, user_id, act)


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
def set_password_for(request: Request, user_id: RowId, password: str = Form(""),
                     staff: Staff = Admin) -> Response:
    """Give the person a new password directly (they should change it later)."""
    from episodes.users import set_password

    def act(s: Any, user: User) -> str:
        set_password(s, user, password, actor=staff.username)
        return "password"

    return _change(request, staff, user_id, act)


@router.post("/users/{user_id}/reset-link", response_class=HTMLResponse)
def reset_link(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    """A one-time link with which the person sets a new password themselves."""
    with deps_of(request).db.session() as s:
        user = _user(s, user_id)
        if not user.active:
            raise HTTPException(409, "Die Person ist deaktiviert; bitte zuerst aktivieren.")
        token = people.create_link(s, user, "reset", actor=staff.username)
        name = user.username
    return render(request, "shown_once.html", staff, title="Link zum Zurücksetzen",
                  person=name, user_id=user_id, link=_link(request, token),
                  days=people.LINK_DAYS["reset"])


@router.post("/users/{user_id}/token", response_class=HTMLResponse)
def new_token(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    """A new API token (replaces the old one), shown once."""
    with deps_of(request).db.session() as s:
        user = _user(s, user_id)
        if not user.active:
            raise HTTPException(409, "Die Person ist deaktiviert; bitte zuerst aktivieren.")
        token = issue_token(s, user, actor=staff.username)
        name = user.username
    return render(request, "shown_once.html", staff, title="API-Token", person=name,
                  user_id=user_id, token=token)


@router.post("/users/{user_id}/token/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    return _change(request, staff, user_id, lambda s, u: "revoked" if people.revoke_token(
        s, u, actor=staff.username) else "no-token")


@router.post("/users/{user_id}/logout", response_class=HTMLResponse)
def end_sessions(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    def act(s: Any, user: User) -> str:
        ended = logins.end_sessions(s, user.id)
        store.audit(s, staff.username, "user.logout_all", f"user:{user.username}",
                    sessions=ended)
        return "ended"

    return _change(request, staff, user_id, act)


# --- the password link (no login) -----------------------------------------------------------
def _link_page(request: Request, token: str, status: int = 200, **extra: Any) -> Response:
    sessions = deps_of(request).sessions
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    fresh = not (16 <= len(nonce) <= 64)
    if fresh:
        nonce = sessions.new_nonce()
    with deps_of(request).db.session() as s:
        user = people.link_user(s, token)
        name = user.display_name or user.username if user is not None else ""
    response = render(request, "set_password.html", None, status=status if user else 404,
                      valid=user is not None, person=name, csrf=sessions.login_csrf(nonce),
                      token=token, **extra)
    if fresh:
        sessions.set_login(response, nonce)
    return response


@router.get("/set-password/{token}", response_class=HTMLResponse)
def set_password_form(request: Request, token: str) -> Response:
    return _link_page(request, token[:200])


@router.post("/set-password/{token}", response_class=HTMLResponse)
async def set_password_by_link(request: Request, token: str, password: str = Form(""),
                               repeat: str = Form(""), csrf: str = Form("")) -> Response:
    deps = deps_of(request)
    if not deps.sessions.login_csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), csrf):
        raise Forbidden(CSRF_REFUSED)
    if password != repeat:
        return _link_page(request, token[:200], status=400,
                          errors=["Die beiden Passwörter stimmen nicht überein."])

    def use() -> str:
        with deps.db.session() as s:
            return people.use_link(s, token[:200], password).username

    try:  # argon2: on a worker thread, like the login
        await anyio.to_thread.run_sync(use)
    except UserError as exc:
        return _link_page(request, token[:200], status=400, errors=[str(exc)])
    return RedirectResponse("/login?next=%2F&password=set", status_code=303)


__all__ = ["router"]

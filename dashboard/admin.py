"""The admin's page about logins: who is logged in where, which accounts and clients must wait
after failed logins, and the two levers: clear a throttle, end a person's sessions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from episodes import logins, store
from episodes.models import Role, User, utcnow
from episodes.users import list_users

from .auth import Staff, page_role
from .pages import RowId, deps_of, render

router = APIRouter(include_in_schema=False)
Admin = Depends(page_role(Role.ADMIN))


@router.get("/admin/logins", response_class=HTMLResponse)
def logins_page(request: Request, staff: Staff = Admin) -> Response:
    now = utcnow()
    with deps_of(request).db.session() as s:
        users = list_users(s)
        counts = logins.session_counts(s, now=now)
        throttles = logins.throttles(s, now=now)
    return render(request, "admin_logins.html", staff, users=users, counts=counts,
                  throttles=throttles, now=now, done=request.query_params.get("done", ""))


@router.post("/admin/logins/clear", response_class=HTMLResponse)
def clear_throttle(request: Request, key: str = Form(""), staff: Staff = Admin) -> Response:
    """Let an account or a client try again at once."""
    with deps_of(request).db.session() as s:
        if logins.clear_throttle(s, key):
            store.audit(s, staff.username, "user.unlock", key[:100])
    return RedirectResponse("/admin/logins?done=cleared", status_code=303)


@router.post("/admin/users/{user_id}/logout", response_class=HTMLResponse)
def end_sessions(request: Request, user_id: RowId, staff: Staff = Admin) -> Response:
    """End every session of one person (a lost laptop, someone leaving)."""
    with deps_of(request).db.session() as s:
        user = s.get(User, user_id)
        if user is None:
            raise HTTPException(404, "Diesen Benutzer gibt es nicht.")
        ended = logins.end_sessions(s, user.id)
        store.audit(s, staff.username, "user.logout_all", f"user:{user.username}",
                    sessions=ended)
    return RedirectResponse("/admin/logins?done=ended", status_code=303)

"""Who is asking: signed session cookies with a per-session CSRF token (pages) and bearer
tokens (the JSON API and ``/metrics``).

The cookie holds ``{"u": user id or None, "c": CSRF token}``, signed with
``settings.dashboard.secret_key`` (itsdangerous, timestamped, ``session_hours`` maximum age),
``HttpOnly``, ``SameSite=Strict``, ``Secure`` per setting, plus a fingerprint of the user's
password hash (changing the password ends older sessions). The user row is read on every request,
so a deactivated user or a changed role takes effect at once. Every form that changes something
carries the session's CSRF token in the field ``csrf``; :func:`page_user` refuses an unsafe
request without it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from episodes.models import Role, User
from episodes.users import has_role, user_for_token

COOKIE = "wtg_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session (pages: redirect to the login page) or token (API: 401)."""


class Forbidden(Exception):
    """Logged in, but the role or the CSRF token does not allow this."""

    def __init__(self, message_de: str) -> None:
        self.message_de = message_de
        super().__init__(message_de)


@dataclass(frozen=True, kw_only=True)
class Staff:
    """The logged-in person for this request (a snapshot of the ``User`` row)."""

    id: int
    username: str
    display_name: str
    role: str
    csrf: str = ""

    def can(self, role: str) -> bool:
        return has_role(self, role)

    @classmethod
    def of(cls, user: User, csrf: str = "") -> Staff:
        return cls(id=user.id, username=user.username, display_name=user.display_name,
                   role=user.role, csrf=csrf)


class Sessions:
    """Signs and reads the session cookie."""

    def __init__(self, secret: str, *, max_age: float, secure: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="wtg-dashboard-session")
        self.max_age = int(max_age)
        self.secure = secure

    def read(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}
        try:
            data = self._signer.loads(raw, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return {}
        return data if isinstance(data, dict) else {}

    def cookie(self, user_id: int | None, password_hash: str = "") -> tuple[str, str]:
        """(signed cookie value, the new session's CSRF token). The cookie carries a
        fingerprint of the password hash: a new password ends every older session."""
        csrf = secrets.token_urlsafe(32)
        return self._signer.dumps({"u": user_id, "c": csrf, "p": fingerprint(password_hash)}), \
            csrf

    def set(self, response: Any, value: str) -> None:
        response.set_cookie(
            COOKIE, value, max_age=self.max_age, httponly=True, samesite="strict",
            secure=self.secure, path="/",
        )

    def clear(self, response: Any) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=self.secure)


def fingerprint(password_hash: str) -> str:
    """A short digest of the password hash, carried in the session cookie."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16] if password_hash else ""


def _state(request: Request) -> Any:
    return request.app.state.wtg


async def page_user(request: Request) -> Staff:
    """The logged-in person; an unsafe method must carry the session's CSRF token."""
    deps = _state(request)
    data = deps.sessions.read(request)
    uid, csrf = data.get("u"), str(data.get("c") or "")
    if not isinstance(uid, int) or not csrf:
        raise LoginRequired()
    with deps.db.session() as s:
        user = s.get(User, uid)
        if user is None or not user.active:
            raise LoginRequired()
        if not hmac.compare_digest(str(data.get("p") or ""), fingerprint(user.password_hash)):
            raise LoginRequired()
        staff = Staff.of(user, csrf)
    if request.method not in SAFE_METHODS:
        await check_csrf(request, csrf)
    return staff


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse a state-changing request whose form field (or header) ``csrf`` does not match."""
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = str(form.get("csrf") or "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(
            "Das Formular ist abgelaufen oder stammt nicht von dieser Seite (CSRF-Schutz). "
            "Bitte die Seite neu laden und noch einmal versuchen."
        )


def bearer_user(request: Request) -> Staff:
    """The user of the ``Authorization: Bearer <token>`` header (API, metrics)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LoginRequired()
    with _state(request).db.session() as s:
        user = user_for_token(s, token.strip())
        if user is None:
            raise LoginRequired()
        return Staff.of(user)


_MESSAGES = {
    Role.VIEWER: "Zum Ansehen",
    Role.EDITOR: "Zum Bearbeiten",
    Role.APPROVER: "Zum Freigeben",
    Role.ADMIN: "Zum Verwalten",
}


def page_role(role: str) -> Any:
    """Dependency: a logged-in person holding at least ``role``."""

    def dep(staff: Staff = Depends(page_user)) -> Staff:
        return _require(staff, role)

    return dep


def api_role(role: str) -> Any:
    """Dependency: a token holder with at least ``role``."""

    def dep(staff: Staff = Depends(bearer_user)) -> Staff:
        return _require(staff, role)

    return dep


def _require(staff: Staff, role: str) -> Staff:
    if not staff.can(role):
        raise Forbidden(f"{_MESSAGES[Role(role)]} fehlt Ihnen die Berechtigung.")
    return staff


__all__ = [
    "COOKIE", "Forbidden", "LoginRequired", "Sessions", "Staff", "api_role", "bearer_user",
    "check_csrf", "page_role", "page_user",
]

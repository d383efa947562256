"""Who is asking: server-side sessions with a per-session CSRF token (pages) and bearer tokens
(the JSON API and ``/metrics``).

The session cookie holds a random session id and nothing else (``HttpOnly``,
``SameSite=Strict``, ``Secure`` per setting); the database keeps its SHA-256 with the user, the
session's CSRF token and the expiry (:mod:`episodes.logins`). Logging out, „überall abmelden", a
new password and deactivation delete the rows, so an old cookie stops working at once. Before
login the browser gets a second cookie with a random nonce; the login form's CSRF token is an
HMAC of it under ``dashboard.secret_key``.

Who asks is decided by :mod:`.gate` before the request body is read (it keeps the result in the
request's state); the dependencies here only read it, check the role and, for forms, the CSRF
token. The user row is read on every request, so a deactivated user or a changed role takes
effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from episodes import logins
from episodes.db import Database
from episodes.models import Role, User
from episodes.users import has_role, user_for_token

COOKIE = "wtg_session"
LOGIN_COOKIE = "wtg_login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDENTITY = "wtg_identity"  # key in the ASGI scope's state
CSRF_REFUSED = ("Das Formular ist abgelaufen oder stammt nicht von dieser Seite (CSRF-Schutz). "
                "Bitte die Seite neu laden und noch einmal versuchen.")


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


@dataclass(frozen=True)
class Identity:
    """Who the gate found: ``via`` is "session" (cookie) or "token" (bearer)."""

    staff: Staff
    via: str


class Sessions:
    """Opens, finds and ends dashboard sessions; sets and clears the cookies."""

    def __init__(self, db: Database, secret: str, *, hours: float, secure: bool) -> None:
        self._db = db
        self._secret = secret.encode("utf-8")
        self.hours = float(hours)
        self.max_age = int(hours * 3600)
        self.secure = secure

    def identify(self, token: str) -> Staff | None:
        """The person of a session cookie (blocking: the gate runs it in a thread)."""
        with self._db.session() as s:
            found = logins.session_user(s, token)
            return Staff.of(found[1], found[0].csrf) if found else None

    def open(self, user_id: int, client: str) -> str:
        """A new session (and CSRF token) for a user who just logged in; the cookie value."""
        with self._db.session() as s:
            user = s.get(User, user_id)
            assert user is not None
            token, _ = logins.open_session(s, user, hours=self.hours, client=client)
        return token

    def end(self, token: str) -> None:
        with self._db.session() as s:
            logins.end_session(s, token)

    def end_all(self, user_id: int) -> int:
        with self._db.session() as s:
            return logins.end_sessions(s, user_id)

    # the login form's CSRF token, before there is a session
    def login_csrf(self, nonce: str) -> str:
        mac = hmac.new(self._secret, b"wtg-login:" + nonce.encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()

    def login_csrf_ok(self, nonce: str, sent: str) -> bool:
        if not nonce or not sent:
            return False
        return hmac.compare_digest(sent.encode(), self.login_csrf(nonce).encode())

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(32)

    def set(self, response: Any, token: str) -> None:
        response.set_cookie(COOKIE, token, max_age=self.max_age, httponly=True,
                            samesite="strict", secure=self.secure, path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=self.secure)

    def set_login(self, response: Any, nonce: str) -> None:
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True,
                            samesite="strict", secure=self.secure, path="/")

    def clear(self, response: Any) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=self.secure)


def identify_bearer(db: Database, header: str) -> Staff | None:
    """The user of an ``Authorization: Bearer <token>`` header (blocking), or None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    with db.session() as s:
        user = user_for_token(s, token.strip())
        return Staff.of(user) if user is not None else None


def _identity(request: Request, via: str) -> Staff:
    found = request.scope.get("state", {}).get(IDENTITY)
    if not isinstance(found, Identity) or found.via != via:
        raise LoginRequired()
    return found.staff


async def page_user(request: Request) -> Staff:
    """The logged-in person; an unsafe method must carry the session's CSRF token."""
    staff = _identity(request, "session")
    if request.method not in SAFE_METHODS:
        await check_csrf(request, staff.csrf)
    return staff


def upload_user(request: Request) -> Staff:
    """The logged-in person of an upload route, which reads its body as a stream and checks the
    CSRF token itself (it must be the first form field, before the file)."""
    return _identity(request, "session")


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse a state-changing request whose form field (or header) ``csrf`` does not match."""
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = str(form.get("csrf") or "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(CSRF_REFUSED)


def bearer_user(request: Request) -> Staff:
    """The user of the ``Authorization: Bearer <token>`` header (API, metrics)."""
    return _identity(request, "token")


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


def upload_role(role: str) -> Any:
    """Dependency of an upload route: a logged-in person holding at least ``role`` (the route
    checks the CSRF token in the stream)."""

    def dep(staff: Staff = Depends(upload_user)) -> Staff:
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
    "COOKIE", "CSRF_REFUSED", "IDENTITY", "LOGIN_COOKIE", "SAFE_METHODS", "Forbidden", "Identity",
    "LoginRequired", "Sessions", "Staff", "api_role", "bearer_user", "check_csrf",
    "identify_bearer", "page_role", "page_user", "upload_role", "upload_user",
]

"""Staff accounts: argon2 password hashes, logins with throttling, API tokens (only their hash
is kept).

Roles are ordered ``viewer < editor < approver < admin`` (``Role`` in :mod:`.models`); a role
includes everything below it. A failed login makes the next attempt for that account and from
that client wait longer (:mod:`.logins`); nobody is locked out for long by a stranger. Every
failed login is in the audit trail, and the caller learns nothing more than "wrong": an unknown
name, a deactivated account, a waiting account and a wrong password get the same answer after
the same work (one argon2 verification each).

An API token looks like ``wtg_<user id>_<random>``: the id finds the row, and the SHA-256 of the
whole token is compared with the stored hash in constant time (``hmac.compare_digest``). The
token itself is shown once and stored nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import logins
from .models import Role, User, utcnow
from .store import audit

MIN_PASSWORD = 10
RANK: dict[str, int] = {Role.VIEWER: 0, Role.EDITOR: 1, Role.APPROVER: 2, Role.ADMIN: 3}
ROLE_DE: dict[str, str] = {
    Role.VIEWER: "Lesen", Role.EDITOR: "Bearbeiten", Role.APPROVER: "Freigeben",
    Role.ADMIN: "Verwalten",
}

_hasher = PasswordHasher()
# verified against when the password is not checked (unknown name, waiting account), so the
# answer takes as long either way
_DUMMY_HASH = _hasher.hash("wtg-no-such-user-placeholder")
# argon2 takes 64 MiB and most of a core per check: two at a time, whatever the load
_VERIFY_SLOTS = threading.BoundedSemaphore(2)
#: the one answer to every failed login
LOGIN_FAILED = ("Anmeldung fehlgeschlagen: Benutzername oder Passwort ist falsch. Nach mehreren "
                "Fehlversuchen bitte etwas warten, bevor Sie es erneut versuchen.")


class Person(Protocol):
    """Who acts: a ``User`` row or the dashboard's per-request snapshot of one."""

    username: str
    role: str


class UserError(ValueError):
    """A user cannot be created or changed; the message is German."""


@dataclass(frozen=True, kw_only=True)
class LoginResult:
    user: User | None
    message_de: str = ""  # LOGIN_FAILED (never says whether the name exists or waits)


def has_role(user: Person, role: str) -> bool:
    """True if ``user`` holds ``role`` or a higher one."""
    return RANK.get(user.role, -1) >= RANK[Role(role)]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    s: Session, username: str, password: str, *, role: str = Role.VIEWER, actor: str = "cli",
    display_name: str = "",
) -> User:
    """Add a user (German ``UserError`` for a taken name, a short password or a bad role)."""
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise UserError("Der Benutzername darf nicht leer sein und keine Leerzeichen enthalten.")
    if role not in RANK:
        raise UserError(f"Unbekannte Rolle {role!r}; erlaubt: {', '.join(RANK)}.")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
    if get_user(s, username) is not None:
        raise UserError(f"Den Benutzer {username!r} gibt es schon.")
    user = User(username=username, password_hash=hash_password(password), role=str(role),
                display_name=display_name or username)
    s.add(user)
    s.flush()
    audit(s, actor, "user.create", f"user:{username}", role=str(role))
    return user


def set_password(s: Session, user: User, password: str, *, actor: str = "cli") -> None:
    """A new password; ends every dashboard session of the user and forgets the account's
    failed logins."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
    user.password_hash = hash_password(password)
    logins.end_sessions(s, user.id)
    logins.clear_throttle(s, logins.account_key(user.username))
    audit(s, actor, "user.password", f"user:{user.username}")


def set_active(s: Session, user: User, active: bool, *, actor: str = "cli") -> None:
    """(De)activate a user; deactivation ends their sessions (their API token stops working)."""
    user.active = active
    if not active:
        logins.end_sessions(s, user.id)
    audit(s, actor, "user.activate" if active else "user.deactivate", f"user:{user.username}")


def get_user(s: Session, username: str) -> User | None:
    return s.scalars(select(User).where(User.username == username)).first()


def list_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.username)))


def authenticate(
    s: Session, username: str, password: str, *, client: str = "",
    now: datetime | None = None,
) -> LoginResult:
    """Check a login from ``client`` (its address): one argon2 verification in every case,
    failures counted (:mod:`.logins`) and audited, the same message for every failure."""
    now = now or utcnow()
    name = username.strip()[:100]
    waiting = logins.waiting_until(
        s, [logins.account_key(name), logins.client_key(client)], now=now)
    user = get_user(s, name) if name else None
    if waiting is not None:
        _verify(_DUMMY_HASH, password)
        return _failed(s, name, client, "waiting", now, count=False)
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return _failed(s, name, client, "unknown" if user is None else "inactive", now)
    if not _verify(user.password_hash, password):
        return _failed(s, name, client, "wrong_password", now)
    logins.clear_throttle(s, logins.account_key(name))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user=user)


def _failed(s: Session, name: str, client: str, reason: str, now: datetime, *,
            count: bool = True) -> LoginResult:
    if count:
        logins.record_failure(s, name, client, now=now)
    audit(s, "anonym", "user.login_failed", f"user:{name}"[:100], reason=reason,
          client=client[:100])
    return LoginResult(user=None, message_de=LOGIN_FAILED)


def _verify(stored: str, password: str) -> bool:
    with _VERIFY_SLOTS:
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


# --- API tokens -------------------------------------------------------------------------------
def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(s: Session, user: User, *, actor: str = "cli") -> str:
    """A new API token for ``user`` (replacing any old one); returned once, only its hash kept."""
    token = f"wtg_{user.id}_{secrets.token_urlsafe(32)}"
    user.api_token_hash = _token_digest(token)
    audit(s, actor, "user.token", f"user:{user.username}")
    s.flush()
    return token


def user_for_token(s: Session, token: str) -> User | None:
    """The active user this token belongs to, or None (constant-time hash comparison)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "wtg" or not parts[1].isdigit():
        return None
    user = s.get(User, int(parts[1]))
    if user is None or not user.active or not user.api_token_hash:
        return None
    if not hmac.compare_digest(user.api_token_hash, _token_digest(token)):
        return None
    return user


__all__ = [
    "LOGIN_FAILED", "RANK", "ROLE_DE", "LoginResult", "Person", "UserError", "authenticate",
    "create_user", "get_user", "has_role", "hash_password", "issue_token", "list_users",
    "set_active", "set_password", "user_for_token",
]

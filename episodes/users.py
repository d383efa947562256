"""Staff accounts: argon2 password hashes, login lockout, API tokens (only their hash is kept).

Roles are ordered ``viewer < editor < approver < admin`` (``Role`` in :mod:`.models`); a role
includes everything below it. Login failures are counted on the user row; after
``MAX_FAILURES`` the account is locked for ``LOCK_MINUTES`` (the counter resets on success).

An API token looks like ``wtg_<user id>_<random>``: the id finds the row, and the SHA-256 of the
whole token is compared with the stored hash in constant time (``hmac.compare_digest``). The
token itself is shown once and stored nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Role, User, utcnow
from .store import audit

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
RANK: dict[str, int] = {Role.VIEWER: 0, Role.EDITOR: 1, Role.APPROVER: 2, Role.ADMIN: 3}
ROLE_DE: dict[str, str] = {
    Role.VIEWER: "Lesen", Role.EDITOR: "Bearbeiten", Role.APPROVER: "Freigeben",
    Role.ADMIN: "Verwalten",
}

_hasher = PasswordHasher()
# verified against when the user does not exist, so the answer takes as long either way
_DUMMY_HASH = _hasher.hash("wtg-no-such-user-placeholder")


class Person(Protocol):
    """Who acts: a ``User`` row or the dashboard's per-request snapshot of one."""

    username: str
    role: str


class UserError(ValueError):
    """A user cannot be created or changed; the message is German."""


@dataclass(frozen=True, kw_only=True)
class LoginResult:
    user: User | None
    message_de: str = ""  # why it failed (never says whether the name exists)


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
    """A new password (ends the user's dashboard sessions, which carry the hash's fingerprint)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    audit(s, actor, "user.password", f"user:{user.username}")


def get_user(s: Session, username: str) -> User | None:
    return s.scalars(select(User).where(User.username == username)).first()


def list_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.username)))


def authenticate(
    s: Session, username: str, password: str, *, now: datetime | None = None
) -> LoginResult:
    """Check a login; counts failures and locks the account after ``MAX_FAILURES``."""
    now = now or utcnow()
    wrong = "Benutzername oder Passwort ist falsch."
    user = get_user(s, username.strip())
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return LoginResult(user=None, message_de=wrong)
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        return LoginResult(
            user=None,
            message_de=f"Zu viele Fehlversuche: die Anmeldung ist für etwa {minutes} Minuten "
            "gesperrt.",
        )
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            audit(s, "dashboard", "user.locked", f"user:{user.username}")
            return LoginResult(
                user=None,
                message_de=f"Zu viele Fehlversuche: die Anmeldung ist für {LOCK_MINUTES} "
                "Minuten gesperrt.",
            )
        return LoginResult(user=None, message_de=wrong)
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user=user)


def _verify(stored: str, password: str) -> bool:
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
    "LOCK_MINUTES", "MAX_FAILURES", "RANK", "ROLE_DE", "LoginResult", "Person", "UserError",
    "authenticate", "create_user", "get_user", "has_role", "hash_password", "issue_token",
    "list_users", "set_password", "user_for_token",
]

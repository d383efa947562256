"""What an admin does with the team: roles, deactivation, API tokens, invitations and password
resets by one-time link.

Guards: there is always at least one active admin (nobody can demote or deactivate the last
one), and nobody deactivates or demotes themselves by accident in the dashboard. A role change
takes effect with the next request (the user row is read on every request); deactivation ends
every session and makes the API token useless at once. Every change is in the audit trail,
never a password, token or link.

A password link (``PasswordLink``) is a random token shown once to the admin, who passes it on;
only its SHA-256 is kept. Using it sets the password, ends the person's sessions and deletes the
link. An invited person gets an unusable random password until they use their link.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import logins
from .models import PasswordLink, Role, User, utcnow
from .store import audit
from .users import RANK, ROLE_DE, UserError, create_user, set_active, set_password

LINK_DAYS = {"invite": 7, "reset": 2}
LAST_ADMIN = ("Es muss immer mindestens eine aktive Person mit der Rolle „Verwalten“ geben. "
              "Bitte zuerst jemand anderem diese Rolle geben.")


def active_admins(s: Session) -> int:
    q = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return int(s.execute(q).scalar_one())


def _last_admin(s: Session, user: User) -> bool:
    return user.role == Role.ADMIN and user.active and active_admins(s) <= 1


def set_role(s: Session, user: User, role: str, *, actor: str) -> bool:
    """Give ``user`` another role; False if it was already theirs."""
    if role not in RANK:
        raise UserError(f"Unbekannte Rolle {role!r}; erlaubt: {', '.join(RANK)}.")
    if role == user.role:
        return False
    if role != Role.ADMIN and _last_admin(s, user):
        raise UserError(LAST_ADMIN)
    before = user.role
    user.role = role
    audit(s, actor, "user.role", f"user:{user.username}", before=before, after=role)
    return True


def deactivate(s: Session, user: User, *, actor: str) -> int:
    """Deactivate ``user``: sessions end and the API token stops working at once. Returns the
    number of sessions ended."""
    if _last_admin(s, user):
        raise UserError(LAST_ADMIN)
    ended = logins.session_counts(s).get(user.id, 0)
    set_active(s, user, False, actor=actor)
    s.execute(delete(PasswordLink).where(PasswordLink.user_id == user.id))
    return ended


def revoke_token(s: Session, user: User, *, actor: str) -> bool:
    """Make ``user``'s API token useless; False if there was none."""
    if not user.api_token_hash:
        return False
    user.api_token_hash = None
    audit(s, actor, "user.token_revoked", f"user:{user.username}")
    return True


def create_link(s: Session, user: User, purpose: str, *, actor: str,
                now: datetime | None = None) -> str:
    """A one-time password link (``invite`` or ``reset``); the token is returned once. An
    older link of the same person stops working."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    s.execute(delete(PasswordLink).where(PasswordLink.user_id == user.id))
    s.add(PasswordLink(user_id=user.id, token_hash=logins.digest(token), purpose=purpose,
                       created_by=actor[:100], created_at=now,
                       expires_at=now + timedelta(days=LINK_DAYS[purpose])))
    audit(s, actor, f"user.{purpose}_link", f"user:{user.username}",
          days=LINK_DAYS[purpose])
    s.flush()
    return token


def invite(s: Session, username: str, *, role: str, actor: str,
           display_name: str = "") -> tuple[User, str]:
    """Add a person who sets their own password through a link: (user, link token)."""
    user = create_user(s, username, secrets.token_urlsafe(32), role=role, actor=actor,
                       display_name=display_name)
    return user, create_link(s, user, "invite", actor=actor)


def link_user(s: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active person a link belongs to, if it is valid."""
    now = now or utcnow()
    if not token or len(token) > 200:
        return None
    link = s.scalars(select(PasswordLink).where(
        PasswordLink.token_hash == logins.digest(token))).first()
    if link is None or link.expires_at <= now:
        return None
    user = s.get(User, link.user_id)
    return user if user is not None and user.active else None


def use_link(s: Session, token: str, password: str, *,
             now: datetime | None = None) -> User:
    """Set the password through a link (German ``UserError`` for a bad link or password)."""
    user = link_user(s, token, now=now)
    if user is None:
        raise UserError("Dieser Link ist ungültig oder abgelaufen. Bitte die Verwaltung um "
                        "einen neuen bitten.")
    set_password(s, user, password, actor=user.username)
    s.execute(delete(PasswordLink).where(PasswordLink.user_id == user.id))
    return user


def open_links(s: Session, *, now: datetime | None = None) -> dict[int, PasswordLink]:
    """user id -> their unused, unexpired link."""
    now = now or utcnow()
    q = select(PasswordLink).where(PasswordLink.expires_at > now)
    return {link.user_id: link for link in s.scalars(q)}


def role_label(role: str) -> str:
    return ROLE_DE.get(role, role)


__all__ = ["LAST_ADMIN", "LINK_DAYS", "active_admins", "create_link", "deactivate", "invite",
           "link_user", "open_links", "revoke_token", "role_label", "set_role", "use_link"]

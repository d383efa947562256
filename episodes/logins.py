"""Dashboard logins kept on the server: sessions and throttles.

Sessions: the browser's cookie holds a random session id (256 bits) and nothing else; the table
``staff_sessions`` keeps only its SHA-256, the session's CSRF token and its expiry. Logging out,
a new password, deactivation and „überall abmelden" delete rows, which ends those sessions at once.

Throttles: every failed password check adds one failure to two counters, the account's
(``user:<name>``) and the client's (``client:<address>``). Past a few free failures each one makes
the next attempt wait twice as long, up to a cap: an account waits at most ``ACCOUNT.cap``
seconds (so a stranger cannot lock a staffer out for long), a client up to ``CLIENT.cap``.
Failures are forgotten ``FORGET`` after the last one; a successful login clears the account's
counter. Attempts refused while waiting are not checked and do not count.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import LoginThrottle, StaffSession, User, utcnow

TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often
FORGET = timedelta(hours=1)


@dataclass(frozen=True)
class Backoff:
    """``free`` failures cost nothing; then 1, 2, 4 … seconds, at most ``cap``."""

    free: int
    cap: float

    def delay(self, failures: int) -> float:
        over = failures - self.free
        return 0.0 if over <= 0 else min(self.cap, 2.0 ** (over - 1))


ACCOUNT = Backoff(free=5, cap=30.0)
CLIENT = Backoff(free=10, cap=300.0)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- sessions ---------------------------------------------------------------------------------
def open_session(s: Session, user: User, *, hours: float, client: str = "",
                 now: datetime | None = None) -> tuple[str, StaffSession]:
    """A new session for ``user``: (the id for the cookie, shown once; the row)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=digest(token), user_id=user.id, csrf=secrets.token_urlsafe(32),
                       client=client[:100], created_at=now, last_seen_at=now,
                       expires_at=now + timedelta(hours=hours))
    s.add(row)
    s.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    s.flush()
    return token, row


def session_user(s: Session, token: str, *,
                 now: datetime | None = None) -> tuple[StaffSession, User] | None:
    """The live session and its active user for this cookie value, or None."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = s.scalars(select(StaffSession).where(StaffSession.token_hash == digest(token))).first()
    if row is None or row.expires_at <= now:
        return None
    user = s.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return row, user


def end_session(s: Session, token: str) -> bool:
    """Log out this one session; True if it existed."""
    result = s.execute(delete(StaffSession).where(StaffSession.token_hash == digest(token)))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_sessions(s: Session, user_id: int) -> int:
    """End every session of one user (new password, deactivation, „überall abmelden")."""
    result = s.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def session_counts(s: Session, *, now: datetime | None = None) -> dict[int, int]:
    """user id -> number of live sessions."""
    now = now or utcnow()
    q = (select(StaffSession.user_id, func.count()).where(StaffSession.expires_at > now)
         .group_by(StaffSession.user_id))
    return {uid: n for uid, n in s.execute(q)}


# --- throttles --------------------------------------------------------------------------------
def account_key(username: str) -> str:
    return "user:" + username.strip().lower()[:150]


def client_key(client: str) -> str:
    return "client:" + (client or "unbekannt")[:150]


def waiting_until(s: Session, keys: list[str], *, now: datetime | None = None) -> datetime | None:
    """The latest ``blocked_until`` still in the future among ``keys``, or None."""
    now = now or utcnow()
    q = select(func.max(LoginThrottle.blocked_until)).where(
        LoginThrottle.key.in_(keys), LoginThrottle.blocked_until > now)
    return s.execute(q).scalar()


def record_failure(s: Session, username: str, client: str, *,
                   now: datetime | None = None) -> None:
    """Count one failed password check for the account and the client."""
    now = now or utcnow()
    for key, backoff in ((account_key(username), ACCOUNT), (client_key(client), CLIENT)):
        _bump(s, key, backoff, now)
    s.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - FORGET))


def _bump(s: Session, key: str, backoff: Backoff, now: datetime) -> None:
    if s.get(LoginThrottle, key) is None:
        try:
            with s.begin_nested():  # a concurrent first failure may insert the same key
                s.add(LoginThrottle(key=key, failures=0, last_failure_at=now))
        except IntegrityError:
            pass
    row = LoginThrottle.__table__.c
    s.execute(update(LoginThrottle).where(row.key == key, row.last_failure_at < now - FORGET)
              .values(failures=0))
    s.execute(update(LoginThrottle).where(row.key == key)
              .values(failures=row.failures + 1, last_failure_at=now))
    failures = s.execute(select(row.failures).where(row.key == key)).scalar_one()
    wait = backoff.delay(failures)
    s.execute(update(LoginThrottle).where(row.key == key).values(
        blocked_until=now + timedelta(seconds=wait) if wait else None))


def clear_throttle(s: Session, key: str) -> bool:
    """Forget the failures of one key (a successful login, an admin's decision)."""
    result = s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def throttles(s: Session, *, now: datetime | None = None) -> list[LoginThrottle]:
    """Counters with failures in the last ``FORGET``, the ones still waiting first."""
    now = now or utcnow()
    q = (select(LoginThrottle).where(LoginThrottle.last_failure_at >= now - FORGET)
         .order_by(LoginThrottle.blocked_until.desc().nulls_last(), LoginThrottle.key))
    return list(s.scalars(q))


__all__ = [
    "ACCOUNT", "CLIENT", "FORGET", "Backoff", "account_key", "clear_throttle", "client_key",
    "digest", "end_session", "end_sessions", "open_session", "record_failure", "session_counts",
    "session_user", "throttles", "waiting_until",
]

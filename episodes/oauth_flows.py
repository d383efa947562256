"""Authorizations in progress (the ``state`` of an OAuth authorization code flow).

A flow is started by an admin's session and carries three random values: the ``state`` that
travels through the platform (only its SHA-256 is kept), a browser nonce in a cookie of its own
(only its SHA-256 is kept: the callback must come back to the same browser) and the session it
belongs to (the SHA-256 the session table keeps, so ending the session ends the flow). A flow is
used once: the callback takes it, and a flow waiting for the staffer's choice (page, channel)
can be finished only from the same session. Flows expire after ``FLOW_MINUTES``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import OAuthFlow, StaffSession, User, utcnow

FLOW_MINUTES = 10  # Google's and Meta's codes live about as long


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def start(s: Session, *, account: str, platform: str, user_id: int, session_hash: str,
          redirect_uri: str, params: Mapping[str, Any] | None = None,
          now: datetime | None = None) -> tuple[str, str]:
    """A new flow: (the state for the platform, the nonce for the browser's flow cookie)."""
    now = now or utcnow()
    s.execute(delete(OAuthFlow).where(OAuthFlow.expires_at <= now))
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s.add(OAuthFlow(state_hash=digest(state), browser_hash=digest(nonce),
                    session_hash=session_hash, user_id=user_id, account=account,
                    platform=platform, redirect_uri=redirect_uri, params=dict(params or {}),
                    created_at=now, expires_at=now + timedelta(minutes=FLOW_MINUTES)))
    s.flush()
    return state, nonce


def take(s: Session, state: str, nonce: str, *,
         now: datetime | None = None) -> tuple[OAuthFlow, User] | None:
    """The flow of a callback, if the state is known, unused and not expired, the browser is
    the one that started it, and its session is still open with an active admin. The state
    cannot be used a second time, whether this attempt succeeds or not (a callback URL that
    leaked is worthless once anyone tried it)."""
    now = now or utcnow()
    if not state or len(state) > 200 or len(nonce) > 200:
        return None
    flow = s.scalars(select(OAuthFlow).where(OAuthFlow.state_hash == digest(state),
                                             OAuthFlow.stage == "authorize")).first()
    if flow is None:
        return None
    # single use, whatever happens next
    flow.state_hash = digest(secrets.token_urlsafe(32))
    if flow.expires_at <= now or not nonce or not hmac.compare_digest(flow.browser_hash,
                                                                      digest(nonce)):
        s.delete(flow)
        return None
    user = _session_admin(s, flow.session_hash, now)
    if user is None or user.id != flow.user_id:
        s.delete(flow)
        return None
    return flow, user


def await_choice(flow: OAuthFlow, choices: list[dict[str, Any]], *,
                 now: datetime | None = None) -> None:
    """The platform answered; the staffer now chooses (page, channel) from ``choices``."""
    now = now or utcnow()
    flow.stage = "choose"
    flow.choices = choices
    flow.expires_at = now + timedelta(minutes=FLOW_MINUTES)


def choosing(s: Session, flow_id: int, session_hash: str, *,
             now: datetime | None = None) -> OAuthFlow | None:
    """A flow waiting for a choice, from the session that started it."""
    now = now or utcnow()
    flow = s.get(OAuthFlow, flow_id)
    if flow is None or flow.stage != "choose" or flow.expires_at <= now:
        return None
    if not hmac.compare_digest(flow.session_hash, session_hash):
        return None
    return flow


def end(s: Session, flow: OAuthFlow) -> None:
    s.delete(flow)


def _session_admin(s: Session, session_hash: str, now: datetime) -> User | None:
    row = s.scalars(select(StaffSession).where(StaffSession.token_hash == session_hash)).first()
    if row is None or row.expires_at <= now:
        return None
    user = s.get(User, row.user_id)
    if user is None or not user.active or user.role != "admin":
        return None
    return user


def session_csrf(s: Session, session_hash: str) -> str:
    """The CSRF token of the session (the callback renders a page with forms)."""
    row = s.scalars(select(StaffSession).where(StaffSession.token_hash == session_hash)).first()
    return row.csrf if row is not None else ""


__all__ = ["FLOW_MINUTES", "await_choice", "choosing", "digest", "end", "session_csrf", "start",
           "take"]

"""„Braucht Aufmerksamkeit": everything of a series that waits for a person, with the German
reason and the one fix that helps (a code the dashboard turns into a button or link).

* every post in ``needs_attention``, ``failed``, ``missed`` or ``withdraw_attention``;
* every problem of the newest pre-flight check of each episode still waiting for its slot
  (problems that the episode's current state has solved since -- approval given, media
  verified, subtitles there -- are left out);
* every withdrawal request waiting for a second person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .control_models import Withdrawal
from .lifecycle import DUE_FROM, LABEL_DE, PostState
from .models import Episode, MediaStatus, Post, PreflightResult
from .repair import cleared_post

S = PostState
STAFF_STATES = (S.NEEDS_ATTENTION, S.FAILED, S.MISSED, S.WITHDRAW_ATTENTION)
#: the post's error kind -> the fix
ACCOUNT_KINDS = {"credentials_expired", "credentials_missing", "account_missing"}
REPAIR_KINDS = {"rejected", "processing_failed", "no_rendition", "bad_option"}
#: a pre-flight problem code -> the fix
PREFLIGHT_FIX = {"approval": "approve", "media": "episode", "rendition": "episode",
                 "captions": "episode", "text": "episode", "credentials": "account",
                 "account": "account", "quota": "episode", "missing": "episode"}
_DUE = {str(x) for x in DUE_FROM}


@dataclass(frozen=True, kw_only=True)
class Problem:
    kind: str  # post | preflight | withdrawal
    episode_id: int
    episode: str  # "Folge 3: Matzlow"
    reason_de: str
    fix: str  # repair | approve_correction | retry | send_now | account | confirm_by_hand |
    #          retry_delete | approve | episode | withdrawal
    account: str | None = None
    post_id: int | None = None
    state: str | None = None
    state_de: str | None = None
    checked_at: datetime | None = None


def _episode_name(ep: Episode) -> str:
    return f"{ep.label}: {ep.title}"


def post_fix(post: Post) -> str:
    """The one action that moves this post on."""
    state, kind = S(post.state), str((post.last_error or {}).get("kind") or "")
    if state is S.WITHDRAW_ATTENTION:
        return "confirm_by_hand" if kind in ("delete_by_hand", "account_missing") \
            else "retry_delete"
    if not cleared_post(post):
        return "approve_correction"
    if post.correction and post.correction == post.correction_approved:
        return "retry"  # corrected and approved: send it again
    if state is S.MISSED:
        return "send_now"
    if kind in ACCOUNT_KINDS:
        return "account"
    if kind in REPAIR_KINDS:
        return "repair"
    return "retry"


def problems(s: Session, series_id: int) -> list[Problem]:
    out: list[Problem] = []
    posts = s.scalars(
        select(Post).join(Episode).where(Episode.series_id == series_id,
                                         Post.state.in_([str(x) for x in STAFF_STATES]))
        .options(selectinload(Post.account), selectinload(Post.episode))
        .order_by(Episode.number, Post.id))
    for p in posts:
        reason = str((p.last_error or {}).get("message_de") or "") or LABEL_DE[S(p.state)]
        out.append(Problem(kind="post", episode_id=p.episode_id,
                           episode=_episode_name(p.episode), reason_de=reason,
                           fix=post_fix(p), account=p.account.display_name or p.account.name,
                           post_id=p.id, state=p.state, state_de=LABEL_DE[S(p.state)]))
    newest: dict[int, PreflightResult] = {}
    for result in s.scalars(select(PreflightResult).join(Episode)
                            .where(Episode.series_id == series_id)
                            .order_by(PreflightResult.checked_at, PreflightResult.id)):
        newest[result.episode_id] = result  # the last one wins
    for ep in s.scalars(select(Episode).where(Episode.series_id == series_id)
                        .options(selectinload(Episode.posts)).order_by(Episode.number)):
        latest = newest.get(ep.id)
        if latest is None or not any(p.state in _DUE for p in ep.posts):
            continue
        for item in latest.problems:
            code = str(item.get("code") or "")
            if _solved(ep, code):
                continue
            out.append(Problem(kind="preflight", episode_id=ep.id, episode=_episode_name(ep),
                               reason_de=str(item.get("message_de") or code),
                               fix=PREFLIGHT_FIX.get(code, "episode"),
                               account=item.get("account"), checked_at=latest.checked_at,
                               state=str(item.get("severity") or "")))
    for w, ep in s.execute(select(Withdrawal, Episode).join(Episode,
                                                            Withdrawal.episode_id == Episode.id)
                           .where(Episode.series_id == series_id,
                                  Withdrawal.state == "requested").order_by(Withdrawal.id)):
        out.append(Problem(kind="withdrawal", episode_id=ep.id, episode=_episode_name(ep),
                           reason_de=f"{w.requested_by} beantragt das Zurückziehen: {w.reason}",
                           fix="withdrawal"))
    return out


def _solved(ep: Episode, code: str) -> bool:
    if code == "approval":
        return ep.approved
    if code == "media":
        return ep.media_status == MediaStatus.VERIFIED
    if code == "captions":
        return bool(ep.subtitle_path)
    return False


__all__ = ["Problem", "post_fix", "problems"]

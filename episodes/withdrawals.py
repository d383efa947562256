"""Withdrawing an episode from every platform (e.g. a volunteer withdrew their consent): asked
for with a reason, approved by a second person, audited.

:func:`request` records who asks and why; :func:`approve` (another person, role approver) moves
every post that is (or may be) on a platform to ``withdrawing`` -- a worker then deletes it
through the platform's API (``workers.withdraw``) -- and cancels every post that never went out,
so nothing of the episode is sent later. A post a worker is sending right now blocks both steps
(wait until it is done, then withdraw). :func:`confirm_by_hand` records that a person deleted a
post in the platform's app (Instagram and TikTok offer no delete call).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .control_models import Withdrawal
from .lifecycle import IN_FLIGHT, WITHDRAWABLE, PostState
from .models import Episode, Post, Role, utcnow
from .review import ReviewError
from .store import audit, notify, transition
from .users import Person, has_role

S = PostState
MIN_REASON = 10
#: remote facts after which a post may be on the platform (then it is deleted, not cancelled)
SENT_FACTS = ("online", "publish_started", "publish_sent", "status_attempt_at", "publish_id",
              "scheduled_id", "media_publish_sent", "container_published", "video_id")
_GONE = {str(S.CANCELLED), str(S.WITHDRAWN), str(S.WITHDRAWING), str(S.WITHDRAW_ATTENTION)}


def open_request(s: Session, episode_id: int) -> Withdrawal | None:
    return s.scalars(select(Withdrawal).where(Withdrawal.episode_id == episode_id,
                                              Withdrawal.state == "requested")).first()


def history(s: Session, episode_id: int) -> list[Withdrawal]:
    return list(s.scalars(select(Withdrawal).where(Withdrawal.episode_id == episode_id)
                          .order_by(Withdrawal.id.desc())))


def may_be_out(post: Post) -> bool:
    """True if the post is (or may be) on the platform: it has to be deleted there."""
    if post.state in (S.PUBLISHED, S.SCHEDULED):
        return True
    return any((post.remote or {}).get(k) for k in SENT_FACTS)


def _busy(ep: Episode) -> list[Post]:
    return [p for p in ep.posts if p.state in {str(x) for x in IN_FLIGHT}]


def _refuse_busy(ep: Episode) -> None:
    busy = _busy(ep)
    if busy:
        where = ", ".join(sorted(p.account.display_name or p.account.name for p in busy))
        raise ReviewError("busy", f"{ep.label} wird gerade gesendet ({where}). Bitte warten, bis "
                                  "der Beitrag fertig ist, und dann zurückziehen.")


def request(s: Session, ep: Episode, user: Person, reason: str) -> Withdrawal:
    """Ask for the episode to be withdrawn (role editor); a second person must approve."""
    if not has_role(user, Role.EDITOR):
        raise ReviewError("role", "Zum Zurückziehen fehlt Ihnen die Berechtigung (Rolle "
                                  "Bearbeiten).")
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise ReviewError("reason", "Bitte den Grund für das Zurückziehen angeben (mindestens "
                                    f"{MIN_REASON} Zeichen), z. B. „Einwilligung widerrufen“.")
    pending = open_request(s, ep.id)
    if pending is not None:
        raise ReviewError("open", f"Für {ep.label} liegt schon ein Antrag auf Zurückziehen vor "
                                  f"(von {pending.requested_by}). Bitte diesen bestätigen oder "
                                  "ablehnen.")
    if not any(may_be_out(p) and p.state not in _GONE for p in ep.posts):
        raise ReviewError("nothing", f"{ep.label} ist auf keiner Plattform veröffentlicht; zum "
                                     "Absagen bitte „Folge absagen“ verwenden.")
    _refuse_busy(ep)
    w = Withdrawal(episode_id=ep.id, reason=reason, requested_by=user.username,
                   requested_at=utcnow(), posts={})
    s.add(w)
    s.flush()
    audit(s, user.username, "episode.withdraw_request", f"episode:{ep.id}", withdrawal=w.id,
          reason=reason)
    notify(s, "warning", f"{ep.label}: Antrag auf Zurückziehen",
           f"{user.username} möchte {ep.label} von allen Plattformen löschen lassen. Grund: "
           f"{reason} Eine zweite Person muss das bestätigen.", episode_id=ep.id)
    return w


def approve(s: Session, w: Withdrawal, user: Person) -> list[int]:
    """Approve a request (four eyes); returns the posts to delete (now ``withdrawing``)."""
    ep = s.get(Episode, w.episode_id)
    assert ep is not None
    if not has_role(user, Role.APPROVER):
        raise ReviewError("role", "Zurückziehen bestätigen dürfen nur Personen mit der Rolle "
                                  "Freigeben oder Verwalten.")
    if w.state != "requested":
        raise ReviewError("state", f"Dieser Antrag ist schon entschieden ({w.state}).")
    if w.requested_by == user.username:
        raise ReviewError("own_request", f"{ep.label}: Sie haben das Zurückziehen selbst "
                                         "beantragt. Nach dem Vier-Augen-Prinzip muss jemand "
                                         "anderes bestätigen.")
    _refuse_busy(ep)
    deleting, cancelled = [], []
    for p in sorted(ep.posts, key=lambda p: p.id):
        if p.state in _GONE:
            continue
        current = S(p.state)
        if may_be_out(p) and current in WITHDRAWABLE:  # deleted there, even an unpublished upload
            if transition(s, p.id, S.WITHDRAWING, expect=[current], last_error=None,
                          attempts=0):
                deleting.append(p.id)
        elif transition(s, p.id, S.CANCELLED, expect=[current]):
            cancelled.append(p.id)
    w.state, w.decided_by, w.decided_at = "approved", user.username, utcnow()
    w.posts = {"deleting": deleting, "cancelled": cancelled}
    audit(s, user.username, "episode.withdraw_approve", f"episode:{ep.id}", withdrawal=w.id,
          reason=w.reason, requested_by=w.requested_by, deleting=deleting, cancelled=cancelled)
    return deleting


def reject(s: Session, w: Withdrawal, user: Person) -> None:
    """Turn a request down (an approver), or take one's own request back."""
    if w.state != "requested":
        raise ReviewError("state", f"Dieser Antrag ist schon entschieden ({w.state}).")
    if w.requested_by != user.username and not has_role(user, Role.APPROVER):
        raise ReviewError("role", "Ablehnen dürfen nur Personen mit der Rolle Freigeben oder "
                                  "Verwalten (oder wer den Antrag gestellt hat).")
    w.state, w.decided_by, w.decided_at = "rejected", user.username, utcnow()
    audit(s, user.username, "episode.withdraw_reject", f"episode:{w.episode_id}",
          withdrawal=w.id)


def confirm_by_hand(s: Session, post: Post, user: Person) -> None:
    """A person deleted the post in the platform's app: ``withdraw_attention -> withdrawn``."""
    if not has_role(user, Role.EDITOR):
        raise ReviewError("role", "Dazu fehlt Ihnen die Berechtigung (Rolle Bearbeiten).")
    if not transition(s, post.id, S.WITHDRAWN, expect=[S.WITHDRAW_ATTENTION]):
        raise ReviewError("state", "Der Beitrag wartet nicht auf ein Löschen von Hand.")
    audit(s, user.username, "post.withdraw_confirmed_by_hand", f"post:{post.id}",
          remote_id=post.remote_id)


def retry(s: Session, post: Post, user: Person) -> None:
    """Delete once more through the API (``withdraw_attention -> withdrawing``)."""
    if not has_role(user, Role.EDITOR):
        raise ReviewError("role", "Dazu fehlt Ihnen die Berechtigung (Rolle Bearbeiten).")
    if not transition(s, post.id, S.WITHDRAWING, expect=[S.WITHDRAW_ATTENTION],
                      last_error=None, attempts=0):
        raise ReviewError("state", "Der Beitrag wartet nicht auf ein erneutes Löschen.")
    audit(s, user.username, "post.withdraw_retry", f"post:{post.id}")


__all__ = ["MIN_REASON", "approve", "confirm_by_hand", "history", "may_be_out",
           "open_request", "reject", "request", "retry"]

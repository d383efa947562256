"""Staff decisions shared by the pages and the JSON API: edit texts, approve, retry a post.

Each one writes in one transaction and sends its Celery task only after the commit (a worker
must find the new state when the task arrives).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from episodes import store
from episodes.lifecycle import WAITING_FOR_STAFF, PostState
from episodes.models import Episode, Role, utcnow
from episodes.repair import cleared_post
from episodes.review import ReviewError, approve, cleared, update_texts
from workers.task_names import MEDIA_PREPARE, PUBLISH_RUN

from .app import Wtg
from .auth import Staff
from .preview import previews, problems_of


class ActionError(Exception):
    """A decision was refused; ``status`` is the HTTP status, ``message_de`` for staff."""

    def __init__(self, status: int, code: str, message_de: str) -> None:
        self.status = status
        self.code = code
        self.message_de = message_de
        super().__init__(f"{code}: {message_de}")

    @classmethod
    def of(cls, exc: ReviewError) -> ActionError:
        forbidden = ("role", "own_edit", "own_request")
        return cls(403 if exc.code in forbidden else 409, exc.code, exc.message_de)


def not_found(what: str) -> ActionError:
    return ActionError(404, "not_found", f"{what} gibt es nicht.")


def edit_texts(deps: Wtg, staff: Staff, episode_id: int, values: Mapping[str, Any]) -> list[str]:
    """Save edited texts; a change starts a new revision (the approval is void).

    The media job drops its result when the revision moved on while it worked, and the title
    is part of the intro card: so a change during preparation, or of the title, sends
    ``wtg.media.prepare`` again (unchanged renditions come from the pipeline's cache)."""
    with deps.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise not_found("Diese Folge")
        try:
            changed = update_texts(s, ep, staff, values)
        except ReviewError as exc:
            raise ActionError.of(exc) from None
        busy = ep.media_status in ("queued", "probing", "transcoding")
        again = bool(changed) and bool(ep.source_path) and (busy or "title" in changed)
    if again:
        deps.send(MEDIA_PREPARE, episode_id)
    return changed


def episode_problems(deps: Wtg, ep: Episode) -> list[str]:
    """What the episode's previews show as problems, over every account it goes to."""
    accounts = [(p.account.name, p.account.platform)
                for p in sorted(ep.posts, key=lambda p: p.account.name)]
    return problems_of(previews(deps.settings, ep, ep.series, accounts))


def approve_episode(deps: Wtg, staff: Staff, episode_id: int, seen_revision: int | None,
                    override_reason: str | None = None) -> None:
    """Approve the revision the approver saw (four eyes: nobody who edited it since the last
    approval; refused while a preview shows a problem, unless an admin overrides with a
    reason)."""
    with deps.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise not_found("Diese Folge")
        if seen_revision is None:
            raise ActionError(409, "stale", "Die Freigabe muss den Stand nennen, den Sie gesehen "
                                            "haben. Bitte die Seite neu laden.")
        try:
            approve(s, ep, staff, seen_revision=seen_revision,
                    problems=episode_problems(deps, ep), override_reason=override_reason)
        except ReviewError as exc:
            raise ActionError.of(exc) from None


def retry_post(deps: Wtg, staff: Staff, post_id: int) -> None:
    """failed / needs attention / missed -> queued, then ``wtg.publish.run`` is sent."""
    if not staff.can(Role.EDITOR):
        raise ActionError(403, "role", "Zum erneuten Senden fehlt Ihnen die Berechtigung.")
    with deps.db.session() as s:
        post = store.get_post(s, post_id)
        if post is None:
            raise not_found("Diesen Beitrag")
        ep = post.episode
        if post.state not in {str(x) for x in WAITING_FOR_STAFF}:
            raise ActionError(
                409, "state",
                f"Der Beitrag ist im Zustand „{post.state}“; erneut versuchen geht nur bei "
                "fehlgeschlagenen, verpassten oder zu prüfenden Beiträgen.",
            )
        if not cleared(ep):
            raise ActionError(
                409, "not_approved",
                f"{ep.label} ist in der aktuellen Fassung nicht freigegeben (Vier-Augen-Prinzip). "
                "Bitte erst freigeben lassen.",
            )
        if not cleared_post(post):
            raise ActionError(
                409, "not_approved",
                f"Die Korrektur des Beitrags (Stand {post.correction}) ist nicht freigegeben "
                "(Vier-Augen-Prinzip). Bitte erst von einer zweiten Person freigeben lassen.",
            )
        moved = store.transition(s, post_id, PostState.QUEUED, expect=WAITING_FOR_STAFF,
                                 queued_at=utcnow(), last_error=None, progress=0.0)
        if not moved:
            raise ActionError(409, "race", "Der Beitrag hat sich gerade geändert. Bitte neu laden.")
        store.audit(s, staff.username, "post.retry", f"post:{post_id}", from_state=post.state)
    deps.send(PUBLISH_RUN, post_id)


__all__ = ["ActionError", "approve_episode", "edit_texts", "episode_problems", "not_found",
           "retry_post"]

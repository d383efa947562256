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
from episodes.review import ReviewError, approve, cleared, update_texts
from workers.task_names import MEDIA_PREPARE, PUBLISH_RUN

from .app import Wtg
from .auth import Staff


class ActionError(Exception):
    """A decision was refused; ``status`` is the HTTP status, ``message_de`` for staff."""

    def __init__(self, status: int, code: str, message_de: str) -> None:
        self.status = status
        self.code = code
        self.message_de = message_de
        super().__init__(f"{code}: {message_de}")

    @classmethod
    def of(cls, exc: ReviewError) -> ActionError:
        return cls(403 if exc.code in ("role", "own_edit") else 409, exc.code, exc.message_de)


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


def approve_episode(deps: Wtg, staff: Staff, episode_id: int, seen_revision: int | None) -> None:
    """Approve the revision the approver saw (four eyes: never one's own edit)."""
    with deps.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise not_found("Diese Folge")
        try:
            approve(s, ep, staff, seen_revision=seen_revision)
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
        moved = store.transition(s, post_id, PostState.QUEUED, expect=WAITING_FOR_STAFF,
                                 queued_at=utcnow(), last_error=None, progress=0.0)
        if not moved:
            raise ActionError(409, "race", "Der Beitrag hat sich gerade geändert. Bitte neu laden.")
        store.audit(s, staff.username, "post.retry", f"post:{post_id}", from_state=post.state)
    deps.send(PUBLISH_RUN, post_id)


__all__ = ["ActionError", "approve_episode", "edit_texts", "not_found", "retry_post"]

"""Four eyes: an episode goes out only after someone other than its last editor approved
exactly the revision that will be posted.

Every change to an episode's texts or media goes through :func:`record_edit`, which bumps
``revision`` (voiding an approval, see ``Episode.approved``) and remembers the editor.
:func:`approve` refuses the editor themself, whatever their role (admins included), and refuses
a revision the approver did not see. :func:`cleared` is what publishing asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from .lifecycle import PostState
from .models import Episode, Role, utcnow
from .store import audit, transition
from .users import Person, has_role

#: episode fields staff may edit (texts); media fields change through uploads
TEXT_FIELDS = ("title", "place", "description", "hashtags", "text_overrides")


class ReviewError(PermissionError):
    """An approval or edit is refused; ``message_de`` says why, for staff."""

    def __init__(self, code: str, message_de: str) -> None:
        self.code = code
        self.message_de = message_de
        super().__init__(f"{code}: {message_de}")


def cleared(episode: Episode) -> bool:
    """True if the current revision is approved by someone other than its last editor."""
    return episode.approved and episode.approved_by != episode.edited_by


def record_edit(s: Session, episode: Episode, actor: str, action: str, **details: Any) -> None:
    """A change to texts or media by ``actor``: new revision (approval void), audit entry."""
    was_approved = episode.approved
    episode.revision += 1
    episode.edited_by = actor
    episode.updated_at = utcnow()
    audit(s, actor, action, f"episode:{episode.id}", revision=episode.revision,
          approval_voided=was_approved, **details)


def update_texts(
    s: Session, episode: Episode, user: Person, values: Mapping[str, Any]
) -> list[str]:
    """Apply edited text fields; returns the names that changed (no change: no new revision)."""
    if not has_role(user, Role.EDITOR):
        raise ReviewError("role", "Zum Bearbeiten fehlt Ihnen die Berechtigung (Rolle Bearbeiten).")
    check_editable(episode)
    changed = []
    for key in TEXT_FIELDS:
        if key not in values:
            continue
        new = values[key]
        if key == "title" and not str(new).strip():
            raise ReviewError("title_empty", "Der Titel darf nicht leer sein.")
        if getattr(episode, key) != new:
            setattr(episode, key, new)
            changed.append(key)
    if changed:
        record_edit(s, episode, user.username, "episode.edit", fields=changed)
    return changed


def approve(
    s: Session, episode: Episode, user: Person, *, seen_revision: int | None = None
) -> None:
    """Approve the episode's current revision as ``user`` (German ``ReviewError`` if not)."""
    if not has_role(user, Role.APPROVER):
        raise ReviewError(
            "role", "Freigeben dürfen nur Personen mit der Rolle Freigeben oder Verwalten."
        )
    if seen_revision is not None and seen_revision != episode.revision:
        raise ReviewError(
            "stale",
            f"{episode.label} wurde inzwischen geändert (Stand {episode.revision}, Sie haben "
            f"Stand {seen_revision} gesehen). Bitte die neue Fassung ansehen und dann freigeben.",
        )
    if episode.edited_by == user.username:
        raise ReviewError(
            "own_edit",
            f"{episode.label}: Sie haben die Folge zuletzt bearbeitet. Nach dem "
            "Vier-Augen-Prinzip muss jemand anderes freigeben.",
        )
    if episode.approved:
        return
    episode.approved_by = user.username
    episode.approved_at = utcnow()
    episode.approved_revision = episode.revision
    audit(s, user.username, "episode.approve", f"episode:{episode.id}",
          revision=episode.revision, edited_by=episode.edited_by)


def media_changed(s: Session, episode: Episode, actor: str, action: str, **details: Any) -> None:
    """A new source clip or subtitle file: new revision, media to be prepared again, posts that
    were ready wait again."""
    check_editable(episode)
    record_edit(s, episode, actor, action, **details)
    episode.media_status = "queued" if episode.source_path else "missing"
    episode.media_progress = 0.0
    for post in episode.posts:
        if post.state in (PostState.READY, PostState.PREPARING):
            transition(s, post.id, PostState.PENDING)


def check_editable(episode: Episode) -> None:
    """Raise ``ReviewError`` if a post of the episode is in flight or out (texts are frozen)."""
    busy = {str(x) for x in (PostState.QUEUED, PostState.UPLOADING, PostState.PROCESSING,
                             PostState.PUBLISHING, PostState.UNCONFIRMED, PostState.PUBLISHED,
                             PostState.SCHEDULED)}
    if any(p.state in busy for p in episode.posts):
        raise ReviewError(
            "locked",
            f"{episode.label} wird gerade gesendet oder ist schon veröffentlicht; Text und "
            "Video können nicht mehr geändert werden.",
        )


__all__ = [
    "TEXT_FIELDS", "ReviewError", "approve", "check_editable", "cleared", "media_changed",
    "record_edit", "update_texts",
]

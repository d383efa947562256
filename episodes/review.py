"""Four eyes: an episode goes out only after someone who has not touched it since the last
approval approved exactly the revision that will be posted.

Every change to an episode's texts, subtitles or media goes through :func:`record_edit`, which
bumps ``revision`` (voiding an approval, see ``Episode.approved``), remembers the editor and
keeps an :class:`~episodes.control_models.EpisodeEdit` row. :func:`approve` refuses everybody who
edited the episode since its last approval (not only the last editor: an approver who rewrote
the description does not approve their own text because a colleague changed one letter
afterwards), whatever their role (admins included); it refuses a revision the approver did not
see, and -- unless an admin overrides with a reason -- a revision whose previews show a problem.
:func:`cleared` is what publishing asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .control_models import EpisodeEdit
from .lifecycle import PostState
from .models import Episode, Role, utcnow
from .store import audit, transition
from .users import Person, has_role

#: episode fields staff may edit (texts); media fields change through uploads
TEXT_FIELDS = ("title", "place", "description", "hashtags", "text_overrides")
#: an admin's override of the preview check needs a reason of at least this many characters
MIN_REASON = 10
KIND_DE = {"texts": "Texte", "subtitles": "Untertitel", "media": "Video",
           "post_text": "Text des Beitrags", "post_rendition": "Videofassung des Beitrags"}


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
    """A change to texts, subtitles or media by ``actor``: new revision (approval void), a row
    in the edit history, an audit entry."""
    was_approved = episode.approved
    episode.revision += 1
    episode.edited_by = actor
    episode.updated_at = utcnow()
    kind = ("subtitles" if "subtitle" in action else "media" if "source" in action
            else "texts")
    s.add(EpisodeEdit(episode_id=episode.id, revision=episode.revision, actor=actor, kind=kind,
                      fields=[str(f) for f in details.get("fields") or []]))
    audit(s, actor, action, f"episode:{episode.id}", revision=episode.revision,
          approval_voided=was_approved, **details)


def editors_since(s: Session, episode_id: int, since: int | None, *,
                  post_id: int | None = None) -> dict[str, set[str]]:
    """Who changed the episode (or, with ``post_id``, that post's correction) after revision
    ``since`` (None: ever), and what: person -> kinds of change."""
    q = select(EpisodeEdit).where(EpisodeEdit.episode_id == episode_id,
                                  EpisodeEdit.revision > (since or 0))
    q = q.where(EpisodeEdit.post_id.is_(None) if post_id is None
                else EpisodeEdit.post_id == post_id)
    out: dict[str, set[str]] = {}
    for edit in s.scalars(q):
        out.setdefault(edit.actor, set()).add(edit.kind)
    return out


def check_four_eyes(user: Person, what: str, editors: Mapping[str, set[str]], *,
                    problems: list[str], override_reason: str | None) -> str | None:
    """Refuse (``ReviewError``) an approver who edited since the last approval, or a version
    whose previews show problems -- unless an admin overrides the problems with a reason.
    Returns the override reason that was used (to audit), or None."""
    own = editors.get(user.username)
    if own:
        changed = ", ".join(sorted(KIND_DE.get(k, k) for k in own))
        raise ReviewError(
            "own_edit",
            f"{what}: Sie haben seit der letzten Freigabe selbst etwas geändert ({changed}). "
            "Nach dem Vier-Augen-Prinzip muss jemand freigeben, der nichts daran geändert hat.",
        )
    if not problems:
        return None
    reason = (override_reason or "").strip()
    if not reason:
        hint = (" Als Verwaltung können Sie mit einer Begründung trotzdem freigeben."
                if has_role(user, Role.ADMIN) else "")
        raise ReviewError(
            "preview_problems",
            f"{what} kann nicht freigegeben werden, solange die Vorschau Probleme zeigt: "
            + " ".join(problems) + " Bitte zuerst die Texte korrigieren." + hint,
        )
    if not has_role(user, Role.ADMIN):
        raise ReviewError("role", "Trotz Problemen freigeben darf nur die Verwaltung (Rolle "
                                  "Verwalten), mit Begründung.")
    if len(reason) < MIN_REASON:
        raise ReviewError("override_reason", "Bitte die Freigabe trotz Problemen begründen "
                                             f"(mindestens {MIN_REASON} Zeichen).")
    return reason


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
    s: Session, episode: Episode, user: Person, *, seen_revision: int | None = None,
    problems: list[str] | None = None, override_reason: str | None = None,
) -> None:
    """Approve the episode's current revision as ``user`` (German ``ReviewError`` if not).
    ``problems``: what the previews show for this revision (empty: none)."""
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
    editors = editors_since(s, episode.id, episode.approved_revision)
    override = check_four_eyes(user, episode.label, editors, problems=list(problems or []),
                               override_reason=override_reason)
    if episode.approved:
        return
    episode.approved_by = user.username
    episode.approved_at = utcnow()
    episode.approved_revision = episode.revision
    audit(s, user.username, "episode.approve", f"episode:{episode.id}",
          revision=episode.revision, edited_by=episode.edited_by,
          editors_since_last_approval=sorted(editors))
    if override:
        audit(s, user.username, "episode.approve_override", f"episode:{episode.id}",
              revision=episode.revision, reason=override, problems=list(problems or []))


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
    "KIND_DE", "MIN_REASON", "TEXT_FIELDS", "ReviewError", "approve", "check_editable",
    "check_four_eyes", "cleared", "editors_since", "media_changed", "record_edit",
    "update_texts",
]

"""Repair of a refused or failed post: its own text and rendition, approved by four eyes again.

A post that a platform refused (or that failed) keeps its episode as it is -- the other
platforms may already show it -- and gets a correction of its own: a text override (title, body)
that :func:`episodes.captions.render_for` uses instead of the episode's text, and/or another
verified rendition of the episode (``profile_override``). Every correction bumps
``Post.correction``, which voids the post's approval (``correction_approved``); a second person
who did not change the correction since its last approval must approve it before the post is
sent again. The retry sends only what is missing: an upload already done is kept unless the
rendition changed (then the next attempt uploads afresh; what was uploaded before stays in
``remote["previous"]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from .control_models import EpisodeEdit
from .lifecycle import WAITING_FOR_STAFF
from .models import Post, Role, utcnow
from .review import ReviewError, check_four_eyes, editors_since
from .store import audit
from .users import Person, has_role

#: states in which a post may be corrected: nothing is in flight and staff decide
REPAIRABLE = frozenset(str(s) for s in WAITING_FOR_STAFF)
TEXT_PARTS = ("title", "body")
#: remote facts that describe the upload (dropped for a fresh upload of a new rendition)
PUBLISH_FACTS = ("publish_started", "online", "status_attempt_at", "publish_sent")


def post_label(post: Post) -> str:
    where = post.account.display_name or post.account.name
    return f"{post.episode.label} auf {where}"


def cleared_post(post: Post) -> bool:
    """True if the post has no correction, or its current correction is approved."""
    return post.correction == 0 or post.correction_approved == post.correction


def publish_started(post: Post) -> bool:
    """Whether the platform may already have the publish call (or shows the post)."""
    remote = post.remote or {}
    return any(remote.get(k) for k in PUBLISH_FACTS)


def correct_post(
    s: Session, post: Post, user: Person, *, text: Mapping[str, str] | None = None,
    profile: str | None = None, profiles: Sequence[str] = (),
) -> list[str]:
    """Apply a correction; returns what changed (``text``, ``rendition``), empty if nothing.

    ``text``: {"title", "body"}; an empty part falls back to the episode's text. ``profile``:
    the rendition profile to send (``""``: the account's default again; None: unchanged);
    ``profiles``: the episode's verified profiles."""
    if not has_role(user, Role.EDITOR):
        raise ReviewError("role", "Zum Korrigieren fehlt Ihnen die Berechtigung (Rolle "
                                  "Bearbeiten).")
    label = post_label(post)
    if post.state not in REPAIRABLE:
        raise ReviewError("state", f"{label} ist im Zustand „{post.state}“; korrigieren geht nur "
                                   "bei fehlgeschlagenen, verpassten oder zu prüfenden Beiträgen.")
    if (post.remote or {}).get("online"):
        raise ReviewError("locked", f"{label} ist schon online; Text und Video lassen sich dort "
                                    "nicht mehr ändern. Zum Entfernen: Folge zurückziehen.")
    changed: list[str] = []
    if text is not None:
        wanted = {k: str(text.get(k) or "").strip() for k in TEXT_PARTS}
        new = {k: v for k, v in wanted.items() if v} or None
        if new != (post.text_override or None):
            post.text_override = new
            changed.append("text")
    if profile is not None and (profile or None) != post.profile_override:
        if profile and profile not in profiles:
            raise ReviewError("profile", f"Die Videofassung „{profile}“ gibt es für "
                                         f"{post.episode.label} nicht (geprüft).")
        if publish_started(post):
            raise ReviewError(
                "locked", f"{label}: das Video wurde der Plattform schon zum Veröffentlichen "
                          "übergeben; eine andere Fassung ist nicht mehr möglich. wtg prüft beim "
                          "erneuten Versuch, ob der Beitrag doch erschienen ist.")
        post.profile_override = profile or None
        if post.remote:  # a new rendition: the next attempt uploads afresh
            post.remote = {"previous": dict(post.remote)}
        changed.append("rendition")
    if not changed:
        return []
    post.correction += 1
    for kind in changed:
        s.add(EpisodeEdit(episode_id=post.episode_id, post_id=post.id,
                          revision=post.correction, actor=user.username,
                          kind=f"post_{kind}", fields=[kind], at=utcnow()))
    audit(s, user.username, "post.correct", f"post:{post.id}", correction=post.correction,
          changed=changed, text=post.text_override, profile=post.profile_override,
          approval_voided=post.correction_approved is not None)
    return changed


def approve_correction(
    s: Session, post: Post, user: Person, *, seen: int | None, problems: list[str],
    override_reason: str | None = None,
) -> None:
    """Approve the post's current correction (four eyes: nobody who changed it since its last
    approval; a preview with problems only with an admin's reasoned override)."""
    if not has_role(user, Role.APPROVER):
        raise ReviewError("role", "Freigeben dürfen nur Personen mit der Rolle Freigeben oder "
                                  "Verwalten.")
    label = post_label(post)
    if post.correction == 0:
        raise ReviewError("nothing", f"{label} hat keine Korrektur, die freizugeben wäre.")
    if seen is None or seen != post.correction:
        raise ReviewError("stale", f"{label} wurde inzwischen erneut korrigiert (Stand "
                                   f"{post.correction}, Sie haben Stand {seen} gesehen). Bitte "
                                   "die neue Fassung ansehen und dann freigeben.")
    editors = editors_since(s, post.episode_id, post.correction_approved, post_id=post.id)
    override = check_four_eyes(user, label, editors, problems=problems,
                               override_reason=override_reason)
    if cleared_post(post):
        return
    post.correction_approved = post.correction
    post.correction_approved_by = user.username
    audit(s, user.username, "post.approve_correction", f"post:{post.id}",
          correction=post.correction, editors=sorted(editors), override=override,
          problems=problems if override else [])


def correction_summary(post: Post) -> dict[str, Any]:
    """What the dashboard and API show of a post's correction."""
    return {"text_override": dict(post.text_override or {}) or None,
            "profile_override": post.profile_override, "correction": post.correction,
            "correction_approved": post.correction_approved,
            "correction_approved_by": post.correction_approved_by,
            "cleared": cleared_post(post)}


__all__ = ["REPAIRABLE", "approve_correction", "cleared_post", "correct_post",
           "correction_summary", "post_label", "publish_started"]

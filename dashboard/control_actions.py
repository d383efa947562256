"""Staff controls shared by the pages (:mod:`.controls`) and the JSON API
(:mod:`.api_controls`): pause and resume a series, publish now, hold, skip, cancel; repair a
refused post (its own text or rendition, four eyes again); withdraw an episode (a reason, a
second person, then the platforms' delete calls).

Each writes in one transaction and sends its Celery task only after the commit. Refusals are
:class:`~.actions.ActionError` with a German sentence: 403 for a missing role or one's own edit,
409 where the state forbids the change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from episodes import store, withdrawals
from episodes.captions import render_for
from episodes.control_models import Withdrawal
from episodes.models import Episode, Post, Role
from episodes.repair import approve_correction, correct_post
from episodes.review import ReviewError, approve
from scheduler import controls
from scheduler.clock import clock_for
from scheduler.jobs import Deps

from .actions import ActionError, episode_problems, not_found
from .app import Wtg
from .auth import Staff
from .preview import Preview, previews, problems_of

ROLE_DE = {Role.EDITOR: "Bearbeiten", Role.APPROVER: "Freigeben", Role.ADMIN: "Verwalten"}


def need(staff: Staff, role: Role) -> None:
    if not staff.can(role):
        raise ActionError(403, "role", f"Dazu fehlt Ihnen die Berechtigung (Rolle "
                                       f"{ROLE_DE.get(role, role)}).")


def scheduler_deps(deps: Wtg, staff: Staff) -> Deps:
    return Deps(db=deps.db, sender=deps.celery, settings=deps.settings, actor=staff.username,
                clock=clock_for(deps.settings, deps.db, create=False))


def control(deps: Wtg, staff: Staff, fn: Callable[..., controls.Done], *args: Any,
            **kw: Any) -> controls.Done:
    """Run a scheduler control as ``staff`` (role editor); ControlError -> 409."""
    need(staff, Role.EDITOR)
    try:
        return fn(scheduler_deps(deps, staff), *args, actor=staff.username, **kw)
    except controls.ControlError as exc:
        raise ActionError(409, "state", str(exc)) from None


def series_slug(deps: Wtg, slug: str) -> str:
    with deps.db.session() as s:
        if store.get_series(s, slug) is None or not slug:
            raise not_found("Diese Staffel")
    return slug


def set_paused(deps: Wtg, staff: Staff, slug: str, paused: bool) -> controls.Done:
    return control(deps, staff, controls.set_paused, paused, series=series_slug(deps, slug))


def approve_with_override(deps: Wtg, staff: Staff, episode_id: int, seen: int | None,
                          reason: str) -> None:
    """An admin approves although a preview shows a problem (the reason is audited)."""
    with deps.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise not_found("Diese Folge")
        if seen is None:
            raise ActionError(409, "stale", "Bitte die Seite neu laden und erneut freigeben.")
        try:
            approve(s, ep, staff, seen_revision=seen, problems=episode_problems(deps, ep),
                    override_reason=reason or None)
        except ReviewError as exc:
            raise ActionError.of(exc) from None


# --- repair -----------------------------------------------------------------------------------
def post_previews(deps: Wtg, post: Post) -> list[Preview]:
    """The post's preview with its correction (what the platform would receive now)."""
    acc = post.account
    return previews(deps.settings, post.episode, post.episode.series, [(acc.name, acc.platform)],
                    {acc.name: post.text_override})


def verified_profiles(post: Post) -> list[str]:
    return sorted(r.profile for r in post.episode.renditions if r.verified)


def repair(deps: Wtg, staff: Staff, post_id: int, *, text: Mapping[str, str] | None,
           profile: str | None) -> list[str]:
    """Correct a refused post (its text and/or rendition); voids its approval."""
    with deps.db.session() as s:
        post = _post(s, post_id)
        if text is not None:  # a part equal to the episode's own text is no correction
            own = render_for(post.episode, post.episode.series, post.account.platform)
            text = {k: v for k, v in text.items()
                    if (v or "").strip() != (getattr(own, k) or "").strip()}
        try:
            return correct_post(s, post, staff, text=text, profile=profile,
                                profiles=verified_profiles(post))
        except ReviewError as exc:
            raise ActionError.of(exc) from None


def approve_repair(deps: Wtg, staff: Staff, post_id: int, seen: int | None,
                   override_reason: str | None = None) -> None:
    """Approve a post's correction (four eyes, no preview problem unless an admin overrides)."""
    with deps.db.session() as s:
        post = _post(s, post_id)
        try:
            approve_correction(s, post, staff, seen=seen,
                               problems=problems_of(post_previews(deps, post)),
                               override_reason=override_reason)
        except ReviewError as exc:
            raise ActionError.of(exc) from None


# --- withdrawal -------------------------------------------------------------------------------
def request_withdrawal(deps: Wtg, staff: Staff, episode_id: int, reason: str) -> int:
    with deps.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise not_found("Diese Folge")
        try:
            return withdrawals.request(s, ep, staff, reason).id
        except ReviewError as exc:
            raise ActionError.of(exc) from None


def decide_withdrawal(deps: Wtg, staff: Staff, withdrawal_id: int, *, approve: bool) -> int:
    """Approve (then the deletes are sent) or turn down a request; returns its episode id."""
    with deps.db.session() as s:
        w = s.get(Withdrawal, withdrawal_id)
        if w is None:
            raise not_found("Diesen Antrag")
        try:
            started = withdrawals.approve(s, w, staff) if approve else []
            if not approve:
                withdrawals.reject(s, w, staff)
        except ReviewError as exc:
            raise ActionError.of(exc) from None
        episode_id = w.episode_id
    controls.send_withdraw(scheduler_deps(deps, staff), started)
    return episode_id


def withdraw_post_step(deps: Wtg, staff: Staff, post_id: int, *, by_hand: bool) -> None:
    """``withdraw_attention``: confirm it was deleted in the app, or delete again via the API."""
    with deps.db.session() as s:
        post = _post(s, post_id)
        try:
            (withdrawals.confirm_by_hand if by_hand else withdrawals.retry)(s, post, staff)
        except ReviewError as exc:
            raise ActionError.of(exc) from None
    if not by_hand:
        controls.send_withdraw(scheduler_deps(deps, staff), [post_id])


def _post(s: Any, post_id: int) -> Post:
    post = store.get_post(s, post_id)
    if post is None:
        raise not_found("Diesen Beitrag")
    return post


__all__ = ["approve_repair", "approve_with_override", "control", "decide_withdrawal", "need",
           "post_previews", "repair", "request_withdrawal", "scheduler_deps", "set_paused",
           "verified_profiles", "withdraw_post_step"]

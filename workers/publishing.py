"""The publish orchestrator: drives one post through the platform adapter, exactly once.

Rules (STYLE 8, issue 4):
* the post's state is written before and after every remote call (``store.transition`` is a
  compare-and-set, guarded by the worker's lease);
* every remote identifier is recorded the moment the adapter learns it (``ctx.record``), so an
  upload interrupted by a crash resumes instead of starting over;
* the irreversible ``publish`` is preceded by ``publishing`` + a ``publish_started`` fact; a
  timeout or crash around it leaves the post ``unconfirmed``, and an unconfirmed post is reconciled
  with ``find_published`` before anything else happens;
* waiting for the platform's processing never holds a worker: the task re-enqueues itself with a
  countdown (``Outcome.again``).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config import AccountSettings
from config.credentials import MissingCredential
from config.loader import credentials_for
from episodes import store
from episodes.captions import render_for
from episodes.lifecycle import IN_FLIGHT, PostState
from episodes.models import Account as AccountRow
from episodes.models import Episode, Post, Rendition, utcnow

from .platforms.base import (
    Account,
    MediaFile,
    Platform,
    PostContext,
    ProcessingState,
    adapter_class,
)
from .platforms.errors import (
    ConnectionLost,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
)
from .runtime import Runtime

log = logging.getLogger("wtg.publishing")
S = PostState

#: which rendition profile an account gets unless its settings name one
DEFAULT_PROFILE = {
    "youtube": "landscape",
    "facebook": "landscape",
    "instagram": "vertical-burned",
    "tiktok": "vertical-burned",
    "mastodon": "landscape-burned",
}
MAX_TRANSIENT_ATTEMPTS = 12
RESTART_UPLOAD_AFTER = ("processing_failed", "rejected")
#: permanent errors a person can fix without changing the episode (-> needs_attention)
FIXABLE_BY_STAFF = ("credentials_expired", "quota_exhausted", "upload_expired")


@dataclass
class Outcome:
    post_id: int
    state: str
    again: float | None = None  # re-enqueue after this many seconds
    note: str = ""
    notifications: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"post": self.post_id, "state": self.state, "again": self.again, "note": self.note}


class LeaseLost(Exception):
    """Another worker took the post over (ours expired); stop at once."""


def profile_for(account: AccountSettings) -> str:
    return account.profile or DEFAULT_PROFILE[account.platform]


def adapter_for(rt: Runtime, account: AccountSettings) -> Platform:
    cls = adapter_class(account.platform)
    acc = Account(name=account.name, platform=account.platform,
                  display_name=account.display_name or account.name,
                  api_base=account.api_base, options=dict(account.options))
    return cls(acc, credentials_for(account.name, rt.settings))


# --- entry point ------------------------------------------------------------------------------
def run_post(rt: Runtime, post_id: int, worker: str) -> Outcome:
    """Advance ``post_id`` as far as possible now; see ``Outcome.again`` for a follow-up."""
    with rt.db.session() as s:
        post = s.get(Post, post_id)
        if post is None:
            return Outcome(post_id, "missing", note="no such post")
        state = S(post.state)
        if state not in IN_FLIGHT and state is not S.SCHEDULED:
            return Outcome(post_id, state, note="nothing to do in this state")
        if not store.take_lease(s, post_id, worker, rt.settings.lease_seconds):
            return Outcome(post_id, state, note="another worker holds the post")
    outcome: Outcome | None = None
    try:
        outcome = _Driver(rt, post_id, worker).run()
        return outcome
    except LeaseLost:
        return Outcome(post_id, "lease_lost", note="another worker took over")
    finally:
        with rt.db.session() as s:
            if outcome is not None and outcome.again is not None:
                # keep the post claimed until the follow-up task is due (the sweeper leaves
                # it alone); whichever worker runs that task takes the hand-off
                store.hand_off_lease(s, post_id, worker,
                                     outcome.again + rt.settings.lease_seconds)
            else:
                store.release_lease(s, post_id, worker)


class _Driver:
    def __init__(self, rt: Runtime, post_id: int, worker: str) -> None:
        self.rt = rt
        self.post_id = post_id
        self.worker = worker
        self.notifications: list[int] = []
        self._last_progress = 0.0

    # -- setup --------------------------------------------------------------------------------
    def _load(self) -> tuple[Post, Episode, AccountSettings, Rendition | None]:
        with self.rt.db.session() as s:
            post = s.get(Post, self.post_id)
            assert post is not None
            ep = post.episode
            _ = ep.series, post.account
            acc_row: AccountRow = post.account
            try:
                acc = self.rt.settings.account(acc_row.name)
            except KeyError:
                acc = None  # type: ignore[assignment]
            rendition = None
            if acc is not None:
                prof = profile_for(acc)
                rendition = next((r for r in ep.renditions if r.profile == prof and r.verified),
                                 None)
            s.expunge_all()
        return post, ep, acc, rendition

    def _context(self, post: Post, ep: Episode, acc: AccountSettings, r: Rendition) -> PostContext:
        remote: dict[str, Any] = dict(post.remote or {})
        self.remote = remote
        series = ep.series
        scheduled_at = None
        if acc.native_scheduling and post.slot_at and post.slot_at > utcnow() + timedelta(
                minutes=float(acc.options.get("native_min_lead_minutes", 15))):
            scheduled_at = post.slot_at
        return PostContext(
            post_id=post.id,
            episode_number=ep.number,
            account=Account(name=acc.name, platform=acc.platform,
                            display_name=acc.display_name or acc.name, api_base=acc.api_base,
                            options=dict(acc.options)),
            credentials=credentials_for(acc.name, self.rt.settings),
            video=MediaFile(path=Path(r.path), size=r.size, sha256=r.sha256, width=r.width,
                            height=r.height, duration=r.duration),
            text=render_for(ep, series, acc.platform),
            marker=f"wtg-{series.slug}-e{ep.number:02d}-{acc.name}",
            idempotency_key=hashlib.sha256(f"wtg:{post.id}:{r.sha256}".encode()).hexdigest()[:40],
            remote=remote,
            record=self._record,
            captions_srt=Path(r.captions_srt) if r.captions_srt else None,
            captions_vtt=Path(r.captions_vtt) if r.captions_vtt else None,
            thumbnail=Path(r.thumbnail_path) if r.thumbnail_path else None,
            scheduled_at=scheduled_at,
            progress=self._progress,
            quota=DbQuota(self.rt, post.account_id, acc) if acc.platform == "youtube" else None,
            playlist_id=acc.options.get("playlist_id"),
        )

    def _record(self, facts: Mapping[str, Any]) -> None:
        with self.rt.db.session() as s:
            if not store.record_remote(s, self.post_id, self.worker, facts):
                raise LeaseLost()
            store.take_lease(s, self.post_id, self.worker, self.rt.settings.lease_seconds)
        self.remote.update(facts)

    def _progress(self, sent: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_progress < 1.0 and sent < total:
            return
        self._last_progress = now
        with self.rt.db.session() as s:
            s.query(Post).filter(Post.id == self.post_id, Post.lease_owner == self.worker).update(
                {"progress": round(100.0 * sent / max(total, 1), 1)})
            store.take_lease(s, self.post_id, self.worker, self.rt.settings.lease_seconds)

    # -- state changes ------------------------------------------------------------------------
    def _move(self, target: PostState, *, expect: PostState, step: str, outcome: str = "ok",
              error: Mapping[str, Any] | None = None, **fields: Any) -> None:
        with self.rt.db.session() as s:
            ok = store.transition(s, self.post_id, target, expect=[expect], owner=self.worker,
                                  **fields)
            if not ok:
                raise LeaseLost()
            store.add_attempt(s, self.post_id, step, outcome, worker=self.worker,
                              from_state=str(expect), to_state=str(target), error=error)
        self.state = target

    def _stay(self, step: str, err: PlatformError) -> float:
        """A transient error: same state, one more attempt, the wait before the next."""
        with self.rt.db.session() as s:
            post = s.get(Post, self.post_id)
            assert post is not None
            post.attempts += 1
            post.last_error = err.as_record()
            attempts = post.attempts
            store.add_attempt(s, self.post_id, step, "retry", worker=self.worker,
                              from_state=str(self.state), to_state=str(self.state),
                              error=err.as_record())
        if attempts > MAX_TRANSIENT_ATTEMPTS:
            raise _GiveUp(err)
        if isinstance(err, RateLimited):
            return err.retry_after + random.uniform(0, 0.2)
        base = min(300.0, self.rt.settings.retry_backoff * 2.0 ** min(attempts - 1, 7))
        return base * random.uniform(0.5, 1.0)

    def _staff(self, target: PostState, err: Mapping[str, Any], step: str, title: str) -> None:
        with self.rt.db.session() as s:
            post = s.get(Post, self.post_id)
            assert post is not None
            ep = post.episode
            ok = store.transition(s, self.post_id, target, expect=[self.state], owner=self.worker,
                                  last_error=dict(err))
            if not ok:
                raise LeaseLost()
            store.add_attempt(s, self.post_id, step, "error", worker=self.worker,
                              from_state=str(self.state), to_state=str(target), error=err)
            note = store.notify(
                s, "error", f"{ep.label} auf {post.account.display_name or post.account.name}: "
                f"{title}", str(err.get("message_de", "")), episode_id=ep.id, post_id=post.id)
            self.notifications.append(note)
        self.state = target

    # -- the steps ----------------------------------------------------------------------------
    def run(self) -> Outcome:
        post, ep, acc, rendition = self._load()
        self.state = S(post.state)
        if acc is None:
            self._staff(S.NEEDS_ATTENTION, _problem(
                "account_missing", f"Das Konto {post.account.name} ist nicht mehr eingerichtet."),
                "setup", "Konto fehlt")
            return self._out()
        if rendition is None:
            self._staff(S.FAILED, _problem(
                "no_rendition",
                f"Für {acc.display_name or acc.name} gibt es kein geprüftes Video "
                f"(Profil {profile_for(acc)}). Bitte die Videoaufbereitung prüfen."),
                "setup", "kein Video")
            return self._out()
        if self.state is S.QUEUED and post.last_error and (
                post.last_error.get("kind") in RESTART_UPLOAD_AFTER) and not (
                post.remote or {}).get("publish_started"):
            post.remote = {"previous": post.remote}  # a fresh upload after a rejected one
            with self.rt.db.session() as s:
                s.query(Post).filter(Post.id == post.id).update({"remote": post.remote})
        adapter = adapter_for(self.rt, acc)
        ctx = self._context(post, ep, acc, rendition)
        step = "setup"
        try:
            step = "upload"
            if self.state is S.QUEUED:
                if self.remote.get("publish_started"):
                    self._move(S.UNCONFIRMED, expect=S.QUEUED, step="resume")
                else:
                    self._move(S.UPLOADING, expect=S.QUEUED, step="start",
                               upload_started_at=post.upload_started_at or utcnow())
            if self.state is S.UPLOADING:
                adapter.upload(ctx)
                self._move(S.PROCESSING, expect=S.UPLOADING, step="upload", progress=100.0)
            if self.state is S.PROCESSING:
                step = "poll"
                proc = adapter.poll(ctx)
                if self.remote.get("publish_sent"):  # awaiting the platform's confirmation
                    if proc.state is ProcessingState.PUBLISHED:
                        found = adapter.find_published(ctx)
                        if found is not None:
                            return self._done(adapter, ctx, found, expect=S.PROCESSING,
                                              how="confirmed")
                    return self._out(again=self._poll_wait(proc.retry_after))
                if proc.state is ProcessingState.PENDING:
                    return self._out(again=self._poll_wait(proc.retry_after))
                return self._publish(adapter, ctx, expect=S.PROCESSING)
            if self.state is S.PUBLISHING:
                # found in `publishing`: the worker before us died around the publish call
                self._move(S.UNCONFIRMED, expect=S.PUBLISHING, step="crash-recovery")
            if self.state is S.UNCONFIRMED:
                step = "reconcile"
                found = adapter.find_published(ctx)
                if found is not None:
                    return self._done(adapter, ctx, found, expect=S.UNCONFIRMED, how="reconciled")
                return self._publish(adapter, ctx, expect=S.UNCONFIRMED)
            if self.state is S.SCHEDULED:
                step = "confirm"
                if post.slot_at and post.slot_at <= utcnow():
                    found = adapter.find_published(ctx)
                    if found is not None:
                        self._move(S.PUBLISHED, expect=S.SCHEDULED, step="confirm",
                                   public_url=found.url, published_at=post.slot_at)
                        return self._out()
                return self._out(again=None)
        except TransientError as err:
            if self.state is S.PUBLISHING:
                self._move(S.UNCONFIRMED, expect=S.PUBLISHING, step=step, outcome="unknown",
                           error=err.as_record())
            try:
                return self._out(again=self._stay(step, err))
            except _GiveUp:
                self._staff(S.NEEDS_ATTENTION, err.as_record(), step, "wiederholt gescheitert")
                return self._out()
        except PermanentError as err:
            target = S.NEEDS_ATTENTION if err.kind in FIXABLE_BY_STAFF else S.FAILED
            self._unsure_then(target, err.as_record(), step, _title(err))
            return self._out()
        except MissingCredential as err:
            self._unsure_then(S.NEEDS_ATTENTION, _problem("credentials_missing", str(err)),
                              step, "Zugangsdaten fehlen")
            return self._out()
        except LeaseLost:
            raise
        except Exception as exc:  # a bug of ours: never guess about a publish
            log.exception("post %s: unexpected error in %s", self.post_id, step)
            self._unsure_then(S.NEEDS_ATTENTION, _problem(
                "internal", f"Technischer Fehler in wtg ({type(exc).__name__}). Bitte die "
                "Technik informieren; der Beitrag wartet."), step, "technischer Fehler")
            return self._out()
        return self._out()

    def _unsure_then(self, target: PostState, err: Mapping[str, Any], step: str,
                     title: str) -> None:
        """If the publish call may have gone out, never mark it failed: unconfirmed first."""
        if self.state is S.PUBLISHING:
            self._move(S.UNCONFIRMED, expect=S.PUBLISHING, step=step, outcome="unknown",
                       error=err)
        if self.state is S.UNCONFIRMED and err.get("kind") == "internal":
            return  # stays unconfirmed; the sweeper re-runs the reconciliation
        self._staff(target, err, step, title)

    def _publish(self, adapter: Platform, ctx: PostContext, *, expect: PostState) -> Outcome:
        self._move(S.PUBLISHING, expect=expect, step="publish-start")
        self._record({"publish_started": utcnow().isoformat()})
        try:
            result = adapter.publish(ctx)
        except ConnectionLost:
            raise  # handled by run(): publishing -> unconfirmed, retry reconciles first
        if adapter.SPEC.confirm_after_publish:
            self._record({"publish_sent": utcnow().isoformat(), "remote_id": result.remote_id})
            self._move(S.PROCESSING, expect=S.PUBLISHING, step="publish-sent")
            return self._out(again=self._poll_wait(0.0))
        return self._done(adapter, ctx, result, expect=S.PUBLISHING, how="published")

    def _done(self, adapter: Platform, ctx: PostContext, result: Any, *, expect: PostState,
              how: str) -> Outcome:
        target = S.SCHEDULED if ctx.scheduled_at else S.PUBLISHED
        self._record({"remote_id": result.remote_id, "url": result.url})
        self._move(target, expect=expect, step=how, remote_id=result.remote_id,
                   public_url=result.url, published_at=utcnow(), last_error=None,
                   rendition_sha256=ctx.video.sha256)
        try:
            adapter.finish(ctx)
        except PlatformError as err:
            with self.rt.db.session() as s:
                post = s.get(Post, self.post_id)
                assert post is not None
                self.notifications.append(store.notify(
                    s, "warning", f"{post.episode.label}: Nacharbeiten auf {post.account.name} "
                    "unvollständig", err.message_de, episode_id=post.episode_id,
                    post_id=post.id))
                post.remote = {**(post.remote or {}), "finish_error": err.as_record()}
        return self._out()

    def _poll_wait(self, suggested: float) -> float:
        lo, hi = self.rt.settings.poll_interval_min, self.rt.settings.poll_interval_max
        return max(lo, min(hi, suggested))

    def _out(self, again: float | None = None) -> Outcome:
        return Outcome(self.post_id, str(self.state), again=again,
                       notifications=self.notifications)


class _GiveUp(Exception):
    def __init__(self, err: PlatformError) -> None:
        self.err = err


def _problem(kind: str, message_de: str) -> dict[str, Any]:
    return {"kind": kind, "message_de": message_de}


def _title(err: PlatformError) -> str:
    return {
        "credentials_expired": "Zugang abgelaufen",
        "quota_exhausted": "Kontingent aufgebraucht",
        "rejected": "von der Plattform abgelehnt",
        "processing_failed": "Verarbeitung fehlgeschlagen",
        "protocol_error": "technischer Fehler",
        "upload_expired": "Hochladen abgelaufen",
    }.get(err.kind, "Fehler")


class DbQuota:
    """``QuotaLedger`` in the database, per account and quota day (Pacific time for YouTube)."""

    def __init__(self, rt: Runtime, account_id: int, acc: AccountSettings) -> None:
        self.rt = rt
        self.account_id = account_id
        self.daily = int(acc.options.get("daily_quota_units", 10_000))
        self.tz = ZoneInfo(str(acc.options.get("quota_timezone", "America/Los_Angeles")))

    def _day(self) -> Any:
        return datetime.now(UTC).astimezone(self.tz).date()

    def remaining(self) -> int:
        with self.rt.db.session() as s:
            return self.daily - store.quota_used(s, self.account_id, self._day())

    def spend(self, units: int, what: str) -> None:
        with self.rt.db.session() as s:
            store.quota_spend(s, self.account_id, self._day(), units)


def check_account_credentials(rt: Runtime, name: str) -> dict[str, Any]:
    """A cheap authenticated call for one account; records the result on the account row."""
    try:
        acc = rt.settings.account(name)
    except KeyError:
        return {"account": name, "ok": False, "message_de": f"Konto {name} ist nicht eingerichtet."}
    ok, message, transient = True, "", False
    try:
        adapter_for(rt, acc).check_credentials()
    except (PlatformError, MissingCredential) as err:
        ok = False
        transient = isinstance(err, TransientError)  # could not check now, not a bad token
        message = getattr(err, "message_de", None) or str(err)
    with rt.db.session() as s:
        row = s.query(AccountRow).filter_by(name=name).one_or_none()
        if row is not None and not transient:
            row.credentials_ok = ok
            row.credentials_checked_at = utcnow()
    return {"account": name, "ok": ok, "message_de": message, "transient": transient}

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config import AccountSettings
from config.credentials import MissingCredential
from config.loader import credentials_for
from episodes import connections, store
from episodes.capabilities import profile_for, validate_account
from episodes.capabilities.youtube import YouTubeOptions
from episodes.captions import render_for
from episodes.clock import clock_for
from episodes.lifecycle import IN_FLIGHT, PostState
from episodes.models import Account as AccountRow
from episodes.models import Episode, Post, Rendition, utcnow

from .platforms.base import (
    REQUIRED_PARTS,
    FinishPart,
    MediaFile,
    Platform,
    PostContext,
    ProcessingState,
    Published,
    adapter_class,
)
from .platforms.errors import (
    CredentialsExpired,
    PermanentError,
    PlatformError,
    ProtocolError,
    RateLimited,
    ScheduleTooClose,
    TransientError,
    UploadAgain,
)
from .runtime import Runtime
from .waits import MAX_COUNTDOWN, Deadlines, next_look, overdue_de

log = logging.getLogger("wtg.publishing")
S = PostState

MAX_TRANSIENT_ATTEMPTS = 12
RESTART_UPLOAD_AFTER = ("processing_failed", "rejected")
#: permanent errors a person can fix without changing the episode (-> needs_attention)
FIXABLE_BY_STAFF = ("credentials_expired", "quota_exhausted", "upload_expired")
#: native scheduling only with this much more lead than the adapter's minimum (which already
#: holds a margin over the documented one): the publish call itself takes a moment
NATIVE_MARGIN = 5.0


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


def adapter_for(rt: Runtime, account: AccountSettings) -> Platform:
    """The account's adapter: the configured account as it is, its secrets behind
    ``credentials`` (the only place wtg builds one)."""
    return adapter_class(account.platform)(account, credentials_for(account.name, rt.settings))


# --- entry point ------------------------------------------------------------------------------
def run_post(rt: Runtime, post_id: int, worker: str) -> Outcome:
    """Advance ``post_id`` as far as possible now; see ``Outcome.again`` for a follow-up."""
    return run_leased(rt, post_id, worker,
                      accepts=lambda state: state in IN_FLIGHT or state is S.SCHEDULED,
                      drive=lambda: _Driver(rt, post_id, worker).run())


def run_leased(rt: Runtime, post_id: int, worker: str, *,
               accepts: Callable[[PostState], bool], drive: Callable[[], Outcome]) -> Outcome:
    """Take the post's lease (if its state ``accepts`` work and nobody else holds it), run
    ``drive``, then hand the lease to the follow-up task (``Outcome.again``) or release it."""
    with rt.db.session() as s:
        post = s.get(Post, post_id)
        if post is None:
            return Outcome(post_id, "missing", note="no such post")
        state = S(post.state)
        if not accepts(state):
            return Outcome(post_id, state, note="nothing to do in this state")
        if not store.take_lease(s, post_id, worker, rt.settings.lease_seconds):
            return Outcome(post_id, state, note="another worker holds the post")
    outcome: Outcome | None = None
    try:
        outcome = drive()
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


def count_retry(rt: Runtime, post_id: int, worker: str, state: PostState, step: str,
                err: PlatformError) -> int:
    """A transient error on ``step``: one more attempt on the post (state unchanged), recorded
    with the error; returns the attempts so far."""
    with rt.db.session() as s:
        post = s.get(Post, post_id)
        assert post is not None
        post.attempts += 1
        post.last_error = err.as_record()
        store.add_attempt(s, post_id, step, "retry", worker=worker, from_state=str(state),
                          to_state=str(state), error=err.as_record())
        return post.attempts


def retry_delay(rt: Runtime, attempts: int, err: PlatformError) -> float:
    """Seconds before the next try: the platform's ``Retry-After`` when rate limited, else
    exponential backoff from ``retry_backoff`` (at most 300 s) with jitter."""
    if isinstance(err, RateLimited):
        return err.retry_after + random.uniform(0, 0.2)
    base = min(300.0, rt.settings.retry_backoff * 2.0 ** min(attempts - 1, 7))
    return base * random.uniform(0.5, 1.0)


def record_leased(rt: Runtime, post_id: int, worker: str, remote: dict[str, Any],
                  facts: Mapping[str, Any]) -> None:
    """Write remote facts (ids, offsets, timestamps) the moment they are known, only while
    ``worker`` still holds the post's lease (else :class:`LeaseLost`), renew the lease, and
    keep ``remote`` (the caller's copy of the post's record) in step."""
    with rt.db.session() as s:
        if not store.record_remote(s, post_id, worker, facts):
            raise LeaseLost()
        store.take_lease(s, post_id, worker, rt.settings.lease_seconds)
    remote.update(facts)


class _Driver:
    """Drives one post, one handler per state, as far as it can go now."""

    def __init__(self, rt: Runtime, post_id: int, worker: str) -> None:
        self.rt = rt
        self.post_id = post_id
        self.worker = worker
        self.notifications: list[int] = []
        self._last_progress = 0.0
        self.remote: dict[str, Any] = {}

    # -- setup --------------------------------------------------------------------------------
    def _load(self) -> tuple[Post, Episode, AccountSettings, Rendition | None]:
        with self.rt.db.session() as s:
            post = s.get(Post, self.post_id)
            assert post is not None
            ep = post.episode
            _ = ep.series, post.account
            acc_row: AccountRow = post.account
            try:  # with what connecting it in the dashboard learned (page, instance)
                acc = connections.effective(s, self.rt.settings.account(acc_row.name))
            except KeyError:
                acc = None  # type: ignore[assignment]
            rendition = None
            if acc is not None:
                prof = post.profile_override or profile_for(acc)  # a repaired post's own
                rendition = next((r for r in ep.renditions if r.profile == prof and r.verified),
                                 None)
            s.expunge_all()
        return post, ep, acc, rendition

    def _context(self, post: Post, ep: Episode, acc: AccountSettings, r: Rendition,
                 adapter: Platform) -> PostContext:
        series = ep.series
        return PostContext(
            post_id=post.id,
            episode_number=ep.number,
            account=adapter.account,
            credentials=adapter.credentials,
            video=MediaFile(path=Path(r.path), size=r.size, sha256=r.sha256, width=r.width,
                            height=r.height, duration=r.duration),
            text=render_for(ep, series, acc.platform, post.text_override),
            marker=f"wtg-{series.slug}-e{ep.number:02d}-{acc.name}",
            idempotency_key=hashlib.sha256(f"wtg:{post.id}:{r.sha256}".encode()).hexdigest()[:40],
            remote=self.remote,
            record=self._record,
            captions_srt=Path(r.captions_srt) if r.captions_srt else None,
            captions_vtt=Path(r.captions_vtt) if r.captions_vtt else None,
            thumbnail=Path(r.thumbnail_path) if r.thumbnail_path else None,
            scheduled_at=None,  # decided at the publish call (``_publish``)
            progress=self._progress,
            quota=(DbQuota(self.rt, post.account_id, adapter.opts)
                   if isinstance(adapter.opts, YouTubeOptions) else None),
            playlist_id=getattr(adapter.opts, "playlist_id", None),  # YouTube's option
        )

    def _native_time(self, acc: AccountSettings, adapter: Platform) -> datetime | None:
        """The slot as a real instant, when the platform's own scheduler may publish it: native
        scheduling on, not declined by the platform before, and the lead inside the platform's
        documented bounds (with a margin for clock skew). Otherwise None: wtg publishes at the
        slot itself."""
        spec = adapter.SPEC
        if (not acc.native_scheduling or not spec.native_scheduling or self.slot_real is None
                or self.remote.get("native_declined")):
            return None
        lead = (self.slot_real - utcnow()).total_seconds()
        if lead < adapter.min_schedule_lead() + NATIVE_MARGIN:
            return None
        if spec.max_schedule_lead is not None and lead > spec.max_schedule_lead:
            return None
        return self.slot_real

    def _until_slot(self) -> float:
        """Real seconds until the post's slot (0 when it has come)."""
        if self.slot_real is None:
            return 0.0
        return max(0.0, (self.slot_real - utcnow()).total_seconds())

    def _record(self, facts: Mapping[str, Any]) -> None:
        record_leased(self.rt, self.post_id, self.worker, self.remote, facts)

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
        attempts = count_retry(self.rt, self.post_id, self.worker, self.state, step, err)
        if attempts > MAX_TRANSIENT_ATTEMPTS:
            raise _GiveUp(err)
        return retry_delay(self.rt, attempts, err)

    def _staff(self, target: PostState, err: Mapping[str, Any], step: str, title: str,
               *, level: str = "error") -> None:
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
            self.notifications.append(self._note(s, post, ep, level, title,
                                                 str(err.get("message_de", ""))))
        self.state = target

    def _warn(self, title: str, body: str) -> None:
        with self.rt.db.session() as s:
            post = s.get(Post, self.post_id)
            assert post is not None
            self.notifications.append(self._note(s, post, post.episode, "warning", title, body))

    @staticmethod
    def _note(s: Any, post: Post, ep: Episode, level: str, title: str, body: str) -> int:
        where = post.account.display_name or post.account.name
        return store.notify(s, level, f"{ep.label} auf {where}: {title}", body,
                            episode_id=ep.id, post_id=post.id)

    def _look(self, phase: str, suggested: float, *, detail: str = "") -> Outcome:
        """The platform is not done yet: look again later, or, past the phase's deadline, hand
        the post to staff with a German explanation and a notification."""
        look = next_look(self.remote.get("wait"), phase, utcnow(),
                         deadline=self.deadlines.of(phase), suggested=suggested,
                         lo=self.rt.settings.poll_interval_min,
                         hi=self.rt.settings.poll_interval_max)
        self._record({"wait": look.record})
        if look.again is not None:
            return self._out(again=look.again)
        self._staff(S.NEEDS_ATTENTION, _problem(
            f"overdue_{phase}", overdue_de(phase, self.label, look.waited, detail=detail)),
            phase, "Video ist online, Untertitel fehlen" if phase == "finishing"
            else "Plattform antwortet nicht wie erwartet")
        return self._out()

    def _lookup(self, adapter: Platform, ctx: PostContext) -> tuple[Published | None,
                                                                     PlatformError | None]:
        """Read-only reconciliation: a failing lookup is an error to retry, never a verdict on
        the post (only expired credentials go to staff at once)."""
        try:
            return adapter.find_published(self._fresh(ctx)), None
        except (CredentialsExpired, MissingCredential):
            raise
        except PlatformError as err:
            log.warning("post %s: lookup failed (%s), will look again", self.post_id, err)
            return None, err

    def _fresh(self, ctx: PostContext) -> PostContext:
        return replace(ctx, remote=dict(self.remote))

    # -- the steps ----------------------------------------------------------------------------
    def run(self) -> Outcome:
        """Set up, then hand the post from state handler to state handler until one asks to
        wait (or the post needs a person); errors are mapped in ``_on_error``."""
        ready = self._setup()
        if isinstance(ready, Outcome):
            return ready
        adapter, ctx = ready
        step = "setup"
        try:
            while True:
                step = str(self.state)
                handler = self._handlers().get(self.state)
                if handler is None:
                    return self._out()
                result = handler(adapter, ctx)
                if result is not None:
                    return result
        except LeaseLost:
            raise
        except Exception as exc:
            return self._on_error(exc, step)

    def _setup(self) -> Outcome | tuple[Platform, PostContext]:
        """Load the post, check what it needs, build its adapter and context (or hand the post
        to staff with the reason)."""
        post, ep, acc, rendition = self._load()
        self.state = S(post.state)
        self.remote = dict(post.remote or {})
        self.slot_real = _slot_real(self.rt, post.slot_at)
        if acc is None:
            self._staff(S.NEEDS_ATTENTION, _problem(
                "account_missing", f"Das Konto {post.account.name} ist nicht mehr eingerichtet."),
                "setup", "Konto fehlt")
            return self._out()
        self.acc = acc
        self.label = _platform_label(acc.platform)
        if rendition is None:
            self._staff(S.FAILED, _problem(
                "no_rendition",
                f"Für {acc.display_name or acc.name} gibt es kein geprüftes Video "
                f"(Profil {profile_for(acc)}). Bitte die Videoaufbereitung prüfen."),
                "setup", "kein Video")
            return self._out()
        if self.state is S.QUEUED and post.last_error and (
                post.last_error.get("kind") in RESTART_UPLOAD_AFTER) and not (
                self.remote.get("publish_started") or self.remote.get("online")):
            self.remote = {"previous": post.remote}  # a fresh upload after a rejected one
            with self.rt.db.session() as s:
                s.query(Post).filter(Post.id == post.id).update({"remote": self.remote})
        try:
            # parses the options with the platform's model: a bad one raises ValueError with
            # the German problems (start-up refuses them too)
            adapter = adapter_for(self.rt, acc)
            ctx = self._context(post, ep, acc, rendition, adapter)
        except Exception as exc:  # a bug or a bad account setting: staff must hear of it
            log.exception("post %s: cannot build the %s adapter", self.post_id, acc.platform)
            self._staff(S.NEEDS_ATTENTION, _problem(
                "internal", f"Das Konto {acc.display_name or acc.name} ist nicht richtig "
                f"eingerichtet ({type(exc).__name__}: {exc}). Bitte die Technik informieren; "
                "der Beitrag wartet."), "setup", "interner Fehler")
            return self._out()
        self.label = adapter.SPEC.label
        self.deadlines = Deadlines.for_account(adapter.SPEC, adapter.opts)
        return adapter, ctx

    def _on_error(self, exc: Exception, step: str) -> Outcome:
        """What an error in ``step`` means for the post: wait and retry (transient), upload
        afresh (the platform dropped the upload), or a person decides (permanent, a bug) —
        never ``failed`` while the publish call may have gone out."""
        if isinstance(exc, UploadAgain):  # the platform dropped the unpublished upload
            if self.state in (S.UPLOADING, S.PROCESSING) and not self.remote.get(
                    "publish_started"):
                self._record({"wait": None})
                self._move(S.QUEUED, expect=self.state, step=step, outcome="upload-again",
                           error=exc.as_record())
                return self._out(again=self.rt.settings.poll_interval_min)
            return self._out(again=self._stay(step, exc))
        if isinstance(exc, TransientError):
            if self.state is S.PUBLISHING:
                self._move(S.UNCONFIRMED, expect=S.PUBLISHING, step=step, outcome="unknown",
                           error=exc.as_record())
            try:
                return self._out(again=self._stay(step, exc))
            except _GiveUp:
                self._staff(S.NEEDS_ATTENTION, exc.as_record(), step, "wiederholt gescheitert")
                return self._out()
        if isinstance(exc, ProtocolError):  # an answer we could not understand
            log.exception("post %s: unexpected answer in %s", self.post_id, step,
                          exc_info=exc)
            self._unsure_then(S.NEEDS_ATTENTION, exc.as_record(), step, _title(exc))
        elif isinstance(exc, PermanentError):
            target = S.NEEDS_ATTENTION if exc.kind in FIXABLE_BY_STAFF else S.FAILED
            self._unsure_then(target, exc.as_record(), step, _title(exc))
        elif isinstance(exc, MissingCredential):
            self._unsure_then(S.NEEDS_ATTENTION, _problem("credentials_missing", str(exc)),
                              step, "Zugangsdaten fehlen")
        else:  # a bug of ours: never guess about a publish
            log.error("post %s: internal error in %s", self.post_id, step, exc_info=exc)
            self._unsure_then(S.NEEDS_ATTENTION, _problem(
                "internal", f"Interner Fehler in wtg ({type(exc).__name__}: {exc}). Bitte die "
                "Technik informieren; der Beitrag wartet, nichts wird doppelt gesendet."),
                step, "interner Fehler")
        return self._out()

    def _handlers(self) -> dict[PostState, Any]:
        return {S.QUEUED: self._queued, S.UPLOADING: self._uploading,
                S.PROCESSING: self._processing, S.PUBLISHING: self._crashed,
                S.UNCONFIRMED: self._unconfirmed, S.FINISHING: self._finishing,
                S.SCHEDULED: self._scheduled}

    def _queued(self, adapter: Platform, ctx: PostContext) -> Outcome | None:
        # a fresh start (or a staff retry): every wait gets a new deadline, failed optional
        # follow-up parts are tried again
        stale = {k: None for k in self.remote if k == "wait" or k.endswith("_failed")}
        if stale:
            self._record(stale)
        if self.remote.get("online"):  # already out: only the follow-up parts are missing
            self._move(S.FINISHING, expect=S.QUEUED, step="resume")
        elif self.remote.get("publish_started"):
            self._move(S.UNCONFIRMED, expect=S.QUEUED, step="resume")
        else:
            if adapter.SPEC.upload_publishes and self._until_slot() > 0:
                return self._wait_for_slot()  # the upload itself publishes
            self._move(S.UPLOADING, expect=S.QUEUED, step="start",
                       upload_started_at=utcnow())
        return None

    def _uploading(self, adapter: Platform, ctx: PostContext) -> Outcome | None:
        adapter.upload(ctx)
        self._move(S.PROCESSING, expect=S.UPLOADING, step="upload", progress=100.0)
        return None

    def _processing(self, adapter: Platform, ctx: PostContext) -> Outcome | None:
        proc = adapter.poll(self._fresh(ctx))
        if self.remote.get("publish_sent"):  # awaiting the platform's confirmation
            if proc.state is ProcessingState.PUBLISHED:
                found, _err = self._lookup(adapter, ctx)
                if found is not None:
                    return self._done(adapter, ctx, found, expect=S.PROCESSING, how="confirmed")
            return self._look("confirm", proc.retry_after, detail=proc.detail)
        if proc.state is ProcessingState.PENDING:
            return self._look("processing", proc.retry_after, detail=proc.detail)
        return self._publish(adapter, ctx, expect=S.PROCESSING)

    def _crashed(self, adapter: Platform, ctx: PostContext) -> Outcome | None:
        # found in `publishing`: the worker before us died around the publish call
        self._move(S.UNCONFIRMED, expect=S.PUBLISHING, step="crash-recovery")
        return None

    def _unconfirmed(self, adapter: Platform, ctx: PostContext) -> Outcome | None:
        found, err = self._lookup(adapter, ctx)
        if err is not None:
            return self._look("reconcile", _retry_after(err), detail=err.message_de)
        if found is not None:
            return self._done(adapter, ctx, found, expect=S.UNCONFIRMED, how="reconciled")
        return self._publish(adapter, ctx, expect=S.UNCONFIRMED)

    def _publish(self, adapter: Platform, ctx: PostContext, *, expect: PostState
                 ) -> Outcome | None:
        # native scheduling is decided at the call itself: the lead left then is what counts
        ctx = replace(self._fresh(ctx), scheduled_at=self._native_time(self.acc, adapter))
        if ctx.scheduled_at is None and self._until_slot() > 0:
            return self._wait_for_slot()  # never before the slot
        self._move(S.PUBLISHING, expect=expect, step="publish-start")
        self._record({"publish_started": utcnow().isoformat(),
                      "scheduled_at": ctx.scheduled_at.isoformat() if ctx.scheduled_at else None})
        try:
            result = adapter.publish(ctx)
        except ScheduleTooClose as err:  # nothing went out: publish at the slot ourselves
            log.info("post %s: %s refused the publish time; publishing at the slot",
                     self.post_id, adapter.SPEC.name)
            self._record({"native_declined": err.as_record(), "publish_started": None,
                          "scheduled_at": None})
            self._move(S.PROCESSING, expect=S.PUBLISHING, step="publish-declined",
                       outcome="declined", error=err.as_record())
            return self._out(again=min(self._until_slot(), MAX_COUNTDOWN) or 0.0)
        if adapter.SPEC.confirm_after_publish:
            self._record({"publish_sent": utcnow().isoformat(), "remote_id": result.remote_id})
            self._move(S.PROCESSING, expect=S.PUBLISHING, step="publish-sent")
            return self._look("confirm", self.rt.settings.poll_interval_min)
        return self._done(adapter, ctx, result, expect=S.PUBLISHING, how="published")

    def _wait_for_slot(self) -> Outcome:
        """Hold the post until its slot (in steps of at most MAX_COUNTDOWN)."""
        return self._out(again=min(self._until_slot(), MAX_COUNTDOWN))

    def _done(self, adapter: Platform, ctx: PostContext, result: Published, *,
              expect: PostState, how: str) -> Outcome | None:
        """The post is out (or handed to the platform's scheduler): follow-up parts next."""
        # handed to the platform's scheduler: ``scheduled`` until the platform shows it public
        # at or after the slot (whatever the publish call's answer looked like before the slot)
        scheduled = bool(self.remote.get("scheduled_at")) and (
            not result.public or self._until_slot() > 0)
        if not scheduled and not result.public:
            # the platform took the publish call but does not show the post yet (Facebook:
            # finish acknowledged, processing goes on): confirm by polling, never publish again
            self._record({"publish_sent": self.remote.get("publish_sent")
                          or utcnow().isoformat(), "remote_id": result.remote_id})
            if self.state is not S.PROCESSING:
                self._move(S.PROCESSING, expect=expect, step=f"{how}-pending")
            return self._look("confirm", self.rt.settings.poll_interval_min)
        target = S.SCHEDULED if scheduled else S.PUBLISHED
        self._record({"remote_id": result.remote_id, "url": result.url, "online": True,
                      "finish_target": str(target), "wait": None})
        fields = {"remote_id": result.remote_id, "public_url": result.url, "last_error": None,
                  "rendition_sha256": ctx.video.sha256}
        if self._pending_parts(adapter, ctx):
            self._move(S.FINISHING, expect=expect, step=how, **fields)
            return None
        self._move(target, expect=expect, step=how, published_at=utcnow(), **fields)
        return self._out()

    def _pending_parts(self, adapter: Platform, ctx: PostContext) -> list[FinishPart]:
        return [p for p in adapter.finish_parts(self._fresh(ctx))
                if not self.remote.get(f"{p}_failed")]

    def _finishing(self, adapter: Platform, ctx: PostContext) -> Outcome | None:
        """Captions (required), thumbnail, playlist: each retried until the deadline."""
        for part in self._pending_parts(adapter, ctx):
            try:
                adapter.finish_part(self._fresh(ctx), part)
            except TransientError as err:
                return self._look("finishing", _retry_after(err), detail=err.message_de)
            except (PermanentError, MissingCredential) as err:
                message = getattr(err, "message_de", None) or str(err)
                if part in REQUIRED_PARTS:
                    self._staff(S.NEEDS_ATTENTION, _problem(
                        "captions_missing", f"Video ist online, Untertitel fehlen: {message}"),
                        f"finish.{part}", "Video ist online, Untertitel fehlen")
                    return self._out()
                self._record({f"{part}_failed": _problem(getattr(err, "kind", "error"),
                                                         message)})
                self._warn(f"{_PART_DE[part]} fehlt", message)
        target = S(self.remote.get("finish_target") or S.PUBLISHED)
        self._record({"wait": None})
        self._move(target, expect=S.FINISHING, step="finished", published_at=utcnow(),
                   last_error=None)
        return self._out()

    def _scheduled(self, adapter: Platform, ctx: PostContext) -> Outcome | None:
        """Handed to the platform's scheduler: ``published`` only once the platform shows the
        post public, at or after the slot."""
        if self._until_slot() > 0:
            return self._out()  # the sweep brings it back after the slot
        found, err = self._lookup(adapter, ctx)
        if found is not None and found.public:
            self._move(S.PUBLISHED, expect=S.SCHEDULED, step="confirm", public_url=found.url,
                       remote_id=found.remote_id, published_at=utcnow())
            return self._out()
        detail = err.message_de if err else "noch nicht öffentlich"
        return self._look("confirm", _retry_after(err) if err else 0.0, detail=detail)

    def _unsure_then(self, target: PostState, err: Mapping[str, Any], step: str,
                     title: str) -> None:
        """If the publish call may have gone out, never mark it failed: unconfirmed first."""
        if self.state is S.PUBLISHING:
            self._move(S.UNCONFIRMED, expect=S.PUBLISHING, step=step, outcome="unknown",
                       error=err)
        if self.state is S.UNCONFIRMED and err.get("kind") == "internal":
            return  # stays unconfirmed; the sweeper re-runs the reconciliation
        if self.state in (S.UNCONFIRMED, S.FINISHING, S.SCHEDULED) and target is S.FAILED:
            target = S.NEEDS_ATTENTION  # it may be out: a person decides, never "failed"
        self._staff(target, err, step, title)

    def _out(self, again: float | None = None) -> Outcome:
        return Outcome(self.post_id, str(self.state), again=again,
                       notifications=self.notifications)


_PART_DE = {FinishPart.CAPTIONS: "Untertitel", FinishPart.THUMBNAIL: "Vorschaubild",
            FinishPart.PLAYLIST: "Playlist-Eintrag"}


def _retry_after(err: PlatformError | None) -> float:
    return float(getattr(err, "retry_after", 0.0) or 0.0)


def _platform_label(platform: str) -> str:
    try:
        return adapter_class(platform).SPEC.label
    except KeyError:
        return platform


def _slot_real(rt: Runtime, slot_at: datetime | None) -> datetime | None:
    """The post's slot (virtual time) as a real instant."""
    if slot_at is None:
        return None
    if slot_at.tzinfo is None:
        slot_at = slot_at.replace(tzinfo=UTC)
    return clock_for(rt.settings, rt.db, create=False).to_real(slot_at)


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

    def __init__(self, rt: Runtime, account_id: int, opts: YouTubeOptions) -> None:
        self.rt = rt
        self.account_id = account_id
        #: the account's typed options as its adapter parsed them (``daily_quota_units``,
        #: ``quota_timezone``, ``upload_quota_units``; defaults in ``episodes.capabilities``)
        self.opts = opts
        self.daily = self.opts.daily_quota_units
        self.tz = ZoneInfo(self.opts.quota_timezone)

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
        with rt.db.session() as s:
            acc = connections.effective(s, rt.settings.account(name))
    except KeyError:
        return {"account": name, "ok": False, "message_de": f"Konto {name} ist nicht eingerichtet."}
    ok, message, transient = True, "", False
    learned: dict[str, str] = {}
    problems = validate_account(acc)  # e.g. not connected yet: no page to ask about
    try:
        if problems:
            raise ValueError(" ".join(problems))
        adapter = adapter_for(rt, acc)
        adapter.check_credentials()
        learned = adapter.learned_options()
    except (PlatformError, MissingCredential, ValueError) as err:
        ok = False
        transient = isinstance(err, TransientError)  # could not check now, not a bad token
        message = getattr(err, "message_de", None) or str(err)
    with rt.db.session() as s:
        row = s.query(AccountRow).filter_by(name=name).one_or_none()
        if row is not None and not transient:
            row.credentials_ok = ok
            row.credentials_checked_at = utcnow()
        if not transient:
            connections.record_check(s, account=name, ok=ok, message=message)
        if learned:  # e.g. the instance's own text limit: every later check measures with it
            connections.record_learned(s, account=name, options=learned)
    return {"account": name, "ok": ok, "message_de": message, "transient": transient}

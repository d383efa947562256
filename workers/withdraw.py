"""Withdrawing a post: the platform's documented delete call, exactly once.

A post reaches ``withdrawing`` when a second person approved the withdrawal of its episode
(``episodes.withdrawals``). One worker at a time holds it (the same lease as publishing); the
delete targets only the remote id recorded when the post was sent, never something found by a
guess, and never replays a publish call. A delete whose answer was lost (reset, timeout, crash)
is simply sent again: the platform then answers "not found", which counts as deleted -- the
same id can never name another post. Transient errors are retried with backoff (re-enqueued
with a countdown, never holding a worker); after ``MAX_ATTEMPTS`` the post waits for staff
(``withdraw_attention``) with a German explanation and a notification, as it does at once where
the platform's API has no delete call (Instagram, TikTok: staff delete it in the app and
confirm).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.credentials import MissingCredential
from episodes import store
from episodes.capabilities import profile_for
from episodes.capabilities.youtube import YouTubeOptions
from episodes.captions import render_for
from episodes.lifecycle import PostState
from episodes.models import Post, utcnow

from .platforms.base import MediaFile, Platform, PostContext
from .platforms.errors import DeleteByHand, PermanentError, TransientError
from .publishing import (
    DbQuota,
    LeaseLost,
    Outcome,
    adapter_for,
    count_retry,
    record_leased,
    retry_delay,
    run_leased,
)
from .runtime import Runtime

log = logging.getLogger("wtg.withdraw")
S = PostState
MAX_ATTEMPTS = 12


def run_withdraw(rt: Runtime, post_id: int, worker: str) -> Outcome:
    """Delete ``post_id`` on its platform if it is ``withdrawing``; see ``Outcome.again``."""
    return run_leased(rt, post_id, worker, accepts=lambda state: state is S.WITHDRAWING,
                      drive=lambda: _Withdraw(rt, post_id, worker).run())


class _Withdraw:
    def __init__(self, rt: Runtime, post_id: int, worker: str) -> None:
        self.rt, self.post_id, self.worker = rt, post_id, worker
        self.notifications: list[int] = []
        self.remote: dict[str, Any] = {}
        self.state = S.WITHDRAWING

    def run(self) -> Outcome:
        try:
            adapter, ctx, label = self._setup()
        except _Staff as problem:
            self._attention(problem.record, problem.title)
            return self._out()
        if not self.remote.get("delete_requested_at"):
            self._record({"delete_requested_at": utcnow().isoformat()})
        try:
            result = adapter.delete(ctx)
        except DeleteByHand as err:
            self._attention(err.as_record(), f"bitte in der {err.platform}-App löschen",
                            level="warning")
            return self._out()
        except TransientError as err:
            return self._again(err)
        except (PermanentError, MissingCredential) as err:
            record = err.as_record() if isinstance(err, PermanentError) else _problem(
                "credentials_missing", str(err))
            self._attention(record, "Löschen fehlgeschlagen")
            return self._out()
        except LeaseLost:
            raise
        except Exception as exc:  # a bug of ours: tell staff, never guess
            log.exception("post %s: unexpected error while deleting", self.post_id)
            self._attention(_problem("internal", f"Technischer Fehler in wtg beim Löschen "
                                     f"({type(exc).__name__}). Bitte die Technik informieren."),
                            "technischer Fehler")
            return self._out()
        self._record({"deleted_at": utcnow().isoformat(), "deleted_id": result.remote_id,
                      "deleted_existed": result.existed})
        with self.rt.db.session() as s:
            if not store.transition(s, self.post_id, S.WITHDRAWN, expect=[S.WITHDRAWING],
                                    owner=self.worker, last_error=None):
                raise LeaseLost()
            store.add_attempt(s, self.post_id, "delete", "ok", worker=self.worker,
                              from_state=str(S.WITHDRAWING), to_state=str(S.WITHDRAWN))
            store.audit(s, "worker", "post.withdrawn", f"post:{self.post_id}",
                        remote_id=result.remote_id, existed=result.existed, platform=label)
            post = s.get(Post, self.post_id)
            assert post is not None
            what = ("gelöscht" if result.existed else
                    "war dort nicht (mehr) vorhanden – nichts zu löschen")
            self.notifications.append(store.notify(
                s, "info", f"{post.episode.label} auf {label}: zurückgezogen",
                f"Der Beitrag {what}.", episode_id=post.episode_id, post_id=self.post_id))
        self.state = S.WITHDRAWN
        return self._out()

    # -- setup ---------------------------------------------------------------------------------
    def _setup(self) -> tuple[Platform, PostContext, str]:
        with self.rt.db.session() as s:
            post = s.get(Post, self.post_id)
            assert post is not None
            ep, series, name = post.episode, post.episode.series, post.account.name
            self.remote = dict(post.remote or {})
            try:
                acc = self.rt.settings.account(name)
            except KeyError:
                raise _Staff(_problem("account_missing", f"Das Konto {name} ist nicht mehr "
                                      "eingerichtet; bitte den Beitrag in der App löschen und "
                                      "hier bestätigen."), "Konto fehlt") from None
            profile = post.profile_override or profile_for(acc)
            r = next((x for x in ep.renditions if x.profile == profile), None)
            sha = post.rendition_sha256 or (r.sha256 if r else "")
            video = MediaFile(path=Path(r.path) if r else Path(), size=r.size if r else 0,
                              sha256=sha)
            text = render_for(ep, series, acc.platform, post.text_override)
            marker = f"wtg-{series.slug}-e{ep.number:02d}-{acc.name}"
            account_id = post.account_id
        try:
            adapter = adapter_for(self.rt, acc)
        except Exception as exc:
            raise _Staff(_problem("internal", f"Das Konto {name} ist nicht richtig "
                                  f"eingerichtet ({type(exc).__name__}). Bitte die Technik "
                                  "informieren."), "interner Fehler") from exc
        ctx = PostContext(
            post_id=self.post_id, episode_number=ep.number, account=adapter.account,
            credentials=adapter.credentials, video=video, text=text, marker=marker,
            idempotency_key=hashlib.sha256(f"wtg:{self.post_id}:{sha}".encode()).hexdigest()[:40],
            remote=self.remote, record=self._record,
            quota=(DbQuota(self.rt, account_id, adapter.opts)
                   if isinstance(adapter.opts, YouTubeOptions) else None),
        )
        return adapter, ctx, adapter.SPEC.label

    # -- bookkeeping ---------------------------------------------------------------------------
    def _record(self, facts: Mapping[str, Any]) -> None:
        record_leased(self.rt, self.post_id, self.worker, self.remote, facts)

    def _again(self, err: TransientError) -> Outcome:
        attempts = count_retry(self.rt, self.post_id, self.worker, self.state, "delete", err)
        if attempts > MAX_ATTEMPTS:
            self._attention(_problem(err.kind, f"{err.message_de} Das Löschen ist "
                                     f"{MAX_ATTEMPTS}-mal gescheitert; bitte später erneut "
                                     "versuchen oder den Beitrag in der App löschen."),
                            "Löschen wiederholt gescheitert")
            return self._out()
        return self._out(again=retry_delay(self.rt, attempts, err))

    def _attention(self, err: Mapping[str, Any], title: str, *, level: str = "error") -> None:
        with self.rt.db.session() as s:
            if not store.transition(s, self.post_id, S.WITHDRAW_ATTENTION, expect=[self.state],
                                    owner=self.worker, last_error=dict(err)):
                raise LeaseLost()
            store.add_attempt(s, self.post_id, "delete", "error", worker=self.worker,
                              from_state=str(self.state), to_state=str(S.WITHDRAW_ATTENTION),
                              error=err)
            post = s.get(Post, self.post_id)
            assert post is not None
            where = post.account.display_name or post.account.name
            self.notifications.append(store.notify(
                s, level, f"{post.episode.label} auf {where}: {title}",
                str(err.get("message_de", "")), episode_id=post.episode_id, post_id=post.id))
        self.state = S.WITHDRAW_ATTENTION

    def _out(self, again: float | None = None) -> Outcome:
        return Outcome(self.post_id, str(self.state), again=again,
                       notifications=self.notifications)


class _Staff(Exception):
    def __init__(self, record: dict[str, Any], title: str) -> None:
        self.record, self.title = record, title


def _problem(kind: str, message_de: str) -> dict[str, Any]:
    return {"kind": kind, "message_de": message_de}


__all__ = ["MAX_ATTEMPTS", "run_withdraw"]

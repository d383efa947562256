"""Manual controls for staff (``wtg publish-now``, ``retry``, ``pause``, ``resume``,
``reschedule``; in the dashboard also hold, skip and cancel): each moves posts with
compare-and-set, records who did it in the audit trail and hands posts to the workers by task
name. Raises :class:`ControlError` with a German sentence when the request cannot be done;
nothing is changed then. The dashboard names episodes by id (``episode_id=``), the CLI by number.

Pause: while a series is paused, its slots are *held* -- nothing goes out, the episode due and
every later one move one week later per paused slot, staff are notified. ``resume`` lets the
next slot go out as usual. (Posts already handed to a platform with native scheduling cannot be
recalled by a pause; ``pause`` names them.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from episodes import store
from episodes.calendar import format_de, local_slot
from episodes.lifecycle import DUE_FROM, PostState
from episodes.models import Episode, MediaStatus, Post, Series, utcnow
from episodes.repair import cleared_post, publish_started
from episodes.slots import handled_slots, hold_series, is_movable, not_ready, set_slot, stale_posts
from workers.task_names import PUBLISH_WITHDRAW

from .jobs import Deps, send_publish, send_tasks

WITHDRAW = PUBLISH_WITHDRAW

S = PostState
RETRYABLE = frozenset({S.FAILED, S.NEEDS_ATTENTION, S.MISSED})


class ControlError(Exception):
    """The request cannot be carried out; the message says why (German)."""


@dataclass(frozen=True)
class Done:
    message_de: str
    post_ids: tuple[int, ...] = ()


def publish_now(deps: Deps, number: int | None = None, *, actor: str,
                platform: str | None = None, series: str | None = None,
                episode_id: int | None = None) -> Done:
    """Queue episode ``number`` now on every account (or one platform / account name)."""
    with deps.db.session() as s:
        ep = _target(s, number, series, episode_id)
        _require_ready(ep)
        posts = [p for p in ep.posts if platform in (None, p.account.platform, p.account.name)]
        if not posts:
            raise ControlError(f"{ep.label} hat keinen Beitrag auf {platform}.")
        ids = []
        for p in sorted(posts, key=lambda p: p.id):
            if not _enabled(deps, p):
                continue
            state = S(p.state)
            if state in (S.PENDING, S.PREPARING, S.SKIPPED, S.READY, S.MISSED):
                _require_cleared(p)
            if state in (S.PENDING, S.PREPARING, S.SKIPPED):
                store.transition(s, p.id, S.READY, expect=[state])
                state = S.READY
            # "now" is the post's slot: the orchestrator never publishes before a post's slot
            if state in (S.READY, S.MISSED) and store.transition(
                    s, p.id, S.QUEUED, expect=[state], queued_at=_now(),
                    slot_at=deps.clock.now()):
                ids.append(p.id)
        if not ids:
            raise ControlError(f"{ep.label}: nichts zu senden – die Beiträge sind schon "
                               "unterwegs, veröffentlicht oder warten auf eine Entscheidung "
                               "(wtg retry).")
        store.audit(s, actor, "post.publish_now", f"episode:{ep.id}", posts=ids,
                    platform=platform)
        label = ep.label
    send_publish(deps, ids)
    return Done(f"{label}: {len(ids)} Beitrag/Beiträge werden jetzt gesendet.", tuple(ids))


def retry(deps: Deps, *, actor: str, number: int | None = None, post_id: int | None = None,
          series: str | None = None) -> Done:
    """Failed, needs-attention and missed posts (of an episode, or one post) go out again."""
    if (number is None) == (post_id is None):
        raise ControlError("Bitte genau eins angeben: Folgennummer oder --post ID.")
    with deps.db.session() as s:
        if post_id is not None:
            post = s.get(Post, post_id)
            if post is None:
                raise ControlError(f"Beitrag {post_id} gibt es nicht.")
            ep, posts = post.episode, [post]
        else:
            assert number is not None
            ep = _episode(s, _series(s, series), number)
            posts = list(ep.posts)
        _require_ready(ep)
        ids = []
        for p in sorted(posts, key=lambda p: p.id):
            state = S(p.state)
            if state in RETRYABLE:
                _require_cleared(p)
            if state in RETRYABLE and _enabled(deps, p) and store.transition(
                    s, p.id, S.QUEUED, expect=[state], queued_at=_now()):
                ids.append(p.id)
        if not ids:
            raise ControlError(f"{ep.label}: kein Beitrag ist fehlgeschlagen, verpasst oder "
                               "wartet auf Aufmerksamkeit.")
        store.audit(s, actor, "post.retry", f"episode:{ep.id}", posts=ids)
        label = ep.label
    send_publish(deps, ids)
    return Done(f"{label}: {len(ids)} Beitrag/Beiträge werden erneut gesendet.", tuple(ids))


def hold(deps: Deps, number: int | None = None, *, actor: str, series: str | None = None,
         episode_id: int | None = None) -> Done:
    """Hold an episode back one week: it and every later waiting episode move one slot on
    (the same shift as a hold at the slot)."""
    with deps.db.session() as s:
        ep = _target(s, number, series, episode_id)
        ser = ep.series
        if ep.slot_at is None or not is_movable(ep):
            raise ControlError(f"{ep.label} ist schon unterwegs, veröffentlicht oder hat keinen "
                               "Termin; zurückhalten geht nur vor dem Senden.")
        tz = ZoneInfo(ser.timezone)
        shifts = hold_series(s, ser, ep.number, ep.slot_at, deps.clock.now())
        moved = "; ".join(f"{'Trailer' if x.number == 0 else f'Folge {x.number}'} → "
                          f"{format_de(x.new, tz)}" for x in shifts)
        store.audit(s, actor, "episode.hold", f"episode:{ep.id}",
                    shifts=[{"number": x.number, "old": x.old, "new": x.new} for x in shifts])
        store.notify(s, "info", f"{ep.label} zurückgehalten", f"Von {actor}. Neue Termine: "
                     f"{moved}.", episode_id=ep.id)
        return Done(f"{ep.label} ist zurückgehalten; die Reihe rückt nach: {moved}.")


def skip(deps: Deps, number: int | None = None, *, actor: str, series: str | None = None,
         episode_id: int | None = None) -> Done:
    """Skip an episode: its slot passes without it (nachholen: reschedule or publish now)."""
    with deps.db.session() as s:
        ep = _target(s, number, series, episode_id)
        ids = [p.id for p in sorted(ep.posts, key=lambda p: p.id) if p.state in _DUE
               and store.transition(s, p.id, S.SKIPPED, expect=[S(p.state)])]
        if not ids:
            raise ControlError(f"{ep.label} wartet auf keinen Termin mehr (schon unterwegs, "
                               "veröffentlicht, übersprungen oder abgesagt).")
        store.audit(s, actor, "episode.skip", f"episode:{ep.id}", posts=ids)
        return Done(f"{ep.label} wird übersprungen; nachholen mit „Jetzt senden“ oder einem "
                    "neuen Termin.", tuple(ids))


#: a post can be cancelled in these states (nothing of it is on the platform)
CANCELLABLE = frozenset({S.PENDING, S.PREPARING, S.READY, S.QUEUED, S.FAILED,
                         S.NEEDS_ATTENTION, S.MISSED, S.SKIPPED})


def cancel_post(deps: Deps, post_id: int, *, actor: str) -> Done:
    """Cancel one post: it will not be sent (a post already sent must be withdrawn)."""
    with deps.db.session() as s:
        post = s.get(Post, post_id)
        if post is None:
            raise ControlError(f"Beitrag {post_id} gibt es nicht.")
        _cancel(s, post)
        store.audit(s, actor, "post.cancel", f"post:{post_id}", from_state=post.state)
        return Done(f"{post.episode.label} auf {post.account.name}: abgesagt.", (post_id,))


def cancel_episode(deps: Deps, number: int | None = None, *, actor: str,
                   series: str | None = None, episode_id: int | None = None) -> Done:
    """Cancel every post of an episode that has not gone out; refused if one already did."""
    with deps.db.session() as s:
        ep = _target(s, number, series, episode_id)
        posts = [p for p in sorted(ep.posts, key=lambda p: p.id) if p.state != S.CANCELLED]
        if not posts:
            raise ControlError(f"{ep.label} ist schon abgesagt.")
        for p in posts:
            _check_cancellable(p)
        for p in posts:
            _cancel(s, p)
        store.audit(s, actor, "episode.cancel", f"episode:{ep.id}", posts=[p.id for p in posts])
        return Done(f"{ep.label} ist abgesagt ({len(posts)} Beitrag/Beiträge).",
                    tuple(p.id for p in posts))


def _check_cancellable(post: Post) -> None:
    label = f"{post.episode.label} auf {post.account.name}"
    if S(post.state) not in CANCELLABLE or publish_started(post):
        raise ControlError(f"{label} ist schon gesendet oder wird gerade gesendet (Zustand "
                           f"„{post.state}“); absagen geht nicht mehr – ein veröffentlichter "
                           "Beitrag wird zurückgezogen.")


def _cancel(s: Session, post: Post) -> None:
    _check_cancellable(post)
    if not store.transition(s, post.id, S.CANCELLED, expect=[S(post.state)]):
        raise ControlError("Der Beitrag hat sich gerade geändert (ein Worker hat ihn "
                           "übernommen). Bitte neu laden.")


def send_withdraw(deps: Deps, post_ids: tuple[int, ...] | list[int]) -> int:
    """Send ``wtg.publish.withdraw`` for each post (the sweep re-sends what is lost)."""
    return send_tasks(deps, WITHDRAW, post_ids)


def resend_withdrawals(deps: Deps, sent: dict[int, float], idle_since: datetime,
                       every: float) -> list[int]:
    """For the sweep: ``withdrawing`` posts without a live lease that sat still since
    ``idle_since`` (worker died, message lost) are sent again, at most once per ``every``."""
    import time

    with deps.db.session() as s:
        stale = [p.id for p in stale_posts(s, [S.WITHDRAWING], idle_since)]
    now = time.monotonic()
    due = [pid for pid in stale if now - sent.get(pid, -1e18) >= every]
    for pid in due:
        sent[pid] = now
    send_withdraw(deps, due)
    return due


def set_paused(deps: Deps, paused: bool, *, actor: str, series: str | None = None) -> Done:
    with deps.db.session() as s:
        ser = _series(s, series)
        if ser.paused == paused:
            return Done(f"„{ser.name}“ ist bereits {'pausiert' if paused else 'aktiv'}.")
        ser.paused = paused
        store.audit(s, actor, "series.pause" if paused else "series.resume",
                    f"series:{ser.slug}")
        if not paused:
            return Done(f"„{ser.name}“ läuft weiter; der nächste Termin wird gesendet.")
        native = [p.id for p in store.posts_for(s, series_id=ser.id, states=[S.SCHEDULED])]
        note = (f" Achtung: {len(native)} Beitrag/Beiträge sind schon bei der Plattform "
                "eingeplant und erscheinen trotzdem." if native else "")
        return Done(f"„{ser.name}“ ist pausiert. Termine während der Pause werden gehalten: "
                    "nichts wird gesendet, die Reihe rückt je Termin eine Woche nach." + note)


def reschedule(deps: Deps, number: int, when: datetime, *, actor: str,
               series: str | None = None) -> Done:
    """Give episode ``number`` a new slot. Posts that were missed or skipped wait again."""
    if when.tzinfo is None:
        raise ControlError("Termin ohne Zeitzone")
    with deps.db.session() as s:
        ser = _series(s, series)
        tz = ZoneInfo(ser.timezone)
        ep = _episode(s, ser, number)
        if when <= deps.clock.now():
            raise ControlError(f"Der Termin {format_de(when, tz)} liegt in der Vergangenheit; "
                               f"zum sofortigen Senden: wtg publish-now {number}.")
        if when in handled_slots(s, ser.id):
            raise ControlError(f"Zum Termin {format_de(when, tz)} hat der Planer schon "
                               "gearbeitet; bitte einen anderen Termin wählen.")
        movable = [p for p in ep.posts if p.state in _DUE | {S.MISSED, S.SKIPPED}]
        if not movable:
            raise ControlError(f"{ep.label} ist schon unterwegs oder veröffentlicht.")
        back = S.READY if ep.media_status == MediaStatus.VERIFIED else S.PENDING
        for p in movable:
            if p.state in (S.MISSED, S.SKIPPED):
                store.transition(s, p.id, back, expect=[S(p.state)])
        old = ep.slot_at
        ep.slot_override = when
        set_slot(s, ep, when)
        store.audit(s, actor, "episode.reschedule", f"episode:{ep.id}", old=old, new=when)
        store.notify(s, "info", f"{ep.label}: neuer Termin {format_de(when, tz)}",
                     f"Geändert von {actor}" + (f" (vorher {format_de(old, tz)})." if old else "."),
                     episode_id=ep.id)
        return Done(f"{ep.label}: neuer Termin {format_de(when, tz)}.",
                    tuple(p.id for p in movable))


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601 (with or without offset) or ``YYYY-MM-DD HH:MM`` in the series' local time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ControlError(f"Termin {text!r} nicht verstanden; bitte als „2022-12-01 17:00“ "
                           "(Ortszeit) oder ISO 8601 angeben.") from None
    if value.tzinfo is None:
        return local_slot(value.date(), value.time(), tz)
    return value


# --- helpers ----------------------------------------------------------------------------------
_DUE = {str(x) for x in DUE_FROM}


def _now() -> datetime:
    return utcnow()


def _series(s: Session, slug: str | None) -> Series:
    ser = store.get_series(s, slug)
    if ser is None:
        raise ControlError("Keine Staffel geladen (wtg season load …)." if slug is None
                           else f"Keine Reihe {slug!r}.")
    return ser


def _target(s: Session, number: int | None, series: str | None,
            episode_id: int | None) -> Episode:
    if episode_id is not None:
        ep = s.get(Episode, episode_id)
        if ep is None:
            raise ControlError("Diese Folge gibt es nicht.")
        return ep
    if number is None:
        raise ControlError("Bitte eine Folge angeben.")
    return _episode(s, _series(s, series), number)


def _episode(s: Session, ser: Series, number: int) -> Episode:
    ep = store.get_episode(s, ser.id, number)
    if ep is None:
        raise ControlError(f"Folge {number} gibt es in „{ser.name}“ nicht.")
    return ep


def _require_ready(ep: Episode) -> None:
    problems = not_ready(ep)
    if problems:
        raise ControlError(f"{ep.label} kann nicht gesendet werden: "
                           + " ".join(p.message_de for p in problems))


def _require_cleared(post: Post) -> None:
    if not cleared_post(post):
        raise ControlError(f"{post.episode.label} auf {post.account.name}: die Korrektur des "
                           "Beitrags ist noch nicht freigegeben (Vier-Augen-Prinzip). Bitte von "
                           "einer zweiten Person freigeben lassen.")


def _enabled(deps: Deps, post: Post) -> bool:
    try:
        return deps.settings.account(post.account.name).enabled and post.account.enabled
    except KeyError:
        return False


__all__ = ["CANCELLABLE", "ControlError", "Done", "cancel_episode", "cancel_post", "hold",
           "parse_when", "publish_now", "reschedule", "resend_withdrawals", "retry",
           "send_withdraw", "set_paused", "skip"]

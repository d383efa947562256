"""The only SQL in wtg: reads and compare-and-set writes over the models.

Post state changes go through :func:`transition`, an ``UPDATE ... WHERE state IN (...)`` that
succeeds for exactly one caller. Work on a post in flight is guarded by a lease
(:func:`take_lease`) with an expiry, so a worker killed mid-upload does not block the post forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload

from .lifecycle import PostState, TransitionNotAllowed, can_move, sources_of
from .models import (
    Account,
    AuditEntry,
    Episode,
    Lease,
    Notification,
    Post,
    PublishAttempt,
    QuotaUsage,
    Series,
    utcnow,
)


# --- audit ------------------------------------------------------------------------------------
def audit(s: Session, actor: str, action: str, target: str = "", **details: Any) -> None:
    s.add(AuditEntry(actor=actor, action=action, target=target, details=_jsonable(details)))


def audit_log(s: Session, *, limit: int = 200, target: str | None = None) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if target:
        q = q.where(AuditEntry.target == target)
    return list(s.scalars(q))


def notify(
    s: Session, level: str, title: str, body: str = "", *,
    episode_id: int | None = None, post_id: int | None = None,
) -> int:
    """Queue a staff notification (the outbox); returns its id for ``wtg.notify.send``."""
    note = Notification(level=level, title=title, body=body, episode_id=episode_id,
                        post_id=post_id)
    s.add(note)
    s.flush()
    return note.id


# --- accounts ---------------------------------------------------------------------------------
def sync_accounts(s: Session, accounts: Iterable[Any]) -> dict[str, Account]:
    """Mirror configured accounts (``AccountSettings``) into the table; returns name -> row."""
    rows = {a.name: a for a in s.scalars(select(Account))}
    seen = set()
    for cfg in accounts:
        seen.add(cfg.name)
        row = rows.get(cfg.name)
        if row is None:
            row = Account(name=cfg.name, platform=cfg.platform)
            s.add(row)
            rows[cfg.name] = row
        row.platform = cfg.platform
        row.display_name = cfg.display_name or cfg.name
        row.enabled = cfg.enabled
    for name, row in rows.items():
        if name not in seen:
            row.enabled = False  # removed from settings: keep history, post nothing
    s.flush()
    return rows


# --- series and episodes ----------------------------------------------------------------------
def get_series(s: Session, slug: str | None = None) -> Series | None:
    q = select(Series).order_by(Series.id)
    if slug:
        q = q.where(Series.slug == slug)
    return s.scalars(q).first()


def all_series(s: Session) -> list[Series]:
    return list(s.scalars(select(Series).order_by(Series.id)))


def episodes_of(s: Session, series_id: int) -> list[Episode]:
    q = (
        select(Episode)
        .where(Episode.series_id == series_id)
        .order_by(Episode.number)
        .options(selectinload(Episode.posts).selectinload(Post.account))
    )
    return list(s.scalars(q))


def get_episode(s: Session, series_id: int, number: int) -> Episode | None:
    return s.scalars(
        select(Episode).where(Episode.series_id == series_id, Episode.number == number)
    ).first()


def ensure_posts(s: Session, series: Series, accounts: Mapping[str, Account]) -> int:
    """One post per episode x enabled account of the series; returns how many were created."""
    created = 0
    for ep in series.episodes:
        have = {p.account_id for p in ep.posts}
        for name in series.accounts:
            acc = accounts.get(name)
            if acc is None or acc.id in have:
                continue
            ep.posts.append(Post(account_id=acc.id, slot_at=ep.slot_at))
            created += 1
        for p in ep.posts:
            if p.state in (PostState.PENDING, PostState.PREPARING, PostState.READY):
                p.slot_at = ep.slot_at
    s.flush()
    return created


# --- posts: compare-and-set -------------------------------------------------------------------
def transition(
    s: Session,
    post_id: int,
    target: PostState,
    *,
    expect: Iterable[PostState] | None = None,
    owner: str | None = None,
    **fields: Any,
) -> bool:
    """Move a post to ``target`` if it is in one of the allowed source states (and, with
    ``owner``, still leased by that owner). True for exactly one of several racing callers."""
    allowed = sources_of(target)
    if expect is not None:
        expect = frozenset(expect)
        bad = [e for e in expect if not can_move(e, target)]
        if bad:
            raise TransitionNotAllowed(bad[0], target)
        allowed = allowed & expect
    where = [Post.id == post_id, Post.state.in_([str(a) for a in allowed])]
    if owner is not None:
        where.append(Post.lease_owner == owner)
    values: dict[str, Any] = {
        "state": str(target),
        "version": Post.version + 1,
        "state_changed_at": utcnow(),
        **fields,
    }
    result = s.execute(update(Post).where(*where).values(**values))
    s.flush()
    return result.rowcount == 1  # type: ignore[attr-defined]


def take_lease(s: Session, post_id: int, owner: str, seconds: float) -> bool:
    """Lease a post for ``seconds``; True if free, expired, or already ours."""
    now = utcnow()
    result = s.execute(
        update(Post)
        .where(
            Post.id == post_id,
            or_(Post.lease_owner.is_(None), Post.lease_until < now, Post.lease_owner == owner,
                Post.lease_owner == HANDOFF),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


#: lease owner while a post waits for its own follow-up task (any worker may take it over)
HANDOFF = "handoff"


def hand_off_lease(s: Session, post_id: int, owner: str, seconds: float) -> None:
    """Keep the post claimed for ``seconds`` for whichever worker runs its follow-up task."""
    s.execute(
        update(Post)
        .where(Post.id == post_id, Post.lease_owner == owner)
        .values(lease_owner=HANDOFF, lease_until=utcnow() + timedelta(seconds=seconds))
    )


def release_lease(s: Session, post_id: int, owner: str) -> None:
    s.execute(
        update(Post)
        .where(Post.id == post_id, Post.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def record_remote(s: Session, post_id: int, owner: str, facts: Mapping[str, Any]) -> bool:
    """Merge ``facts`` into the post's remote record, only while ``owner`` holds the lease."""
    post = s.get(Post, post_id, populate_existing=True)
    if post is None or post.lease_owner != owner:
        return False
    merged = {**(post.remote or {}), **_jsonable(dict(facts))}
    s.execute(
        update(Post).where(Post.id == post_id, Post.lease_owner == owner).values(remote=merged)
    )
    return True


def add_attempt(
    s: Session, post_id: int, step: str, outcome: str, *, worker: str = "",
    from_state: str = "", to_state: str = "", error: Mapping[str, Any] | None = None,
    started_at: datetime | None = None,
) -> None:
    s.add(
        PublishAttempt(
            post_id=post_id, step=step, outcome=outcome, worker=worker, from_state=from_state,
            to_state=to_state, error=dict(error) if error else None,
            started_at=started_at or utcnow(), finished_at=utcnow(),
        )
    )


# --- leader lease -----------------------------------------------------------------------------
def take_named_lease(s: Session, name: str, owner: str, seconds: float) -> bool:
    """A named lease (the scheduler's leadership): free, expired or ours -> True."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    row = s.get(Lease, name, with_for_update=True)
    if row is None:
        s.add(Lease(name=name, owner=owner, expires_at=until))
        try:
            s.flush()
        except Exception:  # another instance inserted it first
            s.rollback()
            return False
        return True
    result = s.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.owner == owner, Lease.expires_at < now))
        .values(owner=owner, expires_at=until)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


# --- quota ------------------------------------------------------------------------------------
def quota_used(s: Session, account_id: int, day: date) -> int:
    row = s.scalars(
        select(QuotaUsage).where(QuotaUsage.account_id == account_id, QuotaUsage.day == day)
    ).first()
    return row.units if row else 0


def quota_spend(s: Session, account_id: int, day: date, units: int) -> None:
    row = s.scalars(
        select(QuotaUsage).where(QuotaUsage.account_id == account_id, QuotaUsage.day == day)
    ).first()
    if row is None:
        s.add(QuotaUsage(account_id=account_id, day=day, units=units))
    else:
        s.execute(
            update(QuotaUsage).where(QuotaUsage.id == row.id)
            .values(units=QuotaUsage.units + units)
        )


# --- the status grid --------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Cell:
    post_id: int
    account: str
    platform: str
    state: str
    slot_at: datetime | None
    url: str | None
    error: str | None
    progress: float
    error_kind: str | None = None  # the error's kind: who refused (platform, wtg, technical)


@dataclass(frozen=True, kw_only=True)
class Row:
    episode_id: int
    number: int
    title: str
    place: str
    slot_at: datetime | None
    media_status: str
    approved: bool
    cells: tuple[Cell, ...]


def status_grid(s: Session, series_id: int) -> list[Row]:
    rows = []
    for ep in episodes_of(s, series_id):
        cells = tuple(
            Cell(
                post_id=p.id, account=p.account.name, platform=p.account.platform, state=p.state,
                slot_at=p.slot_at, url=p.public_url,
                error=(p.last_error or {}).get("message_de"), progress=p.progress,
                error_kind=(p.last_error or {}).get("kind"),
            )
            for p in sorted(ep.posts, key=lambda p: p.account.name)
        )
        rows.append(
            Row(
                episode_id=ep.id, number=ep.number, title=ep.title, place=ep.place,
                slot_at=ep.slot_at, media_status=ep.media_status, approved=ep.approved,
                cells=cells,
            )
        )
    return rows


def posts_for(
    s: Session, *, series_id: int | None = None, states: Sequence[PostState] | None = None
) -> list[Post]:
    q = select(Post).options(selectinload(Post.account), selectinload(Post.episode))
    if series_id is not None:
        q = q.join(Episode).where(Episode.series_id == series_id)
    if states:
        q = q.where(Post.state.in_([str(x) for x in states]))
    return list(s.scalars(q.order_by(Post.id)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


__all__ = [
    "Cell",
    "Row",
    "add_attempt",
    "all_series",
    "audit",
    "audit_log",
    "ensure_posts",
    "episodes_of",
    "get_episode",
    "get_series",
    "hand_off_lease",
    "notify",
    "posts_for",
    "quota_spend",
    "quota_used",
    "record_remote",
    "release_lease",
    "status_grid",
    "sync_accounts",
    "take_lease",
    "take_named_lease",
    "transition",
]


# --- dashboard reads (monitoring, post page, notifications) -----------------------------------
def ping(s: Session) -> bool:
    """True if the database answers."""
    from sqlalchemy import literal

    return s.execute(select(literal(1))).scalar() == 1


def get_post(s: Session, post_id: int) -> Post | None:
    """A post with its account, episode (and series) and attempts loaded."""
    q = (
        select(Post).where(Post.id == post_id)
        .options(selectinload(Post.account), selectinload(Post.attempts_log),
                 selectinload(Post.episode).selectinload(Episode.series))
    )
    return s.scalars(q).first()


def post_counts(s: Session) -> list[tuple[str, str, int]]:
    """(platform, state, number of posts) over every series."""
    from sqlalchemy import func

    q = (
        select(Account.platform, Post.state, func.count(Post.id))
        .join(Account, Post.account_id == Account.id)
        .group_by(Account.platform, Post.state)
    )
    return [(p, st, int(n)) for p, st, n in s.execute(q)]


def publish_delays(
    s: Session, to_virtual: Callable[[datetime], datetime] | None = None
) -> list[tuple[str, float]]:
    """(platform, seconds from slot to publication) for every published post. Slots are on the
    scheduler's clock and ``published_at`` is real time: with compressed time pass
    ``to_virtual`` (real -> virtual), and the delay is measured on the virtual clock."""
    q = (
        select(Account.platform, Post.slot_at, Post.published_at)
        .join(Account, Post.account_id == Account.id)
        .where(Post.published_at.is_not(None), Post.slot_at.is_not(None))
    )
    convert = to_virtual or (lambda t: t)
    return [(p, max(0.0, (convert(done) - slot).total_seconds()))
            for p, slot, done in s.execute(q)]


def attempt_durations(s: Session, *, limit: int = 5000) -> list[tuple[str, float]]:
    """(step, seconds) of the most recent finished publish attempts."""
    q = (
        select(PublishAttempt.step, PublishAttempt.started_at, PublishAttempt.finished_at)
        .where(PublishAttempt.finished_at.is_not(None))
        .order_by(PublishAttempt.id.desc()).limit(limit)
    )
    return [(step, max(0.0, (end - start).total_seconds())) for step, start, end in s.execute(q)]


def last_published_at(s: Session) -> datetime | None:
    from sqlalchemy import func

    return s.execute(select(func.max(Post.published_at))).scalar()


def notifications(s: Session, *, limit: int = 100) -> list[Notification]:
    return list(s.scalars(select(Notification).order_by(Notification.id.desc()).limit(limit)))


def progress_of(s: Session, series_id: int) -> tuple[list[Post], list[Episode]]:
    """The series' posts and episodes, for the dashboard's live progress (no relationships)."""
    posts = s.scalars(
        select(Post).join(Episode).where(Episode.series_id == series_id).order_by(Post.id)
    )
    eps = s.scalars(select(Episode).where(Episode.series_id == series_id))
    return list(posts), list(eps)


def media_in_progress(s: Session) -> list[Episode]:
    """Episodes whose media is being probed or transcoded."""
    return list(s.scalars(
        select(Episode).where(Episode.media_status.in_(("probing", "transcoding")))
    ))


def accounts_list(s: Session) -> list[Account]:
    """Every mirrored account (no credentials: only whether the last check passed)."""
    return list(s.scalars(select(Account).order_by(Account.name)))


__all__ += [
    "accounts_list", "attempt_durations", "get_post", "last_published_at", "media_in_progress",
    "notifications", "ping", "post_counts", "progress_of", "publish_delays",
]

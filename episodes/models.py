"""The domain nouns as SQLAlchemy 2 models: Series, Episode, Rendition, Account, Post,
PublishAttempt, AuditEntry, plus the tables the scheduler and dashboard keep (users, their
sessions and login throttles).

Times are stored in UTC and always come back timezone-aware (``UTCDateTime``). Credentials are
never stored here: an Account row holds the name and platform only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .lifecycle import PostState


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MediaStatus(StrEnum):
    MISSING = "missing"  # no source clip yet
    QUEUED = "queued"  # waiting for a media worker
    PROBING = "probing"
    TRANSCODING = "transcoding"
    VERIFIED = "verified"  # every rendition checked against its profile
    FAILED = "failed"  # the source was rejected; media_problems says why


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    time_of_day: Mapped[str] = mapped_column(String(5))  # "17:00"
    first_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date] = mapped_column(Date)
    blackout_dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    accounts: Mapped[list[str]] = mapped_column(JSON, default=list)  # account names
    link: Mapped[str] = mapped_column(String(500), default="")
    credits: Mapped[str] = mapped_column(String(500), default="")
    templates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # platform -> template
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    source_file: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    episodes: Mapped[list[Episode]] = relationship(
        back_populates="series", order_by="Episode.number", cascade="all, delete-orphan"
    )


class Episode(Base):
    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("series_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 0 = trailer
    title: Mapped[str] = mapped_column(String(300))
    place: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    text_overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # platform -> {}
    source_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    subtitle_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    fit: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"mode": "pad", "focal_x"}
    slot_override: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # effective
    #: the slot the season file gives; slot_at differs after a hold or a reschedule
    planned_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # media pipeline
    media_status: Mapped[str] = mapped_column(String(20), default=MediaStatus.MISSING)
    media_problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    media_progress: Mapped[float] = mapped_column(Float, default=0.0)
    probe: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subtitle_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # review: four eyes
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumps on media/text change
    edited_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    series: Mapped[Series] = relationship(back_populates="episodes")
    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="episode", cascade="all, delete-orphan"
    )
    posts: Mapped[list[Post]] = relationship(back_populates="episode", cascade="all, delete-orphan")

    @property
    def approved(self) -> bool:
        """Four eyes: the current revision, approved by someone other than its last editor."""
        return (
            self.approved_by is not None
            and self.approved_revision == self.revision
            and self.approved_by != self.edited_by
        )

    @property
    def label(self) -> str:
        return "Trailer" if self.number == 0 else f"Folge {self.number}"


class Rendition(Base):
    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("episode_id", "profile"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    profile: Mapped[str] = mapped_column(String(64))
    cache_key: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    duration: Mapped[float] = mapped_column(Float)
    loudness: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    thumbnail_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    captions_srt: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    captions_vtt: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    episode: Mapped[Episode] = relationship(back_populates="renditions")


class Account(Base):
    """Mirror of a configured account (settings are the truth; no credentials here)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    credentials_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    credentials_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Post(Base):
    """One episode on one account."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("episode_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default=PostState.PENDING, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumps on every state change
    slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    remote: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # upload ids, offsets
    remote_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    public_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    rendition_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # upload percent
    # repair of a refused post (episodes.repair): its own text and rendition, four eyes again
    text_override: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    profile_override: Mapped[str | None] = mapped_column(String(64), nullable=True)
    correction: Mapped[int] = mapped_column(Integer, default=0)  # bumps on every correction
    correction_approved: Mapped[int | None] = mapped_column(Integer, nullable=True)
    correction_approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    upload_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    episode: Mapped[Episode] = relationship(back_populates="posts")
    account: Mapped[Account] = relationship()
    attempts_log: Mapped[list[PublishAttempt]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="PublishAttempt.id"
    )

    @property
    def post_state(self) -> PostState:
        return PostState(self.state)


class PublishAttempt(Base):
    """One step a worker took for a post, with its outcome (the post page lists them)."""

    __tablename__ = "publish_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))  # ok | retry | error | reconciled
    from_state: Mapped[str] = mapped_column(String(20), default="")
    to_state: Mapped[str] = mapped_column(String(20), default="")
    worker: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    post: Mapped[Post] = relationship(back_populates="attempts_log")


class AuditEntry(Base):
    """Who changed what, when: season loads, approvals, manual controls, state decisions."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # user name, "scheduler", "worker", "cli"
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(100), default="")  # "episode:3", "post:17"
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default=Role.VIEWER)
    api_token_hash: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffSession(Base):
    """A dashboard login. The browser holds a random session id; only its SHA-256 is kept, so
    a copy of the database opens no session. Deleting the row ends the session at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))  # the forms' token for this session
    client: Mapped[str] = mapped_column(String(100), default="")  # address at login
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginThrottle(Base):
    """Failed logins per account (``user:<name>``) and per client (``client:<address>``):
    each failure beyond a few makes the next attempt wait longer (``blocked_until``)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PreflightResult(Base):
    """The outcome of one pre-flight check (at queue time, 48 h and 2 h before a slot)."""

    __tablename__ = "preflight_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "queue", "48h", "2h"
    slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlotRun(Base):
    """The scheduler's record that it handled a slot (so a second firing is harmless)."""

    __tablename__ = "slot_runs"
    __table_args__ = (UniqueConstraint("series_id", "slot_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="SET NULL"), nullable=True
    )
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))  # enqueued | held | skipped | missed
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Lease(Base):
    """A named lease (the scheduler's leader lock)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuotaUsage(Base):
    __tablename__ = "quota_usage"
    __table_args__ = (UniqueConstraint("account_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)  # in the platform's quota timezone
    units: Mapped[int] = mapped_column(Integer, default=0)


class Notification(Base):
    """Outbox of staff notifications (failures, pre-flight warnings); sent by a worker."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    level: Mapped[str] = mapped_column(String(16))  # info | warning | error
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    episode_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    post_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SchedulerClock(Base):
    """The virtual clock's anchor (demo and tests with ``time_scale``): shared by the scheduler
    and its standby, so a takeover continues the same clock instead of starting a new one."""

    __tablename__ = "scheduler_clock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    scale: Mapped[float] = mapped_column(Float)
    virtual_start: Mapped[datetime] = mapped_column(UTCDateTime)
    real_start: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountConnection(Base):
    """How an account was connected in the browser and how healthy the connection is: the
    non-secret facts the platform told us (page, Instagram account, channel, instance, granted
    scopes, when tokens lapse). The tokens themselves live in the secrets store
    (``config.credentials``), never here."""

    __tablename__ = "account_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="connected")  # or disconnected
    #: Mastodon: the instance the staffer named (overrides the account's ``api_base``)
    api_base: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: account options learned while connecting (page_id, ig_user_id, account_id)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_id: Mapped[str] = mapped_column(String(200), default="")
    remote_name: Mapped[str] = mapped_column(String(300), default="")
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    connected_by: Mapped[str] = mapped_column(String(100), default="")
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the access token lapses then and cannot be refreshed (Instagram's user token)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the refresh token lapses then (TikTok; YouTube with a consent screen in Testing)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    check_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    check_message: Mapped[str] = mapped_column(Text, default="")
    #: expiry warnings already sent: {"<lapse ISO>": "soon" | "lapsed"}
    warned: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OAuthFlow(Base):
    """One authorization in progress. Only the SHA-256 of its ``state`` and of the browser's
    flow cookie are kept; it belongs to the staff session that started it, is used once and
    expires after a few minutes. No token and no PKCE verifier is stored (the verifier is
    derived from the state with the dashboard's secret key)."""

    __tablename__ = "oauth_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    session_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16), default="authorize")  # or "choose"
    redirect_uri: Mapped[str] = mapped_column(String(500))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: after the callback: what the staffer chooses from (ids and names, never tokens)
    choices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PasswordLink(Base):
    """A one-time link to set a password: an invitation or a reset by an admin. Only the
    SHA-256 of the link's token is kept."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invite | reset
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

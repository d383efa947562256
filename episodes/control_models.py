"""Tables of the staff controls: the edit history behind the four-eyes rule and the withdrawal
requests (a second person approves every withdrawal). Kept apart from :mod:`.models` and
registered on the same metadata (``episodes/__init__.py`` imports this module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime, utcnow


class EpisodeEdit(Base):
    """One change to an episode's texts, subtitles or media (``post_id`` empty), or to one
    post's correction (``post_id`` set), with the revision it produced."""

    __tablename__ = "episode_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"),
                                            index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"),
                                                nullable=True)
    revision: Mapped[int] = mapped_column(Integer)  # episode revision, or post correction
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))  # texts | subtitles | media | post_text | ...
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Withdrawal(Base):
    """A request to take an episode back from every platform, with its reason; approved (or
    turned down) by a second person."""

    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"),
                                            index=True)
    state: Mapped[str] = mapped_column(String(16), default="requested")  # approved | rejected
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    posts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what approval did


__all__ = ["EpisodeEdit", "Withdrawal"]

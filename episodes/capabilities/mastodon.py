"""Mastodon: the account options ``workers.platforms.mastodon`` reads, and what the platform
allows.

Native scheduling: ``scheduled_at`` on ``POST /api/v1/statuses`` must lie at least 5 minutes
ahead [doc M-STAT].
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from .common import Capabilities, Id, Options

MIN_LEAD_MINUTES = 5


class MastodonOptions(Options):
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    max_characters: int | None = Field(
        None, gt=0, description="the instance's status limit (default: read from the instance)")
    poll_interval: float = Field(5.0, gt=0, description="seconds between media polls")
    account_id: Id | None = Field(None, description="default: read from verify_credentials")
    min_schedule_lead: float | None = Field(
        None, ge=0, description="seconds a native publish time must lie ahead at least "
        "(default: the documented minimum plus a margin); lower only for a test server")


CAPABILITIES = Capabilities(
    platform="mastodon", label="Mastodon", default_profile="landscape-burned",
    options=MastodonOptions, native_scheduling=True,
    min_schedule_lead=timedelta(minutes=MIN_LEAD_MINUTES), source="[doc M-STAT]",
)

"""YouTube: the account options the YouTube adapter (``workers.platforms.youtube*``, as
``self.opts``), the quota ledger (``workers.publishing.DbQuota``), pre-flight and the
orchestrator read, and what the platform allows.

Native scheduling: ``status.privacyStatus=private`` + ``status.publishAt``; no minimum or
maximum lead is documented (PLATFORM-APIS 3.9).
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from .common import Capabilities, Flag, Id, Options, Url

RESUMABLE_UNIT = 256 * 1024  # resumable uploads: every chunk but the last a multiple of this


class YouTubeOptions(Options):
    upload_base: Url | None = Field(
        None, description="upload root; default: api_base with /youtube/v3 -> /upload/...")
    token_url: Url = "https://oauth2.googleapis.com/token"
    oauth_testing: Flag = Field(
        False, description="the Google Cloud project's consent screen is in Testing: its "
        "refresh tokens lapse 7 days after consent (the dashboard warns in time)")
    chunk_size: int = Field(8 * 1024 * 1024, gt=0, multiple_of=RESUMABLE_UNIT,
                            description="bytes per PUT, a multiple of 262144 (256 KiB)")
    category_id: Id = Field("29", pattern=r"^\d+$", description="29 = Nonprofits & Activism")
    publish_privacy: Literal["public", "unlisted"] = "public"
    notify_subscribers: Flag = True
    contains_synthetic_media: Flag = False
    language: str = Field("de", min_length=2)
    caption_name: str = Field("Deutsch", min_length=1)
    thumbnail_max_bytes: int = Field(2 * 1024 * 1024, gt=0)
    watch_url: str = Field(
        "https://www.youtube.com/watch?v=", pattern=r"^https?://",
        description="prefix of the public URL, the video id appended as it is (kept with a "
        "trailing slash, unlike the base URLs)")
    playlist_id: Id | None = Field(None, description="the season's playlist")
    # quota: the two daily buckets, the units a post needs, the day's time zone, method costs
    daily_quota_units: int = Field(10_000, gt=0)
    daily_upload_calls: int = Field(100, gt=0)
    upload_quota_units: int = Field(600, ge=0, description="pre-flight: units one post needs")
    quota_timezone: str = "America/Los_Angeles"
    cost_videos_insert: int = Field(1, ge=0)
    cost_videos_list: int = Field(1, ge=0)
    cost_videos_update: int = Field(50, ge=0)
    cost_videos_delete: int = Field(50, ge=0)
    cost_captions_insert: int = Field(400, ge=0)
    cost_captions_list: int = Field(50, ge=0)
    cost_thumbnails_set: int = Field(50, ge=0)
    cost_playlist_items_insert: int = Field(50, ge=0)
    cost_playlist_items_list: int = Field(1, ge=0)
    cost_channels_list: int = Field(1, ge=0)
    min_schedule_lead: float | None = Field(
        None, ge=0, description="seconds a native publish time must lie ahead at least "
        "(default: the documented minimum plus a margin); lower only for a test server")

    @field_validator("quota_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unbekannte Zeitzone {value!r}") from None
        return value


CAPABILITIES = Capabilities(
    platform="youtube", label="YouTube", default_profile="landscape",
    options=YouTubeOptions, native_scheduling=True,
    source="PLATFORM-APIS 3.9: no documented lead",
)

"""Facebook Page: the account options ``workers.platforms.facebook`` reads, and what the
platform allows.

Native scheduling: Page videos (``published=false`` + ``scheduled_publish_time``) and Reels
(``video_state=SCHEDULED``); Meta's sample refuses times within the next 10 minutes
(``PUBLISH_TIME_INTERVAL_BUFFER = 600``) [code FB-REELS-SAMPLE utils.js]. The maximum lead is
not documented officially (third parties: 30 days or 6 months) [3p], hence an option.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from .common import Capabilities, Id, Options, Url

MIN_LEAD_MINUTES = 10
#: third parties say 30 days or 6 months; the shorter, until Meta documents it
MAX_LEAD_DAYS = 30


class FacebookOptions(Options):
    page_id: Id = Field(description="the Page's id (required)")
    video_base: Url | None = Field(None, description="graph-video base URL; default api_base")
    web_base: Url = Field("https://www.facebook.com", description="for relative permalinks")
    format: Literal["auto", "video", "reels"] = Field(
        "auto", description="auto: vertical renditions as Reels, others as Page videos")
    chunk_size: int = Field(
        0, ge=0, description="rupload bytes per request; 0: the rest of the file in one request")
    caption_locale: str = Field("de_DE", pattern=r"^[a-z]{2}_[A-Z]{2}$")
    poll_interval: float = Field(5.0, gt=0, description="seconds between processing polls")
    min_schedule_lead: float | None = Field(
        None, ge=0, description="seconds a native publish time must lie ahead at least "
        "(default: the documented minimum plus a margin); lower only for a test server")


CAPABILITIES = Capabilities(
    platform="facebook", label="Facebook", default_profile="landscape",
    options=FacebookOptions, native_scheduling=True,
    min_schedule_lead=timedelta(minutes=MIN_LEAD_MINUTES),
    max_schedule_lead=timedelta(days=MAX_LEAD_DAYS), source="[code FB-REELS-SAMPLE]; max [3p]",
    connect_fills=("page_id",),
)

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

from pydantic import Field, ValidationInfo, field_validator

from .common import Capabilities, Id, Options, Url

MIN_LEAD_MINUTES = 10


class FacebookOptions(Options):
    page_id: Id = Field(description="the Page's id (required)")
    video_base: Url | None = Field(None, description="graph-video base URL; default api_base")
    web_base: Url = Field("https://www.facebook.com", description="for relative permalinks")
    format: Literal["auto", "video", "reels"] = Field(
        "auto", description="auto: vertical renditions as Reels, others as Page videos")
    chunk_size: int = Field(8 * 1024 * 1024, gt=0, description="rupload bytes per request")
    schedule_min_minutes: int = Field(
        MIN_LEAD_MINUTES, ge=MIN_LEAD_MINUTES,
        description="native scheduling: at least this far ahead (Facebook: 10 minutes)")
    schedule_max_days: int = Field(30, ge=1, description="native scheduling: at most this far")
    caption_locale: str = Field("de_DE", pattern=r"^[a-z]{2}_[A-Z]{2}$")
    poll_interval: float = Field(5.0, gt=0, description="seconds between processing polls")
    native_min_lead_minutes: float = Field(
        15.0, ge=MIN_LEAD_MINUTES, validate_default=True,
        description="wtg schedules natively only when the slot is at least this far ahead")

    @field_validator("native_min_lead_minutes")
    @classmethod
    def _lead_within_window(cls, value: float, info: ValidationInfo) -> float:
        least = info.data.get("schedule_min_minutes")
        if least is not None and value < least:
            raise ValueError(f"muss mindestens schedule_min_minutes ({least}) sein, sonst "
                             "lehnt Facebook den Termin ab")
        return value


CAPABILITIES = Capabilities(
    platform="facebook", label="Facebook", options=FacebookOptions, native_scheduling=True,
    min_schedule_lead=timedelta(minutes=MIN_LEAD_MINUTES), source="[code FB-REELS-SAMPLE]",
)

"""Instagram Reels: the account options ``workers.platforms.instagram`` reads, and what the
platform allows.

No native scheduling: the Content Publishing API has no publish time; a container expires after
24 hours, so wtg uploads shortly before the slot and publishes at the slot itself.
"""

from __future__ import annotations

from pydantic import Field

from .common import Capabilities, Flag, Id, Options, Url

HASHTAGS_MAX = 30  # the API's text; the app allows only 5 nowadays (set 5 to be safe)
MENTIONS_MAX = 20


class InstagramOptions(Options):
    ig_user_id: Id = Field(description="the Instagram professional account's id (required)")
    hashtags_max: int = Field(HASHTAGS_MAX, ge=0, le=HASHTAGS_MAX)
    mentions_max: int = Field(MENTIONS_MAX, ge=0, le=MENTIONS_MAX)
    chunk_size: int = Field(
        0, ge=0, description="rupload bytes per request; 0: the rest of the file in one request")
    rupload_base: Url = Field("https://rupload.facebook.com",
                              description="used when the container answer carries no uri")
    share_to_feed: Flag = True
    thumb_offset_ms: int | None = Field(None, ge=0, description="cover frame, milliseconds")
    poll_interval: float = Field(5.0, gt=0, description="seconds between processing polls")


CAPABILITIES = Capabilities(
    platform="instagram", label="Instagram", default_profile="vertical-burned",
    options=InstagramOptions, native_scheduling=False,
    source="PLATFORM-APIS 2.11: no scheduling in the API [code IG-SAMPLE]",
    connect_fills=("ig_user_id",),
)

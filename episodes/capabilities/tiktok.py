"""TikTok Direct Post: the account options ``workers.platforms.tiktok`` reads, and what the
platform allows.

Chunk rules (media transfer guide): chunks of 5-64 MB, except the last (up to 128 MB); videos
under 5 MB in one piece; at most 1000 chunks. Smaller chunks work only against the sandbox, so
``validate_chunks`` refuses them for TikTok's own API host. No native scheduling: the upload
itself publishes, so wtg starts it at the slot (PLATFORM-APIS 5.4).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from .common import Capabilities, Flag, Options, Url

MIN_CHUNK = 5 * 1024 * 1024  # 5 MB under either reading of "MB"
MAX_CHUNK = 64_000_000
PRODUCTION_HOSTS = ("open.tiktokapis.com",)


class TikTokOptions(Options):
    audited: Flag = Field(False, description="false: an unaudited app may only post SELF_ONLY")
    privacy_level: Literal["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                           "SELF_ONLY"] = "PUBLIC_TO_EVERYONE"
    chunk_size: int = Field(10_000_000, gt=0, le=MAX_CHUNK, description="bytes per PUT")
    poll_interval: float = Field(10.0, gt=0, description="seconds between status polls")
    web_base: Url = Field("https://www.tiktok.com", description="for post links")


def chunk_problem(options: TikTokOptions, api_base: str) -> str | None:
    """TikTok's own API takes chunks of 5 MB and more; only the sandbox takes smaller ones."""
    host = urlsplit(api_base).hostname or ""
    if host in PRODUCTION_HOSTS and options.chunk_size < MIN_CHUNK:
        return (f"muss für TikTok zwischen {MIN_CHUNK} und {MAX_CHUNK} Bytes (5 bis 64 MB) "
                "liegen")
    return None


CAPABILITIES = Capabilities(
    platform="tiktok", label="TikTok", default_profile="vertical-burned",
    options=TikTokOptions, native_scheduling=False,
    source="PLATFORM-APIS 5.4: scheduling none in the API [doc TT-MT]",
)

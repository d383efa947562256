"""What each platform accepts as a video file: the one source of these limits, read by the media
room (``validate`` at queue time, ``verify`` after rendering, through each rendition profile's
``platforms`` in ``config/media.toml``) and by the demo's smaller profiles.

Sources are sections of shared/PLATFORM-APIS.md; where copies disagree, the stricter value.
``facebook_reels`` is the Reel variant of a Facebook account (vertical renditions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class VideoLimits:
    """What one platform (or variant) accepts for a video."""

    name: str
    min_seconds: float = 0.0
    max_seconds: float = 86400.0
    max_bytes: int = 2**40
    min_width: int = 0
    min_height: int = 0
    max_kbps: int | None = None
    source: str = ""

    def accepts_duration(self, seconds: float) -> bool:
        return self.min_seconds <= seconds <= self.max_seconds

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("source")
        return data


VIDEO: dict[str, VideoLimits] = {v.name: v for v in (
    VideoLimits(name="youtube", min_seconds=1.0, max_seconds=43_200.0,
                max_bytes=274_877_906_944,
                source="3.11: API <= 256 GB; product <= 12 h (15 min unverified) [3p]"),
    VideoLimits(name="facebook", min_seconds=1.0, max_seconds=14_400.0,
                max_bytes=2_000_000_000,
                source="1.8: regular Page video 10 GB vs 2 GB [3p] -> the smaller"),
    VideoLimits(name="facebook_reels", min_seconds=3.0, max_seconds=90.0,
                max_bytes=1_000_000_000, min_width=540, min_height=960,
                source="1.8: Reels 3-90 s (current guide), >= 540x960 [doc FB-REELS]"),
    VideoLimits(name="instagram", min_seconds=3.0, max_seconds=900.0, max_bytes=300_000_000,
                max_kbps=25_000,
                source="2.9: 3 s - 15 min, 300 MB (current copies; 1 GB older), <= 25 Mbps"),
    VideoLimits(name="tiktok", min_seconds=1.0, max_seconds=600.0, max_bytes=1_000_000_000,
                min_width=360, min_height=360,
                source="5.4: <= max_video_post_duration_sec (often 600 s), 360-4096 px [3p]"),
    VideoLimits(name="mastodon", min_seconds=0.5, max_seconds=3600.0, max_bytes=103_809_024,
                source="4.2: video_size_limit is per instance (99 MiB example)"),
)}

__all__ = ["VIDEO", "VideoLimits"]

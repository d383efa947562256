"""Rendition profiles (read from ``config/media.toml``) and per-episode fitting options.

``load_profiles()`` returns ``{name: Profile}``; a ``Profile`` is frozen and validated on
construction, so a broken TOML fails at start-up with a clear message, not mid-transcode.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from episodes.capabilities.video import VIDEO, VideoLimits
from workers.media.problems import Code, MediaError

# Constant rates the platforms take (23–60 fps) that cameras and phones record at.
STANDARD_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                  Fraction(30), Fraction(50), Fraction(60000, 1001), Fraction(60))


class CaptionsMode(StrEnum):
    SIDECAR = "sidecar"
    BURNED = "burned"


class FitMode(StrEnum):
    CROP = "crop"  # fill the frame, cut around the focal point
    PAD = "pad"  # show the whole picture over a blurred copy of itself


@dataclass(frozen=True, kw_only=True)
class FitOptions:
    """How a source of another shape is fitted into a profile's frame (chosen per episode)."""

    mode: FitMode = FitMode.PAD
    focal_x: float = 0.5  # 0 = left edge, 1 = right edge of the (rotated) source
    focal_y: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", FitMode(self.mode))
        for name in ("focal_x", "focal_y"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")

    def to_dict(self) -> dict[str, Any]:
        return {"mode": str(self.mode), "focal_x": self.focal_x, "focal_y": self.focal_y}


#: what one platform accepts for a video: the capability data (one source)
PlatformLimits = VideoLimits


@dataclass(frozen=True, kw_only=True)
class Profile:
    """One rendition: frame, encoder settings, loudness, captions mode and target platforms."""

    name: str
    width: int
    height: int
    fps: int = 30  # used for VFR sources and rates outside STANDARD_RATES
    follow_source_fps: bool = True  # keep a 25/29.97/50 fps camera's rate (no judder)
    h264_profile: str = "high"
    pix_fmt: str = "yuv420p"
    preset: str = "veryfast"
    crf: int = 21
    maxrate_kbps: int = 8000
    gop_seconds: float = 2.0
    audio_bitrate_kbps: int = 128
    audio_rate: int = 48000
    audio_channels: int = 2
    loudness_lufs: float = -14.0
    true_peak_db: float = -1.0
    loudness_range: float = 11.0
    captions: CaptionsMode = CaptionsMode.SIDECAR
    platforms: tuple[PlatformLimits, ...] = field(default_factory=tuple)
    card_seconds: float = 1.5
    thumbnail_width: int = 1280
    thumbnail_height: int = 720
    thumbnail_max_bytes: int = 2_000_000
    subtitle_safe_bottom: float = 0.07
    subtitle_safe_left: float = 0.05
    subtitle_safe_right: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "captions", CaptionsMode(self.captions))
        if self.width % 2 or self.height % 2 or self.width < 16 or self.height < 16:
            raise ValueError(f"profile {self.name}: width/height must be even and >= 16")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"profile {self.name}: fps out of range")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"profile {self.name}: crf out of range")
        if self.pix_fmt != "yuv420p" or self.h264_profile != "high":
            raise ValueError(f"profile {self.name}: only H.264 High yuv420p is supported")
        if self.preset == "ultrafast":  # no CABAC/8x8dct: the stream would be Baseline
            raise ValueError(f"profile {self.name}: preset ultrafast cannot produce H.264 High")
        if self.card_seconds <= 0:
            raise ValueError(f"profile {self.name}: card_seconds must be positive")

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def burned(self) -> bool:
        return self.captions is CaptionsMode.BURNED

    def output_rate(self, source_fps: float | None = None, vfr: bool = False) -> Fraction:
        """The constant output frame rate for a source of ``source_fps``."""
        if self.follow_source_fps and source_fps and not vfr:
            nearest = min(STANDARD_RATES, key=lambda r: abs(source_fps - float(r)))
            if abs(source_fps - float(nearest)) <= 0.005 * float(nearest):
                return nearest
        return Fraction(self.fps)

    def gop_frames(self, rate: Fraction | None = None) -> int:
        return max(1, round(self.gop_seconds * float(rate or self.fps)))

    @property
    def max_bytes(self) -> int:
        return min((p.max_bytes for p in self.platforms), default=2**40)

    def scaled(self, factor: float) -> Profile:
        """A smaller copy (for tests and quick previews); dimensions stay even."""

        def even(x: float) -> int:
            return max(16, round(x * factor / 2) * 2)

        return replace(
            self,
            width=even(self.width),
            height=even(self.height),
            thumbnail_width=even(self.thumbnail_width),
            thumbnail_height=even(self.thumbnail_height),
            maxrate_kbps=max(200, round(self.maxrate_kbps * factor * factor)),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["captions"] = str(self.captions)
        data["platforms"] = [p.to_dict() for p in self.platforms]
        return data


def _default_toml() -> bytes:
    return resources.files("config").joinpath("media.toml").read_bytes()


def card_seconds_added(profiles: Iterable[Profile], *, branding: bool) -> float:
    """How much longer the renditions are than the source: the intro and end card of the
    longest-carded profile when branding is on (what the duration limits must be checked on)."""
    return 2 * max((p.card_seconds for p in profiles), default=0.0) if branding else 0.0


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    """Read rendition profiles from ``path`` (default: the packaged ``config/media.toml``)."""
    raw = Path(path).read_bytes() if path is not None else _default_toml()
    where = str(path) if path is not None else "config/media.toml"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return _parse(data)
    except (tomllib.TOMLDecodeError, ValueError, TypeError, KeyError) as exc:
        raise MediaError(
            Code.PROFILE_CONFIG,
            f"Die Profil-Konfiguration {where} ist fehlerhaft: {exc}. "
            "Bitte die Datei korrigieren (die Videos bleiben unverändert).",
            detail=repr(exc),
        ) from exc


def _parse(data: dict[str, Any]) -> dict[str, Profile]:
    defaults = dict(data.get("defaults", {}))
    if "platforms" in data:
        raise ValueError("[platforms.*] tables are no longer read here: the platforms' video "
                         "limits are episodes/capabilities/video.py")
    limits = VIDEO
    profiles: dict[str, Profile] = {}
    for name, values in data.get("profiles", {}).items():
        merged = {**defaults, **values}
        unknown = [p for p in merged.get("platforms", []) if p not in limits]
        if unknown:
            raise ValueError(f"profile {name}: unknown platforms {unknown}")
        merged["platforms"] = tuple(limits[p] for p in merged.get("platforms", []))
        profiles[name] = Profile(name=name, **merged)
    if not profiles:
        raise ValueError("no [profiles.*] tables")
    return profiles

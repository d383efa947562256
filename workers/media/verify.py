"""Check a finished rendition against its profile: probe it, measure its loudness, read its
top-level MP4 boxes. Returns problems; a rendition with no error is ``verified``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from workers.media.loudness import Loudness, measure_loudness
from workers.media.probe import ProbeInfo, probe
from workers.media.problems import Code, MediaError, Problem, Severity
from workers.media.profiles import Profile

DURATION_TOLERANCE = 0.1  # seconds
LOUDNESS_TOLERANCE = 1.0  # LU


@dataclass(frozen=True, kw_only=True)
class Verification:
    info: ProbeInfo
    loudness: Loudness | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


def top_level_boxes(path: Path, limit: int = 64) -> list[str]:
    """Pure-ish: the order of top-level MP4 boxes (``moov`` before ``mdat`` = faststart)."""
    names: list[str] = []
    size_total = path.stat().st_size
    with open(path, "rb") as fh:
        offset = 0
        while offset < size_total and len(names) < limit:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                break
            size, kind = struct.unpack(">I4s", header[:8])
            if size == 1 and len(header) == 16:
                size = struct.unpack(">Q", header[8:16])[0]
            elif size == 0:
                size = size_total - offset
            if size < 8:
                break
            names.append(kind.decode("latin-1"))
            offset += size
    return names


def verify_rendition(
    path: Path,
    profile: Profile,
    *,
    expected_duration: float,
    expected_fps: float | None = None,
    check_loudness: bool = True,
) -> Verification:
    """Probe ``path`` and compare with ``profile``; never raises for a bad output, reports."""
    name = Path(path).name
    problems: list[Problem] = []

    def fail(what: str) -> None:
        problems.append(Problem(
            code=Code.VERIFY_FAILED, severity=Severity.ERROR,
            message_de=f"Die Fassung „{profile.name}“ ({name}) ist fehlerhaft: {what}. "
            "Bitte die Aufbereitung neu starten; bleibt der Fehler, die Technik informieren.",
        ))

    try:
        info = probe(path)
    except MediaError as exc:
        raise MediaError(
            Code.VERIFY_FAILED,
            f"Die Fassung „{profile.name}“ ({name}) ist nicht lesbar. Bitte die Aufbereitung "
            "neu starten.",
            detail=exc.message_de,
        ) from exc
    if info.video_codec != "h264" or not info.video_profile.startswith("High"):
        fail(f"Videocodec {info.video_codec} {info.video_profile} statt H.264 High")
    if info.pix_fmt != profile.pix_fmt:
        fail(f"Pixelformat {info.pix_fmt} statt {profile.pix_fmt}")
    if (info.width, info.height) != (profile.width, profile.height):
        fail(f"{info.width}×{info.height} statt {profile.width}×{profile.height} Pixel")
    fps = expected_fps or float(profile.fps)
    if info.vfr or abs(info.fps - fps) > 0.05:
        fail(f"Bildrate {info.fps:g} fps (variabel: {info.vfr}) statt konstant {fps:g}")
    if abs(info.duration - expected_duration) > DURATION_TOLERANCE:
        fail(f"Länge {info.duration:.2f} s statt {expected_duration:.2f} s")
    if not info.has_audio or info.audio_codec != "aac" or info.audio_rate != profile.audio_rate:
        fail("Tonspur fehlt oder ist nicht AAC mit 48 kHz")
    if info.rotation:
        fail(f"Drehung {info.rotation}° ist noch gesetzt")
    boxes = top_level_boxes(Path(path))
    if "moov" not in boxes or ("mdat" in boxes and boxes.index("moov") > boxes.index("mdat")):
        fail("Indexdaten (moov) stehen nicht am Dateianfang (faststart)")
    loudness = None
    if info.has_audio and check_loudness:
        loudness = measure_loudness(
            Path(path), target_i=profile.loudness_lufs, true_peak=profile.true_peak_db,
            lra=profile.loudness_range,
        )
        if abs(loudness.input_i - profile.loudness_lufs) > LOUDNESS_TOLERANCE:
            fail(f"Lautheit {loudness.input_i:.1f} LUFS statt {profile.loudness_lufs:g} LUFS")
    for limits in profile.platforms:
        if info.size_bytes > limits.max_bytes:
            problems.append(Problem(
                code=Code.SIZE_EXCEEDED, severity=Severity.WARNING,
                message_de=f"Die Fassung „{profile.name}“ ist {info.size_bytes / 1e6:.0f} MB "
                f"groß; {limits.name} nimmt höchstens {limits.max_bytes / 1e6:.0f} MB an.",
            ))
    return Verification(info=info, loudness=loudness, problems=tuple(problems))

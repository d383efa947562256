"""Probe a clip with ffmpeg itself (imageio-ffmpeg ships no ffprobe) and validate it.

``probe`` runs one demux-only ffmpeg pass (``-c copy -f framecrc``: no decoding) while a
thread hashes the file: the stream header dump on stderr gives codecs, dimensions, rotation
and pixel format; the per-packet table gives the real duration, frame count and whether the
frame rate is variable, and reveals a truncated file. Parsing is pure (``split_inputs``,
``parse_header``, ``parse_packets``, ``probe_fields``; several inputs at once for ``verify``)
and tested from text. PyAV was measured as an alternative and not adopted
(``bench/probe_compare.py``, bench/README.md).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from workers.media.problems import Code, MediaError, Problem, Severity
from workers.media.profiles import Profile
from workers.media.run import FfmpegFailed, run_ffmpeg


@dataclass(frozen=True, kw_only=True)
class ProbeInfo:
    """What a clip contains. ``width``/``height`` are as displayed (after rotation)."""

    path: str
    size_bytes: int
    sha256: str
    container: str
    duration: float
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    sar: float
    fps: float
    vfr: bool
    frame_count: int
    video_codec: str
    video_profile: str
    pix_fmt: str
    bit_depth: int
    has_audio: bool
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None
    color_transfer: str = ""  # e.g. bt709, arib-std-b67 (HLG), smpte2084 (PQ); "" = untagged
    hdr: bool = False  # HLG/PQ: tone-mapped to SDR BT.709 by the transcode pass

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_INPUT = re.compile(r"^Input #(\d+), ([^,\s]+(?:,[^,\s]+)*), from")
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"^\s*Stream #\d+:(\d+)\S*: Video: (\w+)(?: \(([^)]*)\))?")
_AUDIO = re.compile(r"^\s*Stream #\d+:(\d+)\S*: Audio: (\w+)")
_DIMS = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_SAR = re.compile(r"\[SAR (\d+):(\d+)")
_PIXFMT = re.compile(r"^\s*Stream #\d+:\d+\S*: Video: [^,]+, (\w+)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_COLOR = re.compile(r"\((?:tv|pc), ([\w-]+)(?:/([\w-]+)/([\w-]+))?[,)]")
HDR_TRANSFERS = ("smpte2084", "arib-std-b67")
_HZ = re.compile(r"(\d+) Hz, ([^,]+)")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}
DAMAGE_MARKERS = (  # in ffmpeg's log: the file is damaged or cut short
   "partial file", "Packet corrupt", "corrupt input packet", "error reading header",
           "Invalid NAL unit size", "stream ends prematurely")


@dataclass(frozen=True)
class Packets:
    """One stream of a framecrc table: time base and (pts, duration, size, checksum) rows."""

    timebase: float
    rows: tuple[tuple[int, int, int, str], ...]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _bit_depth(pix_fmt: str) -> int:
    match = re.search(r"p(\d\d)(?:le|be)?$", pix_fmt)
    return int(match.group(1)) if match else 8


def split_inputs(stderr: str) -> dict[int, list[str]]:
    """Pure: ffmpeg's stderr -> the header dump lines of each input (``Input #N`` up to the
    next input or the stream mapping; output sections are not included)."""
    sections: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in stderr.splitlines():
        if m := _INPUT.match(line):
            current = sections.setdefault(int(m.group(1)), [])
        elif line.startswith(("Stream mapping:", "Output #", "Press [q]")):
            current = None
        if current is not None:
            current.append(line)
    return sections


def parse_packets(text: str) -> dict[int, Packets]:
    """Pure: a framecrc table (``-c copy -f framecrc``) -> its packets per output stream."""
    timebases: dict[int, float] = {}
    rows: dict[int, list[tuple[int, int, int, str]]] = {}
    for line in text.splitlines():
        if line.startswith("#tb "):
            index, _, value = line[4:].partition(":")
            num, den = value.strip().split("/")
            timebases[int(index)] = int(num) / int(den)
        elif line[:1].isdigit():
            cols = [c.strip() for c in line.split(",")]
            rows.setdefault(int(cols[0]), []).append(
                (int(cols[2]), int(cols[3]), int(cols[4]), cols[5]))
    return {i: Packets(tb, tuple(rows.get(i, ()))) for i, tb in timebases.items()}


def parse_header(lines: Iterable[str]) -> dict[str, Any]:
    """Pure: one input's header dump -> container, codecs, coded size, rotation, pixel
    format, colour transfer, audio; ``header_duration``. ValueError(no_video_stream)."""
    info: dict[str, Any] = {"has_audio": False, "rotation": 0, "sar": 1.0, "container": "",
                            "header_duration": None}
    in_video = False
    for line in lines:
        if m := _INPUT.match(line):
            info["container"] = m.group(2)
        elif m := _DURATION.match(line):
            h, mi, s = m.groups()
            info["header_duration"] = int(h) * 3600 + int(mi) * 60 + float(s)
        elif (m := _VIDEO.match(line)) and "video_codec" not in info:
            if "attached pic" in line:
                continue
            in_video = True
            info["video_codec"] = m.group(2)
            info["video_profile"] = (m.group(3) or "").split(")")[0]
            pm = _PIXFMT.match(line)
            info["pix_fmt"] = pm.group(1) if pm else ""
            if color := _COLOR.search(line):
                info["color_transfer"] = color.group(3) or color.group(1)
                info["hdr"] = info["color_transfer"] in HDR_TRANSFERS
            dims = _DIMS.search(line.split("Video:", 1)[1])
            if dims:
                info["coded_width"], info["coded_height"] = int(dims[1]), int(dims[2])
            if sar := _SAR.search(line):
                num, den = int(sar[1]), int(sar[2])
                info["sar"] = num / den if num and den else 1.0
        elif m := _AUDIO.match(line):
            in_video = False
            if not info["has_audio"]:
                info["has_audio"] = True
                info["audio_codec"] = m.group(2)
                if hz := _HZ.search(line):
                    info["audio_rate"] = int(hz[1])
                    info["audio_channels"] = _CHANNELS.get(hz[2].strip().split("(")[0], 2)
        elif line.lstrip().startswith("Stream #"):
            in_video = False
        elif in_video and (rot := _ROTATION.search(line)):
            info["rotation"] = round(float(rot[1])) % 360
    if "video_codec" not in info:
        raise ValueError(Code.NO_VIDEO_STREAM)
    return info


def probe_fields(header: dict[str, Any], video: Packets | None) -> dict[str, Any]:
    """Pure: a parsed header and the video stream's packets -> ``ProbeInfo`` fields (real
    duration, frame count, fps, VFR, displayed size). ValueError(truncated)."""
    info = dict(header)
    header_duration = info.pop("header_duration")
    if video is None or not video.rows:
        raise ValueError(Code.TRUNCATED)
    pts = [row[0] for row in video.rows]
    ordered = sorted(pts)
    deltas = [b - a for a, b in pairwise(ordered) if b > a]
    last = video.rows[pts.index(ordered[-1])][1]
    end = ordered[-1] + (last or (deltas[-1] if deltas else 0))
    duration = (end - ordered[0]) * video.timebase
    frames = len(pts)
    info["frame_count"] = frames
    info["duration"] = round(duration, 3)
    info["fps"] = round(frames / duration, 3) if duration > 0 else 0.0
    if deltas:
        typical = sorted(deltas)[len(deltas) // 2]
        info["vfr"] = any(abs(d - typical) > 0.1 * typical for d in deltas)
    else:
        info["vfr"] = False
    if header_duration and duration < header_duration - max(0.5, 0.1 * header_duration):
        raise ValueError(Code.TRUNCATED)
    rotated = info["rotation"] in (90, 270)
    cw, ch = info.get("coded_width", 0), info.get("coded_height", 0)
    display_w = round(cw * info["sar"]) if info["sar"] != 1.0 else cw
    info["width"], info["height"] = (ch, display_w) if rotated else (display_w, ch)
    info["bit_depth"] = _bit_depth(info["pix_fmt"])
    return info


def parse_probe(stderr: str, packets: str) -> dict[str, Any]:
    """Pure: turn ffmpeg's header dump and a framecrc packet table (video only) into probe
    fields. Raises ``ValueError`` with a code-like reason (``no_video_stream``,
    ``truncated``) when the text shows a clip we cannot use.
    """
    header = parse_header(split_inputs(stderr).get(0, []))
    return probe_fields(header, parse_packets(packets).get(0))


def _hash_in_background(path: Path) -> Future[str]:
    """sha256 of ``path`` in a thread while ffmpeg demuxes it (hashlib releases the GIL)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
    future = pool.submit(sha256_file, path)
    pool.shutdown(wait=False)
    return future


def probe(path: Path) -> ProbeInfo:
    """Probe ``path`` (never modified); raise ``MediaError`` with a German message if unusable."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise MediaError(Code.MISSING_FILE, f"Die Datei „{name}“ wurde nicht gefunden.")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(
            Code.EMPTY_FILE,
            f"Die Datei „{name}“ ist leer (0 Byte). Bitte das Video erneut hochladen.",
        )
    args = ["-i", str(path), "-map", "0:v:0?", "-c", "copy", "-f", "framecrc", "-"]
    digest = _hash_in_background(path)
    try:
        result = run_ffmpeg(args, capture_stdout=True, timeout=600)
    except FfmpegFailed as exc:
        if "Stream #0" in exc.stderr and "Video:" not in exc.stderr:
            raise _no_video(name) from exc
        if "moov atom not found" in exc.stderr and "low score" not in exc.stderr:
            raise _truncated(name) from exc
        raise MediaError(
            Code.NOT_A_VIDEO,
            f"Die Datei „{name}“ ist kein lesbares Video (beschädigt, unvollständig oder ein "
            "anderes Format). Bitte die Originaldatei erneut exportieren und hochladen.",
            detail=exc.last_line,
        ) from exc
    try:
        fields = parse_probe(result.stderr, result.stdout)
    except ValueError as exc:
        if str(exc) == Code.NO_VIDEO_STREAM:
            raise _no_video(name) from exc
        raise _truncated(name) from exc
    if any(marker in result.stderr for marker in DAMAGE_MARKERS):
        raise _truncated(name)
    return ProbeInfo(path=str(path), size_bytes=size, sha256=digest.result(), **fields)


def _no_video(name: str) -> MediaError:
    return MediaError(
        Code.NO_VIDEO_STREAM,
        f"Die Datei „{name}“ enthält keine Videospur (nur Ton oder Daten). "
        "Bitte die Videodatei hochladen.",
    )


def _truncated(name: str) -> MediaError:
    return MediaError(
        Code.TRUNCATED,
        f"Die Datei „{name}“ ist unvollständig oder beschädigt (der Upload ist vermutlich "
        "abgebrochen). Bitte die Datei erneut hochladen.",
    )


def validate(
    info: ProbeInfo, profiles: Iterable[Profile], *, added_seconds: float = 0.0
) -> list[Problem]:
    """Check a probed clip against the target profiles; errors block, warnings inform.

    ``added_seconds`` is the length of intro/end cards that will be joined to the clip.
    """
    problems: list[Problem] = []
    name = Path(info.path).name
    total = info.duration + added_seconds
    profiles = list(profiles)
    platforms = {p.name: p for profile in profiles for p in profile.platforms}
    if info.hdr:
        problems.append(Problem(
            code=Code.HDR_CONVERTED, severity=Severity.WARNING,
            message_de=f"Das Video „{name}“ ist in HDR ({info.color_transfer}) aufgenommen. "
            "Es wird für die Plattformen in normale Farben (SDR) umgerechnet; Farben können "
            "leicht abweichen. Tipp: am Handy HDR-Aufnahme ausschalten.",
        ))
    if not info.has_audio:
        problems.append(Problem(
            code=Code.NO_AUDIO, severity=Severity.WARNING,
            message_de=f"Das Video „{name}“ hat keine Tonspur. Es wird Stille ergänzt, "
            "weil einige Plattformen Ton verlangen.",
        ))
    accepting = [n for n, lim in platforms.items() if lim.accepts_duration(total)]
    rejecting = sorted(set(platforms) - set(accepting))
    seconds = f"{total:.1f}".replace(".", ",")
    if platforms and not accepting:
        problems.append(Problem(
            code=Code.DURATION_UNSUPPORTED, severity=Severity.ERROR,
            message_de=f"Das Video „{name}“ ist {seconds} s lang; das nimmt keine der "
            f"Zielplattformen an ({_bounds(platforms.values())}). Bitte kürzen oder "
            "verlängern.",
        ))
    elif rejecting:
        problems.append(Problem(
            code=Code.DURATION_SOME_PLATFORMS, severity=Severity.WARNING,
            message_de=f"Das Video „{name}“ ist {seconds} s lang; "
            f"{', '.join(rejecting)} nimmt diese Länge nicht an "
            f"({_bounds(platforms[r] for r in rejecting)}).",
        ))
    small = sorted(n for n, lim in platforms.items()
                   if min(info.width, info.height) < min(lim.min_width, lim.min_height)
                   or info.width * info.height < lim.min_width * lim.min_height)
    if small:
        problems.append(Problem(
            code=Code.LOW_RESOLUTION, severity=Severity.WARNING,
            message_de=f"Das Video „{name}“ hat nur {info.width}×{info.height} Pixel; "
            f"für {', '.join(small)} wird es hochskaliert und wirkt unscharf.",
        ))
    for profile in profiles:
        estimate = (profile.maxrate_kbps + profile.audio_bitrate_kbps) * 125 * total
        over = [p.name for p in profile.platforms if estimate > p.max_bytes]
        if over:
            problems.append(Problem(
                code=Code.SIZE_MAY_EXCEED, severity=Severity.WARNING,
                message_de=f"Die Fassung „{profile.name}“ von „{name}“ könnte für "
                f"{', '.join(over)} zu groß werden; das wird nach dem Rendern geprüft.",
            ))
    return problems


def _bounds(limits: Iterable[Any]) -> str:
    return "; ".join(
        f"{lim.name}: {lim.min_seconds:g}–{lim.max_seconds:g} s" for lim in limits
    )

"""What a platform's processing checks in an uploaded Reel: read from the MP4's own boxes
(ISO/IEC 14496-12), with nothing of wtg's (a judge shares no code with the clients it judges).

Instagram Reels (PLATFORM-APIS 2.9, from the ``ig-user/media`` reference as quoted in Meta's
sample README): MP4/MOV, **no edit lists, moov atom at the front**, 23–60 fps, at most 1 920
pixels wide, **3 s – 15 min**. Facebook Reels (PLATFORM-APIS, simulator notes for Facebook):
at least 540×960, 24–60 fps, 3–90 s.

Only a file that is an ISO BMFF (first box ``ftyp``) is judged; the protocol tests send random
bytes of a given size, which say nothing about a video, and pass unjudged.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}


@dataclass
class Mp4Facts:
    top: list[str] = field(default_factory=list)  # top-level box types in file order
    duration: float | None = None
    edit_lists: int = 0
    width: int = 0
    height: int = 0
    fps: float | None = None


@dataclass(frozen=True)
class ReelRules:
    min_seconds: float
    max_seconds: float
    min_fps: float
    max_fps: float
    max_width: int | None = None
    min_width: int = 0
    min_height: int = 0
    moov_first: bool = False
    no_edit_lists: bool = False


INSTAGRAM_REEL = ReelRules(min_seconds=3.0, max_seconds=900.0, min_fps=23.0, max_fps=60.0,
                           max_width=1920, moov_first=True, no_edit_lists=True)
FACEBOOK_REEL = ReelRules(min_seconds=3.0, max_seconds=90.0, min_fps=24.0, max_fps=60.0,
                          min_width=540, min_height=960)


def _boxes(fh: BinaryIO, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload offset, payload size) of the boxes from the current position to ``end``."""
    out = []
    while fh.tell() + 8 <= end:
        start = fh.tell()
        size, kind = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
            header = 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            break
        out.append((kind, start + header, size - header))
        fh.seek(start + size)
    return out


def read_facts(path: Path) -> Mp4Facts | None:
    """The facts of an MP4, or None when the file is not an ISO BMFF at all."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        top = _boxes(fh, size)
        if not top or top[0][0] != b"ftyp":
            return None
        facts = Mp4Facts(top=[k.decode("latin-1") for k, _, _ in top])
        for kind, off, length in top:
            if kind == b"moov":
                _moov(fh, off, off + length, facts)
    return facts


def _moov(fh: BinaryIO, start: int, end: int, facts: Mp4Facts) -> None:
    fh.seek(start)
    for kind, off, length in _boxes(fh, end):
        if kind == b"mvhd":
            fh.seek(off)
            version = fh.read(1)[0]
            fh.seek(off + (20 if version == 1 else 12))
            if version == 1:
                scale, duration = struct.unpack(">IQ", fh.read(12))
            else:
                scale, duration = struct.unpack(">II", fh.read(8))
            facts.duration = duration / scale if scale else None
        elif kind == b"trak":
            _trak(fh, off, off + length, facts)


def _trak(fh: BinaryIO, start: int, end: int, facts: Mp4Facts) -> None:
    found: dict[bytes, tuple[int, int]] = {}
    stack = [(start, end)]
    while stack:
        s, e = stack.pop()
        fh.seek(s)
        for kind, off, length in _boxes(fh, e):
            found.setdefault(kind, (off, length))
            if kind in _CONTAINERS:
                stack.append((off, off + length))
    if b"elst" in found:
        fh.seek(found[b"elst"][0] + 4)
        facts.edit_lists += struct.unpack(">I", fh.read(4))[0]
    if b"hdlr" not in found:
        return
    fh.seek(found[b"hdlr"][0] + 8)
    if fh.read(4) != b"vide":
        return
    if b"tkhd" in found:
        off, length = found[b"tkhd"]
        fh.seek(off + length - 8)
        w, h = struct.unpack(">II", fh.read(8))
        facts.width, facts.height = w >> 16, h >> 16
    if b"mdhd" in found and b"stts" in found:
        off, _ = found[b"mdhd"]
        fh.seek(off)
        version = fh.read(1)[0]
        fh.seek(off + (20 if version == 1 else 12))
        scale = struct.unpack(">I", fh.read(4))[0]
        fh.seek(found[b"stts"][0] + 4)
        entries = struct.unpack(">I", fh.read(4))[0]
        samples = ticks = 0
        for _ in range(min(entries, 1_000_000)):
            count, delta = struct.unpack(">II", fh.read(8))
            samples += count
            ticks += count * delta
        if ticks and scale:
            facts.fps = samples * scale / ticks


def mp4_dimensions(path: Path) -> tuple[int, int] | None:
    """(width, height) of the video track of an MP4/MOV file, or None if unreadable."""
    try:
        facts = read_facts(path)
    except (OSError, struct.error, IndexError):
        return None
    if facts is None or not (facts.width and facts.height):
        return None
    return facts.width, facts.height


def reel_problem(path: Path, rules: ReelRules) -> str | None:
    """Why processing refuses this Reel (English, as the platform answers), or None."""
    try:
        facts = read_facts(path)
    except (OSError, struct.error, IndexError):
        return "The video file could not be read (it is damaged or incomplete)."
    if facts is None:
        return None
    if rules.moov_first and "mdat" in facts.top and "moov" in facts.top \
            and facts.top.index("moov") > facts.top.index("mdat"):
        return "The moov atom must be at the front of the file."
    if rules.no_edit_lists and facts.edit_lists:
        return "The video must not contain edit lists."
    if facts.duration is None or not rules.min_seconds <= facts.duration <= rules.max_seconds:
        return (f"The video duration ({facts.duration or 0:.2f} s) must be between "
                f"{rules.min_seconds:g} and {rules.max_seconds:g} seconds.")
    if facts.fps is not None and not rules.min_fps - 0.5 <= facts.fps <= rules.max_fps + 0.5:
        return (f"The frame rate ({facts.fps:.2f} fps) must be between {rules.min_fps:g} and "
                f"{rules.max_fps:g}.")
    if rules.max_width and facts.width > rules.max_width:
        return f"The video is {facts.width} pixels wide; at most {rules.max_width} are allowed."
    if facts.width < rules.min_width or facts.height < rules.min_height:
        return (f"The video is {facts.width}x{facts.height}; at least "
                f"{rules.min_width}x{rules.min_height} is required.")
    return None

"""The MP4 files themselves: no edit lists, moov before mdat (Instagram Reels asks for both),
and picture and sound still in sync without the edit list."""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from workers.media import prepare
from workers.media.profiles import Profile
from workers.media.run import ffmpeg_exe

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}


def boxes(data: bytes, start: int = 0, end: int | None = None, depth: int = 0) -> list[str]:
    """Every box type (nested ones indented by depth), a test-only walker independent of
    workers.media.verify."""
    end = len(data) if end is None else end
    found: list[str] = []
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[start + 8:start + 16])[0], 16
        elif size == 0:
            size = end - start
        assert size >= head, f"broken box at {start}"
        found.append("  " * depth + kind.decode("latin-1"))
        if kind in CONTAINERS:
            found += boxes(data, start + head, start + size, depth + 1)
        start += size
    return found


def test_no_edit_list_and_moov_first_in_every_profile(  # type: ignore[no-untyped-def]
    corpus: Callable[[str], Path], small_profiles: dict[str, Profile], tmp_path: Path
) -> None:
    """Every shipped profile (here at 1/6 size, same muxer settings), with intro/end cards,
    writes an MP4 whose moov box precedes mdat and that contains no elst box anywhere."""
    profiles = [replace(p, card_seconds=0.5) for p in small_profiles.values()]
    media = prepare(corpus("phone_mov"), None, profiles, tmp_path, title="Folge 2: Zapel",
                    branding=True, thumbnail_at=1.0)
    assert media.verified
    assert {r.profile for r in media.renditions} == set(small_profiles)
    for r in media.renditions:
        found = boxes(Path(r.path).read_bytes())
        top = [b for b in found if not b.startswith(" ")]
        assert top[0] == "ftyp" and top.index("moov") < top.index("mdat"), (r.profile, top)
        assert not [b for b in found if b.strip() in ("elst", "edts")], (r.profile, found)
        assert [b.strip() for b in found].count("trak") == 2


def _sync_source(path: Path) -> Path:
    """Black video with one white frame at 1.00 s and a click at 1.00 s in the sound."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
         "color=c=black:s=320x180:r=25:d=3,drawbox=c=white:t=fill:"
         "enable='between(t\\,1.0\\,1.039)'",
         "-f", "lavfi", "-i", "aevalsrc='if(between(t\\,1.0\\,1.002)\\,0.9\\,0)':s=48000:d=3",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", str(path)],
        check=True, timeout=60)
    return path


def _flash_and_click(path: Path) -> tuple[float, float]:
    info = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path), "-map", "0:v",
         "-vf", "signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG",
         "-f", "null", "-"], capture_output=True, text=True, timeout=60).stderr
    times = [float(t) for t in re.findall(r"pts_time:(\S+)", info)]
    levels = [float(v) for v in re.findall(r"lavfi\.signalstats\.YAVG=(\S+)", info)]
    assert len(times) == len(levels) > 0
    flash = next(t for t, y in zip(times, levels, strict=True) if y > 128)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a", "-ac", "1",
                          "-f", "f32le", "-"], capture_output=True, check=True, timeout=60).stdout
    sound = np.frombuffer(raw, np.float32)
    click = float(np.argmax(np.abs(sound) > 0.2)) / 48000
    return flash, click


def test_sound_stays_in_sync_without_edit_list(  # type: ignore[no-untyped-def]
    small_profiles: dict[str, Profile], tmp_path: Path
) -> None:
    """A click and a white frame at the same instant of the source are at the same instant of
    the rendition (within 2 ms) after the intro card: neither the B-frame delay nor the AAC
    priming shifts them, although no edit list corrects for them, and the card's sound is as
    long as its picture (0.5 s at 25 fps = 12.5 frames -> 13 frames = 0.52 s of both)."""
    source = _sync_source(tmp_path / "sync.mov")
    src_flash, src_click = _flash_and_click(source)
    assert abs(src_flash - 1.0) < 1e-3 and abs(src_click - 1.0) < 1e-3
    landscape = replace(small_profiles["landscape"], card_seconds=0.5)
    r = prepare(source, None, [landscape], tmp_path / "out", title="F", branding=True,
                thumbnail_at=0.5).renditions[0]
    assert r.verified
    flash, click = _flash_and_click(Path(r.path))
    assert abs(flash - 1.52) < 1e-3, flash
    assert abs(click - flash) < 0.002, (flash, click)

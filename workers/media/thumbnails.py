"""Thumbnails: pick a non-black, sharp frame (or take a given time) and write a JPEG per profile.

Frame scores come from a tiny branch of the transcode pass (``signalstats`` brightness and
``blurdetect`` blur at 2 frames/s, 160 px wide), so choosing costs no extra decode of the
source. The JPEG is cut from the finished rendition with a fast seek (one GOP is decoded).
"""

from __future__ import annotations

import re
from pathlib import Path

from workers.media.filters import drawtext_filter
from workers.media.problems import Code, MediaError
from workers.media.run import FfmpegFailed, run_ffmpeg

MIN_LUMA = 40.0  # YAVG below this (of 0–255, TV range starts at 16) counts as black
MAX_LUMA = 225.0  # above this: a white flash
QUALITY_STEPS = (2, 4, 7, 11, 16, 24)  # mjpeg -q:v, best first


def parse_scores(text: str) -> list[tuple[float, float, float]]:
    """Pure: ``metadata=print`` output -> [(time, mean luma, blur)] per scored frame."""
    frames: list[tuple[float, float, float]] = []
    time = None
    luma = blur = None
    for line in text.splitlines():
        if m := re.match(r"frame:\s*\d+\s+pts:\s*\S+\s+pts_time:\s*([\d.]+)", line):
            if time is not None and luma is not None:
                frames.append((time, luma, blur if blur is not None else 0.0))
            time, luma, blur = float(m[1]), None, None
        elif line.startswith("lavfi.signalstats.YAVG="):
            luma = float(line.split("=", 1)[1])
        elif line.startswith("lavfi.blur="):
            blur = float(line.split("=", 1)[1])
    if time is not None and luma is not None:
        frames.append((time, luma, blur if blur is not None else 0.0))
    return frames


def choose_time(scores: list[tuple[float, float, float]], duration: float) -> float:
    """The sharpest frame that is neither black nor white, away from the very start and end."""
    margin = min(1.0, duration * 0.1)
    usable = [s for s in scores if MIN_LUMA <= s[1] <= MAX_LUMA
              and margin <= s[0] <= duration - margin]
    if not usable:
        usable = [s for s in scores if MIN_LUMA <= s[1] <= MAX_LUMA]
    if not usable:
        return round(duration / 3, 3)
    return min(usable, key=lambda s: (s[2], abs(s[0] - duration / 3)))[0]


def write_thumbnail(
    rendition: Path,
    output: Path,
    *,
    at: float,
    width: int,
    height: int,
    max_bytes: int,
    title: str | None = None,
    font_file: Path | None = None,
) -> Path:
    """A JPEG of ``width`` x ``height`` at ``at`` seconds, under ``max_bytes`` (quality steps)."""
    vf = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"
    if title and font_file:
        # DejaVu Sans Bold averages ~0.62 em per character: keep the line inside 90 % width.
        fitting = int(width * 0.9 / (0.62 * max(1, len(title))))
        vf += "," + drawtext_filter(title, font_file, size=max(12, min(height // 14, fitting)))
    for quality in QUALITY_STEPS:
        args = [
            "-y", "-v", "error", "-ss", f"{max(0.0, at):.3f}", "-i", str(rendition),
            "-frames:v", "1", "-vf", vf, "-q:v", str(quality), "-update", "1",
            "-c:v", "mjpeg", "-f", "image2", str(output),
        ]
        try:
            run_ffmpeg(args, outputs=[output], timeout=120)
        except FfmpegFailed as exc:
            raise MediaError(
                Code.FFMPEG_FAILED,
                f"Das Vorschaubild für „{rendition.name}“ konnte nicht erstellt werden.",
                detail=exc.last_line,
            ) from exc
        if output.stat().st_size <= max_bytes:
            return output
    raise MediaError(
        Code.SIZE_EXCEEDED,
        f"Das Vorschaubild für „{rendition.name}“ bleibt über {max_bytes // 1_000_000} MB.",
    )

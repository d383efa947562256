"""Thumbnails: pick a non-black, sharp frame (or take a given time) and write a JPEG per profile.

Frame scores come from a tiny branch of the transcode pass (``signalstats`` brightness and
``blurdetect`` blur at 2 frames/s, 160 px wide), so choosing costs no extra decode of the
source. The JPEGs are cut from the finished renditions with a fast seek (one GOP decoded per
rendition), all renditions of a pass by one ffmpeg process (``write_thumbnails``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, kw_only=True)
class Thumbnail:
    """One JPEG to cut: from ``rendition`` at ``at`` seconds, ``width`` x ``height``, under
    ``max_bytes``, optionally with a title line."""

    rendition: Path
    output: Path
    at: float
    width: int
    height: int
    max_bytes: int
    title: str | None = None
    font_file: Path | None = None

    def filters(self) -> str:
        w, h = self.width, self.height
        vf = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
        if self.title and self.font_file:
            # DejaVu Sans Bold averages ~0.62 em per character: keep the line in 90 % width.
            fitting = int(w * 0.9 / (0.62 * max(1, len(self.title))))
            vf += "," + drawtext_filter(self.title, self.font_file,
                                        size=max(12, min(h // 14, fitting)))
        return vf

    def args(self, quality: int, index: int = 0) -> tuple[list[str], list[str]]:
        """(input args, output args) cutting this thumbnail from input ``index``."""
        return (["-ss", f"{max(0.0, self.at):.3f}", "-i", str(self.rendition)],
                ["-map", f"{index}:v:0", "-frames:v", "1", "-vf", self.filters(),
                 "-q:v", str(quality), "-update", "1", "-c:v", "mjpeg", "-f", "image2",
                 str(self.output)])


def write_thumbnails(jobs: Sequence[Thumbnail]) -> list[Path]:
    """Cut every thumbnail of a pass with one ffmpeg process (a fast seek per rendition: one
    GOP decoded each) at the best quality; a JPEG over its size limit is cut again at lower
    qualities on its own."""
    if not jobs:
        return []
    inputs: list[str] = []
    outputs: list[str] = []
    for k, job in enumerate(jobs):
        i, o = job.args(QUALITY_STEPS[0], k)
        inputs += i
        outputs += o
    try:
        run_ffmpeg(["-y", "-v", "error", *inputs, *outputs], outputs=[j.output for j in jobs],
                   timeout=120)
    except FfmpegFailed:  # one by one: the error names the rendition that fails
        return [_write_smaller(job, QUALITY_STEPS) for job in jobs]
    return [job.output if job.output.stat().st_size <= job.max_bytes
            else _write_smaller(job, QUALITY_STEPS[1:]) for job in jobs]


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
    job = Thumbnail(rendition=rendition, output=output, at=at, width=width, height=height,
                    max_bytes=max_bytes, title=title, font_file=font_file)
    return _write_smaller(job, QUALITY_STEPS)


def _write_smaller(job: Thumbnail, qualities: Sequence[int]) -> Path:
    for quality in qualities:
        i, o = job.args(quality)
        _run(["-y", "-v", "error", *i, *o], [job.output], job.rendition)
        if job.output.stat().st_size <= job.max_bytes:
            return job.output
    raise MediaError(
        Code.SIZE_EXCEEDED,
        f"Das Vorschaubild für „{job.rendition.name}“ bleibt über "
        f"{job.max_bytes // 1_000_000} MB.",
    )


def _run(args: list[str], outputs: list[Path], rendition: Path) -> None:
    try:
        run_ffmpeg(args, outputs=outputs, timeout=120)
    except FfmpegFailed as exc:
        raise MediaError(
            Code.FFMPEG_FAILED,
            f"Das Vorschaubild für „{rendition.name}“ konnte nicht erstellt werden.",
            detail=exc.last_line,
        ) from exc

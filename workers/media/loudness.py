"""EBU R128 loudness: the audio-only first pass of two-pass ``loudnorm``, and its parser.

The first pass decodes only the audio (``-vn``), so the one video decode of a source stays in
the transcode pass. The measured values are returned for storage and fed to the second pass
(``filters.loudnorm_filter``, linear mode).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workers.media.problems import Code, MediaError
from workers.media.run import FfmpegFailed, run_ffmpeg

SILENCE_LUFS = -60.0  # quieter than this is treated as silence: no gain is applied


@dataclass(frozen=True, kw_only=True)
class Loudness:
    """Measured loudness (first pass of loudnorm) of one audio stream."""

    input_i: float  # integrated loudness, LUFS
    input_tp: float  # true peak, dBTP
    input_lra: float  # loudness range, LU
    input_thresh: float
    target_offset: float
    target_i: float

    @property
    def silent(self) -> bool:
        return not math.isfinite(self.input_i) or self.input_i < SILENCE_LUFS

    def as_filter_values(self) -> dict[str, float] | None:
        """Values for the second pass, or None for silence (nothing to normalise)."""
        if self.silent or not all(math.isfinite(v) for v in asdict(self).values()):
            return None
        return asdict(self)

    def to_dict(self) -> dict[str, Any]:
        return {k: (v if math.isfinite(v) else None) for k, v in asdict(self).items()}


def parse_loudnorm(stderr: str, target_i: float) -> Loudness:
    """Pure: the JSON block printed by ``loudnorm=print_format=json``."""
    start = stderr.rfind("{")
    end = stderr.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no loudnorm JSON in ffmpeg output")
    data = json.loads(stderr[start:end + 1])
    return Loudness(
        input_i=float(data["input_i"]),
        input_tp=float(data["input_tp"]),
        input_lra=float(data["input_lra"]),
        input_thresh=float(data["input_thresh"]),
        target_offset=float(data["target_offset"]),
        target_i=target_i,
    )


def measure_loudness(
    path: Path, *, target_i: float = -14.0, true_peak: float = -1.0, lra: float = 11.0
) -> Loudness:
    """Decode only the first audio stream of ``path`` and measure it (EBU R128)."""
    args = [
        "-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
        "-af", f"loudnorm=I={target_i}:TP={true_peak}:LRA={lra}:print_format=json",
        "-f", "null", "-",
    ]
    try:
        result = run_ffmpeg(args, timeout=600)
        return parse_loudnorm(result.stderr, target_i)
    except (FfmpegFailed, ValueError, KeyError) as exc:
        raise MediaError(
            Code.FFMPEG_FAILED,
            f"Die Lautstärke von „{Path(path).name}“ konnte nicht gemessen werden. "
            "Bitte die Tonspur prüfen.",
            detail=str(exc),
        ) from exc

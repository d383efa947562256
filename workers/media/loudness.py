"""Loudness: one audio-only measurement pass, then a pure decision of gain and limiter.

Why not ``loudnorm``: in linear mode loudnorm may not raise the gain past the true-peak
ceiling, and in dynamic mode its gain tracking undershoots on speech with pauses. Ordinary
narration (about -20 LUFS with peaks at -0.4 dBTP) then lands near -16 LUFS, and the ±1 LU
check rejected the rendition on every retry (same bytes). Measured on the test corpus
(``bench/loudness.py``, ``bench/README.md``).

What we do instead:

1. ``measure_loudness`` decodes the audio once, converted to the output format (48 kHz stereo;
   a mono source is measured as the stereo it becomes), splits it and measures with ``ebur128``
   (EBU R128 / ITU-R BS.1770): the source itself (integrated loudness, true peak, LRA) and,
   in the same pass, the source after each of ``CANDIDATE_GAINS`` followed by the limiter.
   Those candidates give the curve "gain -> loudness after limiting", so the loss of loudness
   when a limiter flattens peaks (1.7 LU for narration, 3.9 LU for a clap in quiet speech) is
   measured, not guessed.
2. ``plan_gain`` (pure) chooses: if ``target - I`` fits under the limiter threshold, a plain
   gain (exact, nothing else changes); otherwise the gain where the measured curve crosses
   the target, followed by the limiter. Silence (below ``SILENCE_LUFS``) is left as it is;
   a very quiet track gets at most ``MAX_GAIN_DB`` (more would turn room noise into hiss)
   and a note for staff that it stays below the target.
3. The transcode pass applies ``volume`` + ``alimiter`` at 4x oversampling (its sample peaks
   are true peaks) ``LIMITER_HEADROOM_DB`` under the profile's ceiling, after a lowpass at the
   AAC encoder's cutoff (``filters.gain_filters``). The headroom covers the AAC encoder's
   overshoot on speech and music (≤ 1 dB with ``-aac_coder fast``); noise-like transients can
   overshoot more, which ``verify`` allows for (``TRUE_PEAK_MARGIN``).

A peak limiter without auto-level is scale-invariant (gain a before a limiter at c equals a
limiter at c - a, then gain a), so candidates measured for one ceiling are shifted exactly to
another (``Loudness.curve``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

from workers.media.problems import Code, MediaError
from workers.media.run import FfmpegFailed, run_ffmpeg

SILENCE_LUFS = -60.0  # quieter than this is silence or room tone: no gain is applied
MAX_GAIN_DB = 24.0  # at most this much amplification (speech down to -38 LUFS reaches -14)
CANDIDATE_GAINS = (3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0, 24.0)  # dB, measured with the limiter
SHORTFALL_NOTE_LU = 0.5  # staff are told when the output stays this much under the target
LIMITER_HEADROOM_DB = 1.0  # limiter threshold under the profile's true-peak ceiling
OVERSAMPLE_RATE = 192000  # the limiter runs at 4x 48 kHz: its sample peaks are true peaks


@dataclass(frozen=True, kw_only=True)
class Loudness:
    """One measurement: the source (as it will be encoded) and the limiter curve."""

    input_i: float  # integrated loudness, LUFS (-70 = digital silence)
    input_tp: float  # true peak, dBTP (-inf for digital silence)
    input_lra: float  # loudness range, LU
    input_thresh: float  # relative gate, LUFS
    limit_db: float | None = None  # limiter threshold the candidates were measured with
    limited: tuple[tuple[float, float], ...] = ()  # (gain dB, LUFS after gain + limiter)

    @property
    def silent(self) -> bool:
        return not math.isfinite(self.input_i) or self.input_i < SILENCE_LUFS

    def curve(self, limit_db: float) -> list[tuple[float, float]]:
        """(gain, loudness after gain + limiter at ``limit_db``), rising gains, non-decreasing
        loudness. Gains up to ``limit_db - input_tp`` do not touch the limiter: exact."""
        free = limit_db - self.input_tp
        points = [(free, self.input_i + free)] if math.isfinite(free) else []
        if self.limit_db is not None:
            shift = limit_db - self.limit_db
            points += [(g + shift, lufs + shift) for g, lufs in self.limited if g + shift > free]
        points.sort()
        out: list[tuple[float, float]] = []
        for g, lufs in points:  # a limiter never makes louder gains quieter (0.1 LU rounding)
            out.append((g, max(lufs, out[-1][1]) if out else lufs))
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("input_i", "input_tp", "input_lra", "input_thresh"):
            data[key] = data[key] if math.isfinite(data[key]) else None
        data["limited"] = [list(p) for p in self.limited]
        return data


class GainReason(StrEnum):
    GAIN = "gain"  # a plain gain reaches the target; the limiter is not needed
    LIMITED = "limited"  # gain + limiter reach the target (measured curve)
    TOO_QUIET = "too_quiet"  # MAX_GAIN_DB is not enough: stays below the target (note)
    SILENT = "silent"  # silence or room tone: left as it is (note)


@dataclass(frozen=True, kw_only=True)
class GainPlan:
    """What the transcode does to the audio and what the rendition must then measure."""

    gain_db: float
    limit_db: float | None  # limiter threshold (dBTP); None: no limiter
    expected_i: float | None  # integrated loudness the output must have; None: silence
    target_i: float
    ceiling_tp: float
    reason: GainReason

    def note_de(self, name: str) -> str | None:
        """The staff-visible warning when the target is not reached, else None."""
        if self.reason is GainReason.SILENT:
            return (f"Die Tonspur von „{name}“ ist stumm oder enthält nur Raumrauschen; sie wird "
                    "nicht verstärkt.")
        if self.reason is GainReason.TOO_QUIET and self.expected_i is not None:
            return (f"Die Tonspur von „{name}“ ist sehr leise. Sie wird um höchstens "
                    f"{MAX_GAIN_DB:g} dB verstärkt und erreicht {de(self.expected_i)} statt "
                    f"{de(self.target_i, 0)} LUFS, damit Rauschen nicht mitverstärkt wird. Für "
                    "volle Lautstärke bitte eine lautere Aufnahme hochladen.")
        return None


def de(value: float, digits: int = 1) -> str:
    """A number the German way (comma, real minus sign)."""
    return f"{value:.{digits}f}".replace(".", ",").replace("-", "−")


def limiter_threshold(ceiling_tp: float) -> float:
    return ceiling_tp - LIMITER_HEADROOM_DB


def plan_gain(measured: Loudness, *, target_i: float, ceiling_tp: float) -> GainPlan:
    """Pure: the gain (and whether the limiter runs) that brings ``measured`` to ``target_i``."""
    base = {"target_i": target_i, "ceiling_tp": ceiling_tp}
    if measured.silent:
        return GainPlan(gain_db=0.0, limit_db=None, expected_i=None, reason=GainReason.SILENT,
                        **base)
    limit = limiter_threshold(ceiling_tp)
    want = target_i - measured.input_i
    gain = min(want, MAX_GAIN_DB)
    if gain <= limit - measured.input_tp:  # peaks stay under the limiter: a plain gain
        expected = round(measured.input_i + gain, 2)
        return GainPlan(gain_db=round(gain, 2), limit_db=None, expected_i=expected,
                        reason=_short(expected, target_i, GainReason.GAIN), **base)
    curve = [(g, lufs) for g, lufs in measured.curve(limit) if g <= MAX_GAIN_DB + 1e-9]
    if len(curve) < 2:  # no candidates measured: gain + limiter, loudness loss unknown
        expected = round(measured.input_i + gain, 2)
        return GainPlan(gain_db=round(gain, 2), limit_db=limit, expected_i=expected,
                        reason=_short(expected, target_i, GainReason.LIMITED), **base)
    for (g0, l0), (g1, l1) in pairwise(curve):
        if l0 <= target_i <= l1:
            at = g0 if l1 == l0 else g0 + (g1 - g0) * (target_i - l0) / (l1 - l0)
            return GainPlan(gain_db=round(at, 2), limit_db=limit, expected_i=target_i,
                            reason=GainReason.LIMITED, **base)
    top_gain, top_lufs = curve[-1]  # even the largest allowed gain stays under the target
    return GainPlan(gain_db=round(top_gain, 2), limit_db=limit, expected_i=round(top_lufs, 2),
                    reason=_short(top_lufs, target_i, GainReason.LIMITED), **base)


def _short(expected: float, target: float, reached: GainReason) -> GainReason:
    """TOO_QUIET (staff get a note) only when the output stays noticeably under the target."""
    return GainReason.TOO_QUIET if expected < target - SHORTFALL_NOTE_LU else reached


def limiter_chain(limit_db: float, *, oversample: int | None = OVERSAMPLE_RATE) -> str:
    """``alimiter`` at ``limit_db`` without auto-level, delay compensated (keeps A/V sync)."""
    lim = f"alimiter=limit={10 ** (limit_db / 20):.5f}:level=false:latency=true"
    return f"aresample={oversample},{lim}" if oversample else lim


_SUMMARY = re.compile(r"\[ebur128@(\w+) @ [^\]]+\] Summary:(.*?)(?=\[ebur128@|\Z)", re.S)
_FIELDS = {
    "i": re.compile(r"Integrated loudness:\s*I:\s*(\S+) LUFS\s*Threshold:\s*(\S+) LUFS"),
    "lra": re.compile(r"Loudness range:\s*LRA:\s*(\S+) LU"),
    "tp": re.compile(r"True peak:\s*Peak:\s*(\S+) dBFS"),
}


def parse_ebur128(stderr: str) -> dict[str, dict[str, float]]:
    """Pure: the summaries of ``ebur128@<name>`` instances -> {name: {i, thresh, lra, tp}}."""
    found: dict[str, dict[str, float]] = {}
    for name, block in _SUMMARY.findall(stderr):
        values: dict[str, float] = {}
        if m := _FIELDS["i"].search(block):
            values["i"], values["thresh"] = float(m.group(1)), float(m.group(2))
        if m := _FIELDS["lra"].search(block):
            values["lra"] = float(m.group(1))
        if m := _FIELDS["tp"].search(block):
            values["tp"] = float(m.group(1))
        found[name] = values
    return found


def loudness_of(
    summary: dict[str, float], *, limit_db: float | None = None,
    limited: tuple[tuple[float, float], ...] = (),
) -> Loudness:
    """One ``parse_ebur128`` summary (measured with ``peak=true``) as a ``Loudness``;
    KeyError if a value is missing."""
    return Loudness(input_i=summary["i"], input_tp=summary["tp"], input_lra=summary["lra"],
                    input_thresh=summary["thresh"], limit_db=limit_db, limited=limited)


def measurement_graph(audio_format: str, limit_db: float | None) -> str:
    """The measuring graph: the source, and (with ``limit_db``) each candidate gain + limiter.
    Candidates run at 48 kHz: 2.7x cheaper than oversampled, same loudness to 0.1 LU."""
    gains = CANDIDATE_GAINS if limit_db is not None else ()
    head = f"[0:a:0]{audio_format}" if audio_format else "[0:a:0]anull"
    if not gains:
        return f"{head},ebur128@src=peak=true:framelog=verbose[out]"
    labels = [f"c{i}" for i in range(len(gains))]
    chains = [f"{head},asplit={len(gains) + 1}[src]" + "".join(f"[{x}]" for x in labels),
              "[src]ebur128@src=peak=true:framelog=verbose[out]"]
    for label, gain in zip(labels, gains, strict=True):
        assert limit_db is not None
        chains.append(f"[{label}]volume={gain:g}dB,{limiter_chain(limit_db, oversample=None)},"
                      f"ebur128@g{gain:g}=framelog=verbose,anullsink")
    return ";".join(chains)


def measure_loudness(
    path: Path, *, audio_format: str = "", limit_db: float | None = None
) -> Loudness:
    """Decode only the first audio stream of ``path`` and measure it (EBU R128).

    ``audio_format`` (a filter chain such as ``filters.audio_format(profile)``) converts first,
    so the values describe what the encoder gets; ``limit_db`` adds the limiter candidates.
    """
    args = ["-nostats", "-i", str(path), "-vn", "-sn", "-dn",
            "-filter_complex", measurement_graph(audio_format, limit_db),
            "-map", "[out]", "-f", "null", "-"]
    try:
        result = run_ffmpeg(args, timeout=600)
        found = parse_ebur128(result.stderr)
        limited = tuple((g, found[f"g{g:g}"]["i"]) for g in CANDIDATE_GAINS
                        if f"g{g:g}" in found) if limit_db is not None else ()
        return loudness_of(found["src"], limit_db=limit_db, limited=limited)
    except (FfmpegFailed, ValueError, KeyError) as exc:
        raise MediaError(
            Code.FFMPEG_FAILED,
            f"Die Lautstärke von „{Path(path).name}“ konnte nicht gemessen werden. "
            "Bitte die Tonspur prüfen.",
            detail=str(exc),
        ) from exc

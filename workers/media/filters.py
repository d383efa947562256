"""Filter-graph pieces (pure) and the one escaping helper for values inside filter graphs.

ffmpeg parses a filter graph twice: each filter's option string (``key=value:key=value``, where
``\\``, ``'`` and ``:`` are special) and then the graph (``[]``, ``,``, ``;``, ``'`` and ``\\``
are special). ``escape_value`` escapes for both levels, so paths and staff-written text (titles
with colons, apostrophes, commas, umlauts) reach the filter unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workers.media.loudness import GainPlan, limiter_chain
from workers.media.profiles import FitMode, FitOptions, Profile

ASPECT_TOLERANCE = 0.01  # within 1 %: scale, do not crop or pad
AAC_PRIMING_SAMPLES = 1024  # ffmpeg's AAC encoder delay (initial_padding), one frame
BLUR_DOWNSCALE = 8  # the blurred background is computed at 1/8 size (cheap), then scaled up


# HLG/PQ (phones record HDR by default) -> SDR BT.709: linearise, map primaries, Hable curve.
TONEMAP_TO_SDR = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,"
    "zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)


def escape_value(value: str | Path) -> str:
    """Escape one option value for use inside a ``-filter_complex`` graph."""
    text = str(value)
    for char in ("\\", "'", ":"):  # level 1: the filter's own option parser
        text = text.replace(char, "\\" + char)
    for char in ("\\", "'", "[", "]", ",", ";"):  # level 2: the graph parser
        text = text.replace(char, "\\" + char)
    return text


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


@dataclass(frozen=True)
class CropBox:
    w: int
    h: int
    x: int
    y: int


def crop_box(src_w: int, src_h: int, aspect: float, fx: float, fy: float) -> CropBox:
    """The largest box of ``aspect`` inside the source, centred on the focal point (clamped)."""
    if src_w / src_h > aspect:
        h = src_h - src_h % 2
        w = min(src_w - src_w % 2, _even(h * aspect))
    else:
        w = src_w - src_w % 2
        h = min(src_h - src_h % 2, _even(w / aspect))
    x = min(max(0, round(fx * src_w - w / 2)), src_w - w)
    y = min(max(0, round(fy * src_h - h / 2)), src_h - h)
    return CropBox(w, h, x, y)


def same_shape(src_w: int, src_h: int, profile: Profile) -> bool:
    """True when the source only needs scaling (no crop or pad) to fill the profile's frame."""
    return abs((src_w / src_h) / profile.aspect - 1) <= ASPECT_TOLERANCE


def fit_filters(
    src_w: int, src_h: int, profile: Profile, fit: FitOptions, inp: str, out: str
) -> list[str]:
    """Chains that turn the (rotated, square-pixel) source ``[inp]`` into the profile frame."""
    w, h = profile.width, profile.height
    if same_shape(src_w, src_h, profile):
        return [f"[{inp}]scale={w}:{h},setsar=1[{out}]"]
    if fit.mode is FitMode.CROP:
        box = crop_box(src_w, src_h, profile.aspect, fit.focal_x, fit.focal_y)
        return [f"[{inp}]crop={box.w}:{box.h}:{box.x}:{box.y},scale={w}:{h},setsar=1[{out}]"]
    # PAD: the whole picture over a blurred, zoomed copy of itself.
    scale = min(w / src_w, h / src_h)
    fg_w, fg_h = min(w, _even(src_w * scale)), min(h, _even(src_h * scale))
    box = crop_box(src_w, src_h, profile.aspect, 0.5, 0.5)
    bw, bh = _even(w / BLUR_DOWNSCALE), _even(h / BLUR_DOWNSCALE)
    radius = max(2, min(bw, bh) // 8)
    return [
        f"[{inp}]split=2[{out}_bg0][{out}_fg0]",
        f"[{out}_bg0]crop={box.w}:{box.h}:{box.x}:{box.y},scale={bw}:{bh},"
        f"boxblur={radius}:2,scale={w}:{h},setsar=1[{out}_bg]",
        f"[{out}_fg0]scale={fg_w}:{fg_h},setsar=1[{out}_fg]",
        # 8-bit 4:2:0 blend (overlay's default): "format=auto" negotiated a costlier pixel
        # format and cost 11 % more filter CPU for the same 4:2:0 output (bench/README.md).
        f"[{out}_bg][{out}_fg]overlay=({w}-{fg_w})/2:({h}-{fg_h})/2[{out}]",
    ]


def subtitles_filter(ass_path: Path, fonts_dir: Path) -> str:
    """libass burn-in of a prepared ASS file with the bundled fonts only."""
    return f"subtitles=filename={escape_value(ass_path)}:fontsdir={escape_value(fonts_dir)}"


def drawtext_filter(text: str, font_file: Path, *, size: int, y: str = "h-th-h/12") -> str:
    """A centred title line in a translucent box (no ``%`` expansion: text is literal)."""
    return (
        f"drawtext=fontfile={escape_value(font_file)}:text={escape_value(text)}:expansion=none:"
        f"fontsize={size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw={max(4, size // 3)}:"
        f"x=(w-tw)/2:y={y}"
    )


def aac_cutoff(profile: Profile) -> int:
    """The lowpass (Hz) ffmpeg's AAC encoder applies at the profile's bitrate (libavcodec
    ``AAC_CUTOFF_FROM_BITRATE``): 16 kHz at 128 kbps stereo."""
    per_channel = profile.audio_bitrate_kbps * 1000 // profile.audio_channels
    return min(max(per_channel // 5, per_channel * 15 // 32 - 5500), 3000 + per_channel // 4,
               12000 + per_channel // 16, 22000, profile.audio_rate // 2)


def gain_filters(plan: GainPlan | None, profile: Profile) -> list[str]:
    """Audio steps after ``audio_format``: the planned gain, then (if needed) the limiter at 4x
    oversampling and back to the profile's format. Nothing for silence or no plan.

    Before the limiter the sound is low-passed (4th order) at the encoder's own cutoff: the
    encoder then removes almost nothing from the limited peaks, which halves its true-peak
    overshoot on transients (a full-scale clap: +2.7 dB -> +1.2 dB, bench/README.md)."""
    if plan is None or (plan.gain_db == 0 and plan.limit_db is None):
        return []
    steps = [f"volume={plan.gain_db:g}dB"]
    if plan.limit_db is not None:
        cutoff = aac_cutoff(profile)
        steps += [f"lowpass=f={cutoff}:poles=2,lowpass=f={cutoff}:poles=2",
                  limiter_chain(plan.limit_db), audio_format(profile)]
    return steps


def trim_encoder_delay(samples: int = AAC_PRIMING_SAMPLES) -> str:
    """Drop the encoder's priming length from the start of the audio: without an MP4 edit
    list players play the priming samples, so the audio would lag the picture by 21 ms."""
    return f"atrim=start_sample={samples},asetpts=N/SR/TB"


def audio_format(profile: Profile) -> str:
    layout = "stereo" if profile.audio_channels == 2 else "mono"
    return (
        f"aresample={profile.audio_rate},"
        f"aformat=sample_fmts=fltp:sample_rates={profile.audio_rate}:channel_layouts={layout}"
    )


def card_fades(seconds: float, fade: float = 0.3) -> str:
    """Fade a branding card in from and out to black."""
    fade = min(fade, seconds / 4)
    return f"fade=t=in:st=0:d={fade},fade=t=out:st={seconds - fade:g}:d={fade}"

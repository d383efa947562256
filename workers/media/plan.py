"""Pure planner: probe + profiles + options -> one ffmpeg argv that makes every rendition.

The source is decoded once: its video goes through ``split`` into one branch per rendition
(fit, burned subtitles, pixel format, optional intro/end cards joined by ``concat``), its audio
through the planned gain (+ limiter, ``loudness.plan_gain``) and ``asplit``. Each branch has its
own encoder and output. Tests compare argv and graph text from tables; nothing here starts a
process.

MP4 without edit lists (Instagram asks for none, and for the moov atom first): x264's B-frames
are stored with negative composition offsets (``ctts`` version 1) instead of an edit list that
delays the video, and the AAC encoder's priming samples are cut from the audio before encoding
instead of an edit list that skips them; picture and sound stay in sync to the sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from workers.media.filters import (
    TONEMAP_TO_SDR,
    audio_format,
    card_fades,
    escape_value,
    fit_filters,
    gain_filters,
    subtitles_filter,
    trim_encoder_delay,
)
from workers.media.loudness import GainPlan, Loudness, plan_gain
from workers.media.probe import ProbeInfo
from workers.media.profiles import FitOptions, Profile


@dataclass(frozen=True, kw_only=True)
class RenditionJob:
    """One output of the pass: a profile, its file, and what to add to it."""

    profile: Profile
    output: Path
    ass_path: Path | None = None  # burned subtitles (ASS sized for this profile)
    intro: Path | None = None  # card stills (PNG), drawn at the profile's size
    outro: Path | None = None
    card_seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TranscodePlan:
    args: tuple[str, ...]
    filtergraph: str
    outputs: tuple[Path, ...]
    expected_seconds: float
    gains: tuple[GainPlan | None, ...] = ()  # per output; None: no audio in the source


def encoder_args(profile: Profile, rate: Fraction | None = None) -> list[str]:
    """H.264 High yuv420p CFR + AAC, capped bitrate, moov atom first (+faststart), no edit
    list (``-use_editlist 0``; B-frames via negative composition offsets). AAC ``fast`` coder:
    the default two-loop coder overshot true peaks by up to 4.5 dB at 128 kbps on limited
    speech and music, and had lower SNR (bench/README.md, loudness)."""
    return [
        "-c:v", "libx264", "-preset", profile.preset, "-crf", str(profile.crf),
        "-maxrate", f"{profile.maxrate_kbps}k", "-bufsize", f"{2 * profile.maxrate_kbps}k",
        "-profile:v", profile.h264_profile, "-pix_fmt", profile.pix_fmt,
        "-g", str(profile.gop_frames(rate)), "-fps_mode", "cfr",
        "-c:a", "aac", "-aac_coder", "fast", "-b:a", f"{profile.audio_bitrate_kbps}k",
        "-ar", str(profile.audio_rate), "-ac", str(profile.audio_channels),
        "-map_metadata", "-1", "-map_chapters", "-1",  # no phone GPS/location in public files
        "-movflags", "+faststart+negative_cts_offsets", "-use_editlist", "0", "-f", "mp4",
    ]


def card_length(seconds: float, rate: Fraction, audio_rate: int) -> tuple[int, int]:
    """A card's length in whole frames and the same length in samples: the card's sound must
    last exactly as long as its picture, or everything after it is out of sync (1.5 s at
    25 fps would be 38 frames = 1.52 s of picture against 1.50 s of sound)."""
    frames = max(1, math.floor(seconds * rate + Fraction(1, 2)))
    return frames, round(frames / rate * audio_rate)


def plan_transcode(
    info: ProbeInfo,
    jobs: Sequence[RenditionJob],
    *,
    fit: FitOptions,
    loudness: Loudness | None,
    fonts_dir: Path,
    analysis_file: Path | None = None,
) -> TranscodePlan:
    """Build the single-pass argv. ``analysis_file`` adds a tiny branch scoring frames
    (brightness, blur) for the automatic thumbnail choice."""
    if not jobs:
        raise ValueError("no renditions to plan")
    duration = info.duration
    chains: list[str] = []
    inputs: list[str] = ["-i", info.path]
    n_inputs = 1

    # Video trunk: square pixels, common frame rate, one split.
    rates = [job.profile.output_rate(info.fps, info.vfr) for job in jobs]
    fps_values = set(rates)
    trunk = "[0:v:0]"
    steps = []
    if abs(info.sar - 1.0) > 1e-3:
        steps.append("scale=trunc(iw*sar/2)*2:ih,setsar=1")
    if info.hdr:
        steps.append(TONEMAP_TO_SDR)
    if len(fps_values) == 1:
        steps.append(f"fps={next(iter(fps_values))}")
    branches = len(jobs) + (1 if analysis_file else 0)
    labels = "".join(f"[v{i}]" for i in range(len(jobs)))
    if analysis_file:
        labels += "[vscore]"
    steps.append(f"split={branches}" if branches > 1 else "null")
    chains.append(trunk + ",".join(steps) + labels)
    if analysis_file:
        chains.append(
            "[vscore]fps=2,scale=160:-2,signalstats,blurdetect,"
            f"metadata=mode=print:file={escape_value(analysis_file)},nullsink"
        )

    # Audio trunk: one gain (+ limiter) per distinct target, then one branch per rendition.
    audio_labels, gains = _audio_chains(info, jobs, loudness, chains)

    args: list[str] = []
    for i, job in enumerate(jobs):
        p = job.profile
        chains.extend(fit_filters(info.width, info.height, p, fit, f"v{i}", f"f{i}"))
        rate = rates[i]
        post = [] if len(fps_values) == 1 else [f"fps={rate}"]
        if job.ass_path is not None:
            post.append(subtitles_filter(job.ass_path, fonts_dir))
        post.append(f"format={p.pix_fmt}")
        has_cards = job.intro is not None and job.outro is not None
        main_v, main_a = (f"m{i}", audio_labels[i]) if has_cards else (f"vout{i}", None)
        chains.append(f"[f{i}]" + ",".join(post) + f"[{main_v}]")
        if has_cards:
            card_labels = []
            frames, samples = card_length(job.card_seconds, rate, p.audio_rate)
            for kind, path in (("ci", job.intro), ("co", job.outro)):
                inputs += ["-i", str(path)]
                chains.append(
                    f"[{n_inputs}:v:0]fps={rate},tpad=stop_mode=clone:stop_duration={job.card_seconds},"
                    f"trim=end_frame={frames},scale={p.width}:{p.height},setsar=1,"
                    f"{card_fades(float(frames / rate))},format={p.pix_fmt}[{kind}{i}]"
                )
                chains.append(
                    f"anullsrc=r={p.audio_rate}:cl=stereo,atrim=end_sample={samples},"
                    f"{audio_format(p)}[{kind}a{i}]"
                )
                card_labels.append((f"{kind}{i}", f"{kind}a{i}"))
                n_inputs += 1
            (iv, ia), (ov, oa) = card_labels
            chains.append(
                f"[{iv}][{ia}][{main_v}][{main_a}][{ov}][{oa}]"
                f"concat=n=3:v=1:a=1[vout{i}][aout{i}]"
            )
            audio_out = f"aout{i}"
        else:
            audio_out = audio_labels[i]
        chains.append(f"[{audio_out}]{trim_encoder_delay()}[aenc{i}]")
        args += ["-map", f"[vout{i}]", "-map", f"[aenc{i}]", *encoder_args(p, rate),
                 str(job.output)]

    graph = ";\n".join(chains)
    card_total = max((2 * float(card_length(j.card_seconds, r, j.profile.audio_rate)[0] / r)
                      for j, r in zip(jobs, rates, strict=True) if j.intro and j.outro),
                     default=0.0)
    argv = ["-y", "-v", "error", *inputs, "-filter_complex", graph, *args]
    return TranscodePlan(
        args=tuple(argv),
        filtergraph=graph,
        outputs=tuple(job.output for job in jobs),
        expected_seconds=duration + card_total,
        gains=gains,
    )


def _audio_chains(
    info: ProbeInfo, jobs: Sequence[RenditionJob], loudness: Loudness | None, chains: list[str]
) -> tuple[list[str], tuple[GainPlan | None, ...]]:
    """Append audio chains; return the label carrying each job's main audio and its gain."""
    duration = info.duration
    labels: list[str] = []
    if not info.has_audio:
        for i, job in enumerate(jobs):  # silence where platforms expect an audio track
            chains.append(
                f"anullsrc=r={job.profile.audio_rate}:cl=stereo,atrim=end={duration},"
                f"{audio_format(job.profile)}[a{i}]"
            )
            labels.append(f"a{i}")
        return labels, tuple(None for _ in jobs)
    groups: dict[tuple[float, float, int, int], list[int]] = {}
    for i, job in enumerate(jobs):
        p = job.profile
        key = (p.loudness_lufs, p.true_peak_db, p.audio_rate, p.audio_channels)
        groups.setdefault(key, []).append(i)
    sources = ["0:a:0"]
    if len(groups) > 1:
        sources = [f"asrc{g}" for g in range(len(groups))]
        chains.append("[0:a:0]asplit=" + str(len(groups)) + "".join(f"[{s}]" for s in sources))
    labels = [""] * len(jobs)
    gains: list[GainPlan | None] = [None] * len(jobs)
    for members, src in zip(groups.values(), sources, strict=True):
        profile = jobs[members[0]].profile
        gain = plan_gain(loudness, target_i=profile.loudness_lufs,
                         ceiling_tp=profile.true_peak_db) if loudness else None
        steps = [audio_format(profile), *gain_filters(gain, profile),
                 "apad", f"atrim=end={duration}", "asetpts=N/SR/TB"]
        outs = [f"a{i}" for i in members]
        split = f",asplit={len(outs)}" if len(outs) > 1 else ""
        chains.append(f"[{src}]" + ",".join(steps) + split + "".join(f"[{o}]" for o in outs))
        for i in members:
            labels[i] = f"a{i}"
            gains[i] = gain
    return labels, tuple(gains)

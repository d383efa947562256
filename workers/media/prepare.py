"""``prepare``: one source clip (+ subtitles) -> one verified rendition per profile.

Steps: probe and validate (nothing is written if the clip is unusable), read and normalise the
subtitles, look up each profile's cache key (same key: reuse the verified file, no second
transcode), measure loudness (audio only, with the limiter candidates of ``loudness``), draw
branding cards, run the single transcode pass, verify all outputs against their planned gain
(one ffmpeg process) while another cuts all thumbnails, write a JSON manifest next to each
rendition. ``PreparedMedia.stages`` records each step's wall and CPU seconds. A source that
cannot reach the loudness target (silence, a very quiet recording) gets a staff-visible warning,
not a rejection.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from episodes.subtitles import (
    AssStyle,
    SubtitleError,
    SubtitleTrack,
    load_subtitles,
    to_ass,
    to_srt,
    to_webvtt,
)
from workers.media.cards import FONT_BOLD, FONTS_DIR, render_cards
from workers.media.filters import audio_format, same_shape
from workers.media.loudness import GainReason, Loudness, limiter_threshold, measure_loudness
from workers.media.plan import RenditionJob, plan_transcode
from workers.media.probe import ProbeInfo, probe, sha256_file, validate
from workers.media.problems import Code, MediaError, Problem, Severity, missing_subtitles
from workers.media.profiles import FitOptions, Profile
from workers.media.run import FfmpegFailed, ProgressCallback, run_ffmpeg
from workers.media.thumbnails import Thumbnail, choose_time, parse_scores, write_thumbnails
from workers.media.verify import Expected, verify_renditions

PIPELINE_VERSION = "5"  # bump whenever output bytes can change for the same inputs


@dataclass(frozen=True, kw_only=True)
class Rendition:
    """One finished file for one profile (paths are absolute strings)."""

    profile: str
    path: str
    sha256: str
    size_bytes: int
    width: int
    height: int
    duration: float
    captions: str
    loudness_lufs: float | None
    true_peak_db: float | None
    thumbnail: str | None
    srt: str | None
    vtt: str | None
    verified: bool
    cache_key: str
    cached: bool = False
    problems: tuple[Problem, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["problems"] = [p.to_dict() for p in self.problems]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rendition:
        problems = tuple(Problem(**p) for p in data.get("problems", []))
        return cls(**{**data, "problems": problems})


class Stages:
    """Wall and CPU seconds per step of ``prepare`` (CPU: this process and its finished
    ffmpeg children), for the benchmark and the logs."""

    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = {}

    @staticmethod
    def _cpu() -> float:
        me, kids = (resource.getrusage(resource.RUSAGE_SELF),
                    resource.getrusage(resource.RUSAGE_CHILDREN))
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        wall, cpu = time.monotonic(), self._cpu()
        try:
            yield
        finally:
            entry = self.seconds.setdefault(name, {"wall": 0.0, "cpu": 0.0})
            entry["wall"] = round(entry["wall"] + time.monotonic() - wall, 3)
            entry["cpu"] = round(entry["cpu"] + self._cpu() - cpu, 3)


@dataclass(frozen=True, kw_only=True)
class PreparedMedia:
    source: ProbeInfo
    source_loudness: Loudness | None
    subtitles_sha256: str | None
    renditions: tuple[Rendition, ...]
    problems: tuple[Problem, ...]
    seconds: float
    stages: dict[str, dict[str, float]] = field(default_factory=dict)  # Stages.seconds

    @property
    def verified(self) -> bool:
        return all(r.verified for r in self.renditions)

    def rendition(self, profile: str) -> Rendition:
        return next(r for r in self.renditions if r.profile == profile)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "source_loudness": self.source_loudness.to_dict() if self.source_loudness else None,
            "subtitles_sha256": self.subtitles_sha256,
            "renditions": [r.to_dict() for r in self.renditions],
            "problems": [p.to_dict() for p in self.problems],
            "seconds": self.seconds,
            "stages": self.stages,
            "verified": self.verified,
        }


def cache_key(
    source_sha: str, subtitles_sha: str | None, profile: Profile, options: dict[str, Any]
) -> str:
    """Content address of a rendition: same inputs, same settings, same pipeline -> same key."""
    payload = {
        "pipeline": PIPELINE_VERSION,
        "source": source_sha,
        "subtitles": subtitles_sha,
        "profile": profile.to_dict(),
        "options": options,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _write_text(path: Path, text: str) -> Path:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
    return path


def _load_cached(manifest: Path) -> Rendition | None:
    try:
        rendition = Rendition.from_dict(json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    path = Path(rendition.path)
    if not rendition.verified or not path.is_file():
        return None
    if path.stat().st_size != rendition.size_bytes or sha256_file(path) != rendition.sha256:
        return None
    for extra in (rendition.thumbnail, rendition.srt, rendition.vtt):
        if extra and not Path(extra).is_file():
            return None
    return Rendition.from_dict({**rendition.to_dict(), "cached": True})


def prepare(
    source: Path,
    subtitles: Path | None,
    profiles: Sequence[Profile],
    out_dir: Path,
    *,
    title: str,
    fit: FitOptions = FitOptions(),
    branding: bool = True,
    progress: ProgressCallback | None = None,
    thumbnail_at: float | None = None,
    thumbnail_title: bool = False,
) -> PreparedMedia:
    """Make (or reuse) one verified rendition per profile; raise ``MediaError`` if impossible.

    ``thumbnail_at`` is seconds into the episode (None: choose a sharp, non-black frame).
    The source and subtitle files are only read.
    """
    started = time.monotonic()
    stages = Stages()
    profiles = list(profiles)
    if not profiles:
        raise ValueError("prepare() needs at least one profile")
    out_dir = Path(out_dir)
    with stages.timed("probe"):
        info = probe(Path(source))
    card_seconds = max(p.card_seconds for p in profiles) if branding else 0.0
    problems = validate(info, profiles, added_seconds=2 * card_seconds)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise MediaError(errors[0].code, " ".join(p.message_de for p in errors))

    track: SubtitleTrack | None = None
    if subtitles is not None:
        try:
            track = load_subtitles(Path(subtitles), duration=info.duration)
        except SubtitleError as exc:
            raise MediaError(exc.code, exc.message_de) from exc
        problems += [Problem(code=Code.SUBTITLES, severity=Severity.WARNING, message_de=n)
                     for n in track.notes]
    else:
        problems.append(missing_subtitles(Path(source).name))

    options = {"branding": branding,
               "title": title if (branding or thumbnail_title) else "",
               "thumbnail_at": thumbnail_at, "thumbnail_title": thumbnail_title,
               "card_seconds": card_seconds}
    sub_sha = track.sha256 if track else None
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = {
        p.name: cache_key(info.sha256, sub_sha, p, {
            **options,
            "fit": None if same_shape(info.width, info.height, p) else fit.to_dict(),
        })
        for p in profiles
    }
    stem = {p.name: f"{p.name}-{keys[p.name][:16]}" for p in profiles}
    done: dict[str, Rendition] = {}
    for p in profiles:
        cached = _load_cached(out_dir / f"{stem[p.name]}.json")
        if cached is not None:
            done[p.name] = cached
    todo = [p for p in profiles if p.name not in done]

    source_loudness = None
    if todo and info.has_audio:
        first = todo[0]
        with stages.timed("loudness"):
            source_loudness = measure_loudness(
                Path(info.path), audio_format=audio_format(first),
                limit_db=limiter_threshold(first.true_peak_db),
            )
    if todo:
        work = out_dir / f".work-{uuid.uuid4().hex[:12]}"
        work.mkdir()
        try:
            done.update(_render(info, track, todo, out_dir, work, stem, keys, fit=fit,
                                title=title, card_seconds=card_seconds,
                                loudness=source_loudness, progress=progress,
                                thumbnail_at=thumbnail_at, thumbnail_title=thumbnail_title,
                                stages=stages))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    elif progress is not None:
        progress(100.0, 0.0)
    for p in profiles:  # loudness notes live in each rendition's manifest: cache hits keep them
        problems += [x for x in done[p.name].problems
                     if x.code in (Code.LOUDNESS, Code.NO_AUDIO) and x not in problems]
    return PreparedMedia(
        source=info,
        source_loudness=source_loudness,
        subtitles_sha256=sub_sha,
        renditions=tuple(done[p.name] for p in profiles),
        problems=tuple(problems),
        seconds=round(time.monotonic() - started, 3),
        stages=stages.seconds,
    )


def _render(
    info: ProbeInfo, track: SubtitleTrack | None, todo: list[Profile], out_dir: Path,
    work: Path, stem: dict[str, str], keys: dict[str, str], *, fit: FitOptions, title: str,
    card_seconds: float, loudness: Loudness | None, progress: ProgressCallback | None,
    thumbnail_at: float | None, thumbnail_title: bool, stages: Stages,
) -> dict[str, Rendition]:
    jobs: list[RenditionJob] = []
    sidecars: dict[str, tuple[Path | None, Path | None]] = {}
    for p in todo:
        ass = None
        if track is not None and p.burned:
            ass = _write_text(work / f"{p.name}.ass", to_ass(track, AssStyle(
                width=p.width, height=p.height,
                margin_bottom=round(p.height * p.subtitle_safe_bottom),
                margin_left=round(p.width * p.subtitle_safe_left),
                margin_right=round(p.width * p.subtitle_safe_right),
            )))
        srt = vtt = None
        if track is not None and not p.burned:
            srt = _write_text(out_dir / f"{stem[p.name]}.de.srt",
                              to_srt(track, offset=card_seconds))
            vtt = _write_text(out_dir / f"{stem[p.name]}.de.vtt",
                              to_webvtt(track, offset=card_seconds))
        sidecars[p.name] = (srt, vtt)
        intro = outro = None
        if card_seconds:
            with stages.timed("cards"):
                cards = render_cards(title, p.width, p.height, p.fps, card_seconds,
                                     out_dir / "cards")
            intro, outro = cards.intro, cards.outro
        jobs.append(RenditionJob(profile=p, output=out_dir / f"{stem[p.name]}.mp4", ass_path=ass,
                                 intro=intro, outro=outro, card_seconds=card_seconds))
    scores = work / "scores.txt" if thumbnail_at is None else None
    plan = plan_transcode(info, jobs, fit=fit, loudness=loudness, fonts_dir=FONTS_DIR,
                          analysis_file=scores)

    def scaled(percent: float, eta: float | None) -> None:
        if progress is not None:
            progress(min(95.0, percent * 0.95), eta)

    try:
        with stages.timed("transcode"):
            run_ffmpeg(plan.args, outputs=plan.outputs, expected_seconds=plan.expected_seconds,
                       progress=scaled if progress else None,
                       timeout=max(600.0, 20 * plan.expected_seconds))
    except FfmpegFailed as exc:
        raise MediaError(
            Code.FFMPEG_FAILED,
            f"Die Aufbereitung von „{Path(info.path).name}“ ist fehlgeschlagen. Die "
            "Originaldatei ist unverändert; bitte die Datei prüfen oder die Technik informieren.",
            detail=exc.last_line,
        ) from exc

    at = thumbnail_at
    if at is None:
        text = scores.read_text(encoding="utf-8", errors="replace") if scores.exists() else ""
        at = choose_time(parse_scores(text), info.duration)
    at = max(0.0, min(at, info.duration - 0.2)) + card_seconds  # a frame that exists
    cuts = [Thumbnail(rendition=job.output, output=out_dir / f"{stem[job.profile.name]}.jpg",
                      at=at, width=job.profile.thumbnail_width,
                      height=job.profile.thumbnail_height,
                      max_bytes=job.profile.thumbnail_max_bytes,
                      title=title if thumbnail_title else None, font_file=FONT_BOLD)
            for job in jobs]
    with stages.timed("verify+thumbnails"), ThreadPoolExecutor(1) as pool:
        cutting = pool.submit(write_thumbnails, cuts)  # its own ffmpeg, beside verification
        checks = verify_renditions([
            Expected(path=job.output, profile=job.profile, duration=plan.expected_seconds,
                     fps=float(job.profile.output_rate(info.fps, info.vfr)), gain=gain)
            for job, gain in zip(jobs, plan.gains, strict=True)
        ])
        thumbs = cutting.result()
    results: dict[str, Rendition] = {}
    for job, gain, check, thumb in zip(jobs, plan.gains, checks, thumbs, strict=True):
        p = job.profile
        srt, vtt = sidecars[p.name]
        note = gain.note_de(Path(info.path).name) if gain is not None else None
        notes = () if note is None else (Problem(
            code=Code.NO_AUDIO if gain.reason is GainReason.SILENT else Code.LOUDNESS,
            severity=Severity.WARNING, message_de=note),)
        rendition = Rendition(
            profile=p.name, path=str(job.output.resolve()), sha256=check.info.sha256,
            size_bytes=check.info.size_bytes, width=check.info.width, height=check.info.height,
            duration=check.info.duration, captions=str(p.captions),
            loudness_lufs=check.loudness.input_i if check.loudness else None,
            true_peak_db=check.loudness.input_tp if check.loudness else None,
            thumbnail=str(thumb.resolve()), srt=str(srt.resolve()) if srt else None,
            vtt=str(vtt.resolve()) if vtt else None, verified=check.ok,
            cache_key=keys[p.name], problems=notes + check.problems,
        )
        if rendition.verified:
            _write_text(out_dir / f"{stem[p.name]}.json",
                        json.dumps(rendition.to_dict(), ensure_ascii=False, indent=2))
        results[p.name] = rendition
    if progress is not None:
        progress(100.0, 0.0)
    return results

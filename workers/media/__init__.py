"""Media pipeline: one master clip + subtitles -> one verified rendition per platform profile.

Pure library (paths and values in, frozen dataclasses out; no database, no Celery)::

    profiles = load_profiles()                       # config/media.toml
    info = probe(path)                               # raises MediaError (German message)
    problems = validate(info, profiles.values())     # queue-time checks, list[Problem]
    check = preflight(path, srt, profiles.values())  # both + subtitles, never raises
    media = prepare(path, srt, profiles.values(), out_dir, title="Folge 3: Matzlow",
                    fit=FitOptions(mode="crop", focal_x=0.4), branding=True,
                    progress=lambda percent, eta: ...)
    media.to_dict()                                  # JSON for storage
"""

from workers.media.loudness import Loudness, measure_loudness
from workers.media.preflight import Preflight, preflight
from workers.media.prepare import PIPELINE_VERSION, PreparedMedia, Rendition, cache_key, prepare
from workers.media.probe import ProbeInfo, probe, validate
from workers.media.problems import Code, MediaError, Problem, Severity
from workers.media.profiles import (
    CaptionsMode,
    FitMode,
    FitOptions,
    PlatformLimits,
    Profile,
    load_profiles,
)
from workers.media.run import FfmpegFailed, ffmpeg_exe, run_ffmpeg

__all__ = [
    "PIPELINE_VERSION",
    "CaptionsMode",
    "Code",
    "FfmpegFailed",
    "FitMode",
    "FitOptions",
    "Loudness",
    "MediaError",
    "PlatformLimits",
    "Preflight",
    "PreparedMedia",
    "ProbeInfo",
    "Problem",
    "Profile",
    "Rendition",
    "Severity",
    "cache_key",
    "ffmpeg_exe",
    "load_profiles",
    "measure_loudness",
    "preflight",
    "prepare",
    "probe",
    "run_ffmpeg",
    "validate",
]

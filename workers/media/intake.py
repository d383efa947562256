"""Queue-time checks of a source clip and its subtitle file: the one set of rules behind the
dashboard upload (``dashboard.uploads``) and ``wtg season load`` (``SeasonMediaCheck``, handed
to ``episodes.season.parse_season`` by the composition root).

Video: zero bytes, truncated, not a video, no video stream (``probe``), then the profiles'
limits (``validate``). Subtitles: ``episodes.subtitle_check.check_subtitles`` against the
probed duration. Nothing here raises for bad input or modifies a file; errors refuse, warnings
and the subtitle normalising notes are told to staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from episodes.season import MediaFindings
from episodes.subtitle_check import SubtitleCheck, check_subtitle_file
from workers.media.probe import ProbeInfo, probe, validate
from workers.media.problems import MediaError, Problem
from workers.media.profiles import Profile, card_seconds_added


@dataclass(frozen=True, kw_only=True)
class VideoCheck:
    """The probe (None when unreadable) and every finding, errors first."""

    info: ProbeInfo | None
    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> list[str]:
        return [p.message_de for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[str]:
        return [p.message_de for p in self.problems if not p.is_error]


def check_video(path: Path, profiles: Iterable[Profile], *, branding: bool = False) -> VideoCheck:
    """Probe and validate a source clip; never raises for a bad file. With ``branding`` the
    duration limits apply to the clip with its intro and end card, as it will be posted."""
    profiles = list(profiles)
    try:
        info = probe(Path(path))
    except MediaError as exc:
        return VideoCheck(info=None, problems=(exc.to_problem(),))
    added = card_seconds_added(profiles, branding=branding)
    return VideoCheck(info=info, problems=tuple(validate(info, profiles, added_seconds=added)))


class SeasonMediaCheck:
    """``episodes.season.MediaCheck`` for ``wtg season load``: the upload's checks on the files
    a season file names."""

    def __init__(self, profiles: Iterable[Profile], *, branding: bool = False) -> None:
        self.profiles = list(profiles)
        self.branding = branding

    def __call__(self, video: Path | None, subtitles: Path | None) -> MediaFindings:
        errors: dict[str, list[str]] = {}
        notes: dict[str, list[str]] = {}
        duration = None
        if video is not None:
            checked = check_video(video, self.profiles, branding=self.branding)
            duration = checked.info.duration if checked.info else None
            errors["video"], notes["video"] = checked.errors, checked.warnings
        if subtitles is not None:
            sub: SubtitleCheck = check_subtitle_file(subtitles, duration=duration)
            errors["subtitles"] = [e.message_de for e in sub.errors]
            notes["subtitles"] = list(sub.notes)
        return MediaFindings(errors={k: v for k, v in errors.items() if v},
                             notes={k: v for k, v in notes.items() if v})

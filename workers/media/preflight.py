"""Queue-time check of an episode's media: everything ``prepare`` would refuse, as data.

``preflight`` never raises for bad input and never writes: it returns the probe (when the clip
is readable) and a list of problems, so staff see every issue at once when they queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from episodes.subtitles import SubtitleError, load_subtitles
from workers.media.probe import ProbeInfo, probe, validate
from workers.media.problems import Code, MediaError, Problem, Severity, missing_subtitles
from workers.media.profiles import Profile, card_seconds_added


@dataclass(frozen=True, kw_only=True)
class Preflight:
    probe: ProbeInfo | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when nothing blocks ``prepare`` (warnings may remain)."""
        return not any(p.is_error for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "probe": self.probe.to_dict() if self.probe else None,
            "problems": [p.to_dict() for p in self.problems],
        }


def preflight(
    source: Path, subtitles: Path | None, profiles: Sequence[Profile], *, branding: bool = True
) -> Preflight:
    """Probe and validate the clip and read the subtitles; collect problems, raise nothing."""
    problems: list[Problem] = []
    info: ProbeInfo | None = None
    try:
        info = probe(Path(source))
    except MediaError as exc:
        problems.append(exc.to_problem())
    if info is not None:
        problems += validate(info, profiles,
                             added_seconds=card_seconds_added(profiles, branding=branding))
    if subtitles is None:
        problems.append(missing_subtitles(Path(source).name))
    else:
        try:
            track = load_subtitles(Path(subtitles), duration=info.duration if info else None)
            problems += [Problem(code=Code.SUBTITLES, severity=Severity.WARNING, message_de=n)
                         for n in track.notes]
        except SubtitleError as exc:
            problems.append(Problem(code=exc.code, severity=Severity.ERROR,
                                    message_de=exc.message_de))
    return Preflight(probe=info, problems=tuple(problems))

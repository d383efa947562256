"""Problems found in a source clip or a rendition, with plain German messages for staff.

A ``Problem`` is data (returned in a list by ``validate`` and ``verify``); a ``MediaError`` is
raised when the pipeline cannot go on. Both carry a stable ``code`` (see ``Code``) and a German
sentence naming the file and what to do. The stored source is never modified by this package.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    MISSING_FILE = "missing_file"
    EMPTY_FILE = "empty_file"
    NOT_A_VIDEO = "not_a_video"
    TRUNCATED = "truncated"
    NO_VIDEO_STREAM = "no_video_stream"
    NO_AUDIO = "no_audio"
    HDR_CONVERTED = "hdr_converted"
    DURATION_UNSUPPORTED = "duration_unsupported"
    DURATION_SOME_PLATFORMS = "duration_some_platforms"
    LOW_RESOLUTION = "low_resolution"
    SIZE_MAY_EXCEED = "size_may_exceed"
    SUBTITLES = "subtitles"  # warnings: no subtitles, or what normalising changed
    SUBTITLES_EMPTY = "subtitles_empty"
    SUBTITLES_UNREADABLE = "subtitles_unreadable"
    SUBTITLES_OUTSIDE_VIDEO = "subtitles_outside_video"
    SUBTITLES_MISSING = "subtitles_missing"
    FFMPEG_FAILED = "ffmpeg_failed"
    VERIFY_FAILED = "verify_failed"
    LOUDNESS = "loudness"  # warnings: the target loudness is not reached (and why)
    SIZE_EXCEEDED = "size_exceeded"
    PROFILE_CONFIG = "profile_config"


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One finding: a stable code, error or warning, and a German sentence for staff."""

    code: str
    severity: Severity
    message_de: str

    def __post_init__(self) -> None:
        if not self.message_de:
            raise ValueError("a Problem needs a German message")
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def missing_subtitles(name: str) -> Problem:
    """The BITV 2.0 reminder when an episode has no subtitle file."""
    return Problem(
        code=Code.SUBTITLES, severity=Severity.WARNING,
        message_de=f"Zu „{name}“ gibt es keine Untertitel. Vorab aufgezeichnete Videos müssen "
        "nach BITV 2.0 untertitelt sein.",
    )


class MediaError(Exception):
    """The media pipeline cannot continue; ``message_de`` tells staff what to do.

    ``detail`` keeps the technical reason (e.g. ffmpeg's last stderr line) for logs.
    """

    def __init__(self, code: str, message_de: str, *, detail: str = "") -> None:
        self.code = str(code)
        self.message_de = message_de
        self.detail = detail
        super().__init__(f"{self.code}: {message_de}" + (f" ({detail})" if detail else ""))

    def to_problem(self) -> Problem:
        return Problem(code=self.code, severity=Severity.ERROR, message_de=self.message_de)

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message_de": self.message_de, "detail": self.detail}

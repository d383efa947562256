"""Queue-time sanity checks for a subtitle file, shared by the dashboard upload and
``wtg season load`` (pure: bytes and the video's duration in, a verdict out).

``check_subtitles`` parses, refuses what cannot belong to the video (``track_problems``) and
normalises the rest, keeping the notes of what normalising changed for staff.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from .subtitles import SubtitleError, SubtitleTrack, normalise, parse_subtitles, stamp

# Sanity limits for a subtitle file, checked at queue time (``check_subtitles``). A spoken-word
# episode has 10-25 cues a minute; one cue a second on average is far beyond any real track.
# Above these the file does not belong to the video (or is broken), and the cue editor, the
# burn-in filter and the platforms' caption upload would all choke on it.
MAX_CUES_PER_MINUTE = 60  # of video, on average
MIN_CUE_ALLOWANCE = 30  # a 5-second trailer may still have a few cues
MAX_CUES = 3000  # absolute cap (about two hours of dense dialogue)
MAX_CUE_CHARS = 500  # one cue's text; longer is split by normalising, this long is an error
OVERLAP_TOLERANCE = 0.5  # seconds; smaller overlaps (rounding in subtitle tools) are trimmed
END_TOLERANCE = 0.5  # seconds; a cue starting this far after the video's end is refused


@dataclass(frozen=True, kw_only=True)
class SubtitleCheck:
    """The queue-time verdict on a subtitle file: the normalised track (None when refused), the
    errors that refuse it, and what normalising changed (``notes``, German, for staff)."""

    track: SubtitleTrack | None
    errors: tuple[SubtitleError, ...] = ()

    @property
    def ok(self) -> bool:
        return self.track is not None and not self.errors

    @property
    def notes(self) -> tuple[str, ...]:
        return self.track.notes if self.track is not None else ()


def cue_allowance(duration: float | None) -> int:
    """How many cues a video of ``duration`` seconds may have (no duration: the absolute cap)."""
    if duration is None:
        return MAX_CUES
    return min(MAX_CUES, max(MIN_CUE_ALLOWANCE, math.ceil(duration / 60 * MAX_CUES_PER_MINUTE)))


def track_problems(track: SubtitleTrack, *, duration: float | None) -> list[SubtitleError]:
    """Everything that refuses a parsed (not yet normalised) track, as German errors.

    Checked: the text decoded cleanly; at most ``cue_allowance(duration)`` cues and
    ``MAX_CUE_CHARS`` characters per cue; cues in time order (SRT and WebVTT: ASS lists events
    in any order); no cue overlapping the next by more than ``OVERLAP_TOLERANCE``; no cue starting
    after the video's end. Smaller slips are left to ``normalise``, which notes what it changed.
    """
    name, cues = track.name, track.cues
    out: list[SubtitleError] = []
    if any("\ufffd" in c.text for c in cues) or track.encoding not in _CLEAN_ENCODINGS:
        out.append(SubtitleError(
            "subtitles_encoding",
            f"Die Untertiteldatei „{name}“ hat eine unbekannte Zeichenkodierung "
            f"({track.encoding}); Umlaute und ß würden verfälscht. Bitte als UTF-8 speichern.",
        ))
    if len(cues) > cue_allowance(duration):
        out.append(_too_many(name, len(cues), duration))
    long = [(i, c) for i, c in enumerate(cues, 1) if len(c.text) > MAX_CUE_CHARS]
    if long:
        i, c = long[0]
        out.append(SubtitleError(
            "subtitles_cue_too_long",
            f"Die Untertiteldatei „{name}“ enthält {len(long)} Untertitel mit mehr als "
            f"{MAX_CUE_CHARS} Zeichen (zuerst Nr. {i} ab {stamp(c.start)}, "
            f"{len(c.text)} Zeichen). So viel Text kann niemand mitlesen; bitte aufteilen.",
        ))
    if track.source_format != "ass":
        back = [i for i in range(1, len(cues)) if cues[i].start < cues[i - 1].start - 1e-3]
        if back:
            i = back[0]
            more = f" ({len(back)} Stellen)" if len(back) > 1 else ""
            out.append(SubtitleError(
                "subtitles_out_of_order",
                f"Die Untertiteldatei „{name}“ ist nicht zeitlich sortiert{more}: Nr. {i + 1} "
                f"beginnt um {stamp(cues[i].start)}, vor Nr. {i} "
                f"({stamp(cues[i - 1].start)}). Bitte im Untertitelprogramm nach Zeit "
                "sortieren und neu speichern.",
            ))
    order = sorted(range(len(cues)), key=lambda k: cues[k].start)
    overlaps = []
    for a, b in itertools.pairwise(order):
        first, second = cues[a], cues[b]
        if second.start - first.start < 1e-3:
            continue  # starting together: shown together (normalise merges them)
        if min(first.end, second.end) - second.start > OVERLAP_TOLERANCE:
            overlaps.append((a, b))
    if overlaps:
        a, b = overlaps[0]
        out.append(SubtitleError(
            "subtitles_overlap",
            f"In der Untertiteldatei „{name}“ überlappen sich {len(overlaps)} Untertitel um "
            f"mehr als {_seconds_de(OVERLAP_TOLERANCE)} s (zuerst Nr. {a + 1}, "
            f"{stamp(cues[a].start)} – {stamp(cues[a].end)}, mit Nr. {b + 1} ab "
            f"{stamp(cues[b].start)}). Bitte die Zeiten korrigieren; kleinere "
            "Überlappungen kürzt wtg selbst.",
        ))
    if duration is not None:
        late = [i for i, c in enumerate(cues, 1) if c.start >= duration + END_TOLERANCE]
        if late and len(late) == len(cues):
            out.append(SubtitleError(
                "subtitles_outside_video",
                f"Alle Untertitel in „{name}“ liegen nach dem Videoende "
                f"({_seconds_de(duration)} s). Passt die Datei zu diesem Video?",
            ))
        elif late:
            out.append(SubtitleError(
                "subtitles_after_end",
                f"Die Untertiteldatei „{name}“ enthält {len(late)} Untertitel, die erst nach "
                f"dem Videoende ({_seconds_de(duration)} s) beginnen (zuerst Nr. {late[0]} ab "
                f"{stamp(cues[late[0] - 1].start)}). Passt die Datei zu diesem Video?",
            ))
    return out


def check_subtitles(data: bytes, *, name: str, duration: float | None) -> SubtitleCheck:
    """Parse, sanity-check (``track_problems``) and normalise subtitle bytes; never raises for
    bad input. The one check behind the dashboard upload and ``wtg season load``."""
    # parsing takes ~80 µs a cue: a file with far too many is refused before it is parsed
    timings = data.count(b"-->") + data.count(b"\nDialogue:")
    if timings > cue_allowance(duration):
        return SubtitleCheck(track=None, errors=(_too_many(name, timings, duration),))
    try:
        track = parse_subtitles(data, name=name)
    except SubtitleError as exc:
        return SubtitleCheck(track=None, errors=(exc,))
    problems = track_problems(track, duration=duration)
    if problems:
        return SubtitleCheck(track=None, errors=tuple(problems))
    try:
        return SubtitleCheck(track=normalise(track, duration=duration))
    except SubtitleError as exc:
        return SubtitleCheck(track=None, errors=(exc,))


def check_subtitle_file(path: Path, *, duration: float | None) -> SubtitleCheck:
    """``check_subtitles`` on a file's bytes (the file itself is never modified)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError:
        return SubtitleCheck(track=None, errors=(SubtitleError(
            "subtitles_missing",
            f"Die Untertiteldatei „{path.name}“ konnte nicht gelesen werden.",
        ),))
    return check_subtitles(data, name=path.name, duration=duration)


def _too_many(name: str, count: int, duration: float | None) -> SubtitleError:
    allowed = cue_allowance(duration)
    limit = (f"für ein Video von {_seconds_de(duration)} s sind höchstens {allowed} erlaubt "
             f"(im Schnitt einer je Sekunde, insgesamt höchstens {MAX_CUES})"
             if duration is not None else f"höchstens {MAX_CUES} sind erlaubt")
    return SubtitleError(
        "subtitles_too_many",
        f"Die Untertiteldatei „{name}“ enthält {count} Untertitel; {limit}. "
        "Passt die Datei zu diesem Video?",
    )


_CLEAN_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")


def _seconds_de(seconds: float | None) -> str:
    return f"{seconds or 0:.1f}".replace(".", ",")

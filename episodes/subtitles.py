"""Subtitle tracks: parse SRT/WebVTT/ASS bytes, normalise, and write SRT, WebVTT and ASS.

Pure apart from ``load_subtitles`` reading a file's bytes. German public bodies must caption
prerecorded video (BITV 2.0), so everything here keeps umlauts and ß intact: the encoding is
detected (UTF-8 with or without BOM, UTF-16 with BOM, cp1252/Latin-1) before parsing.

Normalising (``normalise``) sorts cues, merges cues that start together, ends a cue where the
next one starts, clips to the video duration and wraps text to at most two lines of ~42
characters, splitting a long cue into consecutive cues with time shared by text length.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import charset_normalizer
import pysubs2
from pysubs2.formats import SubripFormat

MAX_LINE = 42
MAX_LINES = 2
MIN_CUE_SECONDS = 0.05


class SubtitleError(Exception):
    """A subtitle file cannot be used; ``message_de`` tells staff what to fix."""

    def __init__(self, code: str, message_de: str) -> None:
        self.code = code
        self.message_de = message_de
        super().__init__(f"{code}: {message_de}")


@dataclass(frozen=True, kw_only=True)
class Cue:
    start: float  # seconds
    end: float
    text: str  # plain text, lines separated by "\n"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"cue ends before it starts: {self.start} > {self.end}")


@dataclass(frozen=True, kw_only=True)
class SubtitleTrack:
    cues: tuple[Cue, ...]
    encoding: str = "utf-8"
    source_format: str = "srt"
    name: str = ""
    notes: tuple[str, ...] = field(default=())  # what normalising changed (German, for staff)

    @property
    def sha256(self) -> str:
        """Content hash of the normalised cues (independent of the file's encoding/format)."""
        return hashlib.sha256(to_srt(self).encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in self.cues],
            "encoding": self.encoding,
            "source_format": self.source_format,
            "name": self.name,
            "notes": list(self.notes),
        }


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Return (text, encoding). German text in cp1252/Latin-1 keeps its umlauts and ß."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:  # the usual legacy encoding of German Windows tools; Latin-1 is a subset for text
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        return str(best), best.encoding
    return data.decode("latin-1"), "latin-1"


def _format_of(text: str, filename: str | None) -> str:
    head = text.lstrip()[:200]
    if head.startswith("WEBVTT"):
        return "vtt"
    if "[Script Info]" in head or "[V4+ Styles]" in head or "[V4 Styles]" in head:
        return "ass"
    suffix = Path(filename or "").suffix.lower().lstrip(".")
    return {"vtt": "vtt", "ass": "ass", "ssa": "ass"}.get(suffix, "srt")


def parse_subtitles(data: bytes, *, name: str = "Untertitel") -> SubtitleTrack:
    """Parse SRT, WebVTT or ASS bytes into a track of plain-text cues (not yet normalised)."""
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise SubtitleError(
            "subtitles_empty",
            f"Die Untertiteldatei „{name}“ ist leer. Bitte eine SRT-, WebVTT- oder ASS-Datei "
            "mit Text hochladen.",
        )
    text, encoding = decode_bytes(data)
    fmt = _format_of(text, name)
    try:
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    except Exception as exc:  # pysubs2 raises several types for malformed input
        raise SubtitleError(
            "subtitles_unreadable",
            f"Die Untertiteldatei „{name}“ konnte nicht gelesen werden ({type(exc).__name__}). "
            "Bitte als SRT, WebVTT oder ASS speichern.",
        ) from exc
    cues = []
    for event in subs:
        if event.is_comment:
            continue
        body = "\n".join(ln.strip() for ln in event.plaintext.splitlines() if ln.strip())
        if body:
            cues.append(Cue(start=event.start / 1000, end=max(event.start, event.end) / 1000,
                            text=body))
    if not cues:
        raise SubtitleError(
            "subtitles_empty",
            f"Die Untertiteldatei „{name}“ enthält keine lesbaren Untertitel. Bitte Datei und "
            "Format (SRT, WebVTT oder ASS) prüfen.",
        )
    return SubtitleTrack(cues=tuple(cues), encoding=encoding, source_format=fmt, name=name)


def wrap_text(text: str, width: int = MAX_LINE) -> list[str]:
    """Wrap to lines of at most ``width`` characters (a single longer word stays whole)."""
    words = " ".join(text.split())
    return textwrap.wrap(words, width=width, break_long_words=False, break_on_hyphens=False)


def normalise(
    track: SubtitleTrack, *, duration: float | None, width: int = MAX_LINE,
    max_lines: int = MAX_LINES,
) -> SubtitleTrack:
    """Sort, de-overlap, clip to ``duration`` and wrap; raise if nothing is left."""
    notes: list[str] = []
    cues = sorted(track.cues, key=lambda c: c.start)  # stable: same start keeps file order
    if list(cues) != list(track.cues):
        notes.append("Untertitel waren nicht zeitlich sortiert und wurden sortiert.")
    merged: list[Cue] = []
    for cue in cues:  # cues starting at the same moment are shown together
        if merged and abs(merged[-1].start - cue.start) < 1e-3:
            last = merged.pop()
            cue = Cue(start=last.start, end=max(last.end, cue.end),
                      text=f"{last.text}\n{cue.text}")
        merged.append(cue)
    fixed: list[Cue] = []
    overlaps = 0
    for i, cue in enumerate(merged):
        end = cue.end
        if i + 1 < len(merged) and end > merged[i + 1].start:
            end = merged[i + 1].start
            overlaps += 1
        fixed.append(replace(cue, end=end))
    if overlaps:
        notes.append(f"{overlaps} überlappende Untertitel wurden gekürzt.")
    if duration is not None:
        kept = [replace(c, end=min(c.end, duration)) for c in fixed if c.start < duration]
        if len(kept) < len(fixed) or any(c.end > duration for c in fixed):
            notes.append("Untertitel nach dem Videoende wurden entfernt oder gekürzt.")
        if not kept:
            raise SubtitleError(
                "subtitles_outside_video",
                f"Alle Untertitel in „{track.name}“ liegen nach dem Videoende "
                f"({duration:.1f} s). Passt die Datei zu diesem Video?".replace(".", ",", 1),
            )
        fixed = kept
    out: list[Cue] = []
    for cue in fixed:
        if cue.end - cue.start < MIN_CUE_SECONDS:
            continue
        out.extend(_split_wrapped(cue, width, max_lines))
    if not out:
        raise SubtitleError(
            "subtitles_empty",
            f"Die Untertiteldatei „{track.name}“ enthält keine anzeigbaren Untertitel.",
        )
    return replace(track, cues=tuple(out), notes=track.notes + tuple(notes))


def _split_wrapped(cue: Cue, width: int, max_lines: int) -> list[Cue]:
    lines = [ln for para in cue.text.split("\n") for ln in wrap_text(para, width)]
    if len(lines) <= max_lines:
        return [replace(cue, text="\n".join(lines))]
    n_chunks = -(-len(lines) // max_lines)
    text = " ".join(lines)
    for balanced in range(-(-len(text) // (n_chunks * max_lines)), width + 1):
        candidate = wrap_text(text, balanced)
        if len(candidate) <= n_chunks * max_lines:
            lines = candidate  # lines of similar length instead of a short orphan at the end
            break
    chunks = [lines[i:i + max_lines] for i in range(0, len(lines), max_lines)]
    total = sum(len(" ".join(ch)) for ch in chunks)
    result, t = [], cue.start
    for n, chunk in enumerate(chunks):
        share = len(" ".join(chunk)) / total
        end = cue.end if n == len(chunks) - 1 else t + (cue.end - cue.start) * share
        result.append(Cue(start=round(t, 3), end=round(end, 3), text="\n".join(chunk)))
        t = end
    return result


def load_subtitles(path: Path, *, duration: float | None) -> SubtitleTrack:
    """Read, parse and normalise a subtitle file (the file itself is never modified)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubtitleError(
            "subtitles_missing",
            f"Die Untertiteldatei „{path.name}“ konnte nicht gelesen werden.",
        ) from exc
    return normalise(parse_subtitles(data, name=path.name), duration=duration)


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def stamp(seconds: float) -> str:
    """An SRT time stamp for messages and the cue editor: ``00:01:02,500``."""
    return SubripFormat.ms_to_timestamp(_ms(seconds))


def _subs(track: SubtitleTrack, offset: float, text: Callable[[str], str]) -> pysubs2.SSAFile:
    """The cues as pysubs2 events; ``text`` turns a cue's plain text into the event text."""
    subs = pysubs2.SSAFile()
    subs.events = [pysubs2.SSAEvent(start=_ms(c.start + offset), end=_ms(c.end + offset),
                                    text=text(c.text)) for c in track.cues]
    return subs


def _literal(text: str) -> str:
    """Cue text for pysubs2's SRT/WebVTT writer, which reads ASS escapes (``\\N``, ``\\h``,
    ``{\\p1}``) even with ``keep_ssa_tags``: an invisible word joiner after each (rare)
    backslash keeps the text as typed."""
    return text.replace("\\", "\\\u2060")


def to_srt(track: SubtitleTrack, *, offset: float = 0.0) -> str:
    """SubRip text (write it as UTF-8 without BOM); ``offset`` shifts every cue (e.g. past an
    intro card). The text is written as it is (``keep_ssa_tags``: otherwise pysubs2 drops
    anything in braces as an ASS override block)."""
    return _subs(track, offset, _literal).to_string("srt", keep_ssa_tags=True)


def to_webvtt(track: SubtitleTrack, *, offset: float = 0.0) -> str:
    """WebVTT text; ``&``, ``<`` and ``>`` in cue text are escaped as the format requires
    (pysubs2 writes cue text unescaped)."""

    def esc(text: str) -> str:
        return _literal(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return _subs(track, offset, esc).to_string("vtt", keep_ssa_tags=True)


@dataclass(frozen=True, kw_only=True)
class AssStyle:
    """How burned-in subtitles look in a frame of ``width`` x ``height`` pixels."""

    width: int
    height: int
    font_name: str = "DejaVu Sans"
    font_size: int = 0  # 0: derived from the frame so ~42 characters fit the safe width
    margin_bottom: int = 0
    margin_left: int = 0
    margin_right: int = 0
    box: bool = True  # opaque box (high contrast on any background); False: thick outline


def _ass_text(text: str) -> str:
    """Plain text -> ASS event text shown literally by libass (braces and backslashes
    escaped, line breaks as ``\\N``)."""
    text = text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")
    return text.replace("\n", "\\N")


def ass_style(style: AssStyle) -> pysubs2.SSAStyle:
    """One high-contrast bottom-centred style inside the safe margins, sized for the frame."""
    usable = style.width - style.margin_left - style.margin_right
    size = style.font_size or max(10, min(round(usable / (MAX_LINE * 0.52)),
                                          round(style.height * 0.055)))
    white = pysubs2.Color(255, 255, 255, 0)
    if style.box:  # BorderStyle 3: the outline colour fills a box, black 75 % opaque
        border, outline, shadow = 3, max(2, size // 5), 0
        outline_colour = pysubs2.Color(0, 0, 0, 0x40)
    else:
        border, outline, shadow = 1, max(2, size // 12), max(1, size // 24)
        outline_colour = pysubs2.Color(0, 0, 0, 0)
    return pysubs2.SSAStyle(
        fontname=style.font_name, fontsize=size, primarycolor=white, secondarycolor=white,
        outlinecolor=outline_colour, backcolor=pysubs2.Color(0, 0, 0, 0x80),
        borderstyle=border, outline=outline, shadow=shadow,
        alignment=pysubs2.Alignment.BOTTOM_CENTER, marginl=style.margin_left,
        marginr=style.margin_right, marginv=style.margin_bottom, encoding=1,
    )


def to_ass(track: SubtitleTrack, style: AssStyle) -> str:
    """An ASS script with one high-contrast style, sized for the target frame (PlayRes)."""
    subs = _subs(track, 0.0, _ass_text)
    subs.info.update({"ScriptType": "v4.00+", "PlayResX": str(style.width),
                      "PlayResY": str(style.height), "WrapStyle": "0",
                      "ScaledBorderAndShadow": "yes", "YCbCr Matrix": "TV.709"})
    subs.styles = {"Default": ass_style(style)}
    return subs.to_string("ass")

"""Uploaded source clips and subtitle files: stored under
``media_root/uploads/<series>/<episode>/`` with a generated name (never the client's path),
checked at once with the media pipeline, and kept: a new upload never overwrites an old one.

A rejected file is deleted again and the episode keeps its previous source; the German message
names the file as the client called it (its base name only). Upload folders are 0700 and files
0600: only the service user reads them. The routes receive the bytes as a stream with a byte
budget (:mod:`.receive`); a source clip goes straight to its place on disk, never through a
temporary copy.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from episodes.subtitle_check import check_subtitle_file
from workers.media import load_profiles
from workers.media.intake import check_video

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".mts")
SUBTITLE_SUFFIXES = (".srt", ".vtt", ".ass", ".ssa")
CHUNK = 1 << 20
MAX_VIDEO_BYTES = 8 * 1024**3
MAX_SUBTITLE_BYTES = 5 * 1024**2


@dataclass(frozen=True, kw_only=True)
class Checked:
    """The outcome of an upload: the stored path (None if rejected) and German findings."""

    path: Path | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)  # for media_problems
    probe: dict[str, object] = field(default_factory=dict)
    duration: float | None = None


def client_name(filename: str | None) -> str:
    """The base name of what the client sent, for messages only (``../x`` and ``C:\\x`` too)."""
    raw = filename or ""
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:120] or "Upload"


def upload_dir(media_root: Path, series_slug: str, episode_number: int) -> Path:
    """``media_root/uploads/<series>/<episode>``; the slug is re-checked to stay inside."""
    slug = re.sub(r"[^a-z0-9_-]", "-", series_slug.lower())[:64] or "serie"
    root = media_root.resolve()
    target = (root / "uploads" / slug / f"{int(episode_number):02d}").resolve()
    if not target.is_relative_to(root):
        raise ValueError("upload directory outside the media root")
    return target


def _safe_suffix(filename: str | None, allowed: tuple[str, ...], default: str) -> str:
    suffix = PurePosixPath(client_name(filename)).suffix.lower()
    return suffix if suffix in allowed else default


def private_dir(directory: Path) -> Path:
    """Create ``directory`` (and missing parents) readable only by the service user."""
    missing = []
    here = directory
    while not here.exists():
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def new_upload(directory: Path, kind: str, suffix: str) -> tuple[Path, Path]:
    """(final path, hidden ``.part`` path to write first) for a new upload in ``directory``."""
    private_dir(directory)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = directory / f"{kind}-{stamp}-{secrets.token_hex(4)}{suffix}"
    return final, final.with_name(f".{final.name}.part")


def open_private(path: Path) -> BinaryIO:
    """A new file (never an existing one) with mode 0600, open for writing."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _store(stream: BinaryIO, directory: Path, kind: str, suffix: str, limit: int) -> Path:
    final, tmp = new_upload(directory, kind, suffix)
    size = 0
    try:
        with open_private(tmp) as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise OverflowError(size)
                out.write(chunk)
        tmp.rename(final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def too_big(name: str, limit: int) -> str:
    """The German refusal of a file over ``limit`` bytes."""
    return (f"Die Datei „{name}“ ist zu groß (höchstens {limit // 1024**2} MB). "
            "Bitte eine kleinere Fassung hochladen.")


def _too_big(name: str, limit: int) -> Checked:
    return Checked(path=None, errors=[too_big(name, limit)])


def video_suffix(filename: str | None) -> str:
    return _safe_suffix(filename, VIDEO_SUFFIXES, ".mp4")


def accept_video(stream: BinaryIO, filename: str | None, directory: Path) -> Checked:
    """Store and probe a source clip; errors reject it (file removed), warnings are kept."""
    shown = client_name(filename)
    try:
        path = _store(stream, directory, "source", video_suffix(filename), MAX_VIDEO_BYTES)
    except OverflowError:
        return _too_big(shown, MAX_VIDEO_BYTES)
    return check_stored_video(path, filename)


def check_stored_video(path: Path, filename: str | None, *,
                       profiles_file: Path | None = None, branding: bool = False) -> Checked:
    """Probe a stored source clip with the same checks as a season load (the configured
    profiles, the cards when branding is on); errors reject it (file removed), warnings are
    kept."""
    shown = client_name(filename)
    checked = check_video(path, load_profiles(profiles_file).values(), branding=branding)
    errors = [m.replace(path.name, shown) for m in checked.errors]
    warnings = [m.replace(path.name, shown) for m in checked.warnings]
    if errors or checked.info is None:
        path.unlink(missing_ok=True)
        return Checked(path=None, errors=errors, warnings=warnings)
    problems = [{**p.to_dict(), "message_de": p.message_de.replace(path.name, shown)}
                for p in checked.problems]
    return Checked(path=path, warnings=warnings, problems=problems,
                   probe=checked.info.to_dict(), duration=checked.info.duration)


def accept_subtitles(
    stream: BinaryIO, filename: str | None, directory: Path, *, duration: float | None
) -> Checked:
    """Store and check a subtitle file (SRT, WebVTT, ASS) with the rules of ``wtg season
    load`` (``check_subtitle_file``): refused files are deleted; ``warnings`` are the notes of
    what normalising changed."""
    shown = client_name(filename)
    try:
        path = _store(stream, directory, "subtitles",
                      _safe_suffix(filename, SUBTITLE_SUFFIXES, ".srt"), MAX_SUBTITLE_BYTES)
    except OverflowError:
        return _too_big(shown, MAX_SUBTITLE_BYTES)
    checked = check_subtitle_file(path, duration=duration)
    if not checked.ok:
        path.unlink(missing_ok=True)
        return Checked(path=None, errors=[e.message_de.replace(path.name, shown)
                                          for e in checked.errors])
    return Checked(path=path, warnings=list(checked.notes))


def save_cues_srt(track_srt: str, directory: Path) -> Path:
    """Write edited cues as a new SRT file beside the earlier ones (never overwriting)."""
    import io

    return _store(io.BytesIO(track_srt.encode("utf-8")), directory, "subtitles-edited", ".srt",
                  MAX_SUBTITLE_BYTES)


__all__ = [
    "MAX_SUBTITLE_BYTES", "SUBTITLE_SUFFIXES", "VIDEO_SUFFIXES", "Checked", "accept_subtitles",
    "accept_video", "check_video", "client_name", "new_upload", "open_private", "private_dir",
    "save_cues_srt", "too_big", "upload_dir", "video_suffix",
]

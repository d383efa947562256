"""Media files (renditions, captions, thumbnails, uploads) for logged-in staff, served only
from inside ``settings.media_root``: a path that resolves outside it (``..``, symlinks) is 404."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse

from .auth import Staff, page_user

router = APIRouter(include_in_schema=False)
TYPES = {".vtt": "text/vtt; charset=utf-8", ".srt": "text/plain; charset=utf-8",
         ".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png"}


def inside(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names under ``root``, or None if it is elsewhere or missing."""
    base = root.resolve()
    try:
        target = (base / relative).resolve()
    except (OSError, ValueError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def media_url(root: Path, path: str | None) -> str | None:
    """``/media/<relative path>`` for a stored absolute path inside the media root."""
    if not path:
        return None
    try:
        relative = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return "/media/" + quote(relative.as_posix())


@router.get("/media/{relative:path}")
def media_file(request: Request, relative: str,
               staff: Staff = Depends(page_user)) -> FileResponse:
    target = inside(request.app.state.wtg.settings.media_root, relative)
    if target is None:
        raise HTTPException(404, "Diese Datei gibt es nicht.")
    kind = TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0]
    return FileResponse(target, media_type=kind or "application/octet-stream")

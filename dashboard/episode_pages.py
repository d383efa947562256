"""The episode page: texts (with each platform's preview and counters), source clip and subtitle
uploads, renditions with captions, the subtitle cue editor, and four-eyes approval."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config.settings import KNOWN_PLATFORMS
from episodes import store
from episodes.models import Episode, Role
from episodes.review import ReviewError, check_editable, cleared, media_changed
from episodes.subtitles import (
    Cue,
    SubtitleError,
    SubtitleTrack,
    load_subtitles,
    normalise,
    stamp,
    to_srt,
)
from workers.task_names import MEDIA_PREPARE

from .actions import ActionError, approve_episode
from .app import Wtg
from .auth import Staff, page_role, page_user, upload_role
from .media_files import media_url
from .pages import RowId, deps_of, render
from .preview import previews
from .receive import UploadRefused, check_free_disk, declared_length, receive_file
from .season_actions import Refused, update_episode
from .series_pages import episode_form
from .uploads import (
    MAX_SUBTITLE_BYTES,
    accept_subtitles,
    check_stored_video,
    save_cues_srt,
    upload_dir,
    video_suffix,
)
from .words import field_label

router = APIRouter(include_in_schema=False)
PLATFORMS = KNOWN_PLATFORMS


def _load(s: Any, episode_id: int) -> Episode:
    ep = s.get(Episode, episode_id)
    if ep is None:
        raise HTTPException(404, "Diese Folge gibt es nicht.")
    return ep


def _context(deps: Wtg, episode_id: int) -> dict[str, Any]:
    with deps.db.session() as s:
        ep = _load(s, episode_id)
        series = ep.series
        posts = sorted(ep.posts, key=lambda p: p.account.name)
        accounts = [(p.account.name, p.account.platform) for p in posts]
        root = deps.settings.media_root
        renditions = [
            {"profile": r.profile, "width": r.width, "height": r.height,
             "duration": r.duration, "verified": r.verified,
             "video": media_url(root, r.path), "vtt": media_url(root, r.captions_vtt),
             "poster": media_url(root, r.thumbnail_path)}
            for r in sorted(ep.renditions, key=lambda r: r.profile)
        ]
        audit = store.audit_log(s, target=f"episode:{episode_id}", limit=50)
        platforms = sorted({pf for _, pf in accounts}) or list(PLATFORMS)
        return {
            "episode": ep, "series": series, "posts": posts, "renditions": renditions,
            "previews": previews(deps.settings, ep, series, accounts), "audit": audit,
            "platforms": platforms, "cleared": cleared(ep),
            "source_name": Path(ep.source_path).name if ep.source_path else None,
            "subtitle_name": Path(ep.subtitle_path).name if ep.subtitle_path else None,
            "max_video_bytes": deps.settings.dashboard.max_video_mb * 1024**2,
            "max_subtitle_bytes": MAX_SUBTITLE_BYTES,
        }


def _page(request: Request, staff: Staff, episode_id: int, status: int = 200,
          **extra: Any) -> HTMLResponse:
    context = _context(deps_of(request), episode_id)
    if request.query_params.get("ok") == "subtitles" and "warnings" not in extra:
        extra["warnings"] = _subtitle_notes(context["audit"])
    return render(request, "episode.html", staff, status=status, **context, **extra)


def _subtitle_notes(audit: list[Any]) -> list[str]:
    """What normalising changed in the subtitles just saved (from the newest audit entry)."""
    for entry in audit:  # newest first
        if entry.action in ("episode.upload_subtitles", "episode.edit_subtitles"):
            return [str(n) for n in (entry.details or {}).get("notes") or []]
    return []


@router.get("/episodes/{episode_id}", response_class=HTMLResponse)
def episode_page(request: Request, episode_id: RowId,
                 staff: Staff = Depends(page_user)) -> Response:
    return _page(request, staff, episode_id)


@router.post("/episodes/{episode_id}", response_class=HTMLResponse)
async def episode_save(request: Request, episode_id: RowId,
                       staff: Staff = Depends(page_role(Role.EDITOR))) -> Response:
    form = await request.form()
    values = episode_form(form)  # the same fields and rules as the season file and the API
    values.pop("slot", None)
    try:
        done = await run_in_threadpool(update_episode, deps_of(request), staff, episode_id,
                                       values)
    except Refused as exc:
        errors = [f"{field_label(p.field)}: {p.message_de}" for p in exc.problems] or [
            exc.message_de]
        return _page(request, staff, episode_id, status=exc.status, errors=errors)
    return RedirectResponse(
        f"/episodes/{episode_id}?ok={'saved' if done.changed else 'unchanged'}", status_code=303)


@router.post("/episodes/{episode_id}/approve", response_class=HTMLResponse)
async def episode_approve(request: Request, episode_id: RowId,
                          staff: Staff = Depends(page_user)) -> Response:
    form = await request.form()
    raw = str(form.get("revision", ""))
    try:
        approve_episode(deps_of(request), staff, episode_id, int(raw) if raw.isdigit() else None)
    except ActionError as exc:
        return _page(request, staff, episode_id, status=exc.status, errors=[exc.message_de])
    return RedirectResponse(f"/episodes/{episode_id}?ok=approved", status_code=303)


def _editable(deps: Wtg, episode_id: int) -> tuple[Path, float | None]:
    """Upload target directory and the clip's duration; raises ActionError if frozen."""
    with deps.db.session() as s:
        ep = _load(s, episode_id)
        try:
            check_editable(ep)
        except ReviewError as exc:
            raise ActionError.of(exc) from None
        duration = (ep.probe or {}).get("duration")
        target = upload_dir(deps.settings.media_root, ep.series.slug, ep.number)
        return target, float(duration) if duration else None


@router.post("/episodes/{episode_id}/source", response_class=HTMLResponse)
async def upload_source(request: Request, episode_id: RowId,
                        staff: Staff = Depends(upload_role(Role.EDITOR))) -> Response:
    """The source clip, streamed straight into the upload folder (see :mod:`.receive`)."""
    deps = deps_of(request)
    limit = deps.settings.dashboard.max_video_mb * 1024**2
    try:
        target, _ = await run_in_threadpool(_editable, deps, episode_id)
        check_free_disk(target, incoming=declared_length(request),
                        min_free=deps.settings.dashboard.min_free_disk_mb * 1024**2)
        got = await receive_file(request, csrf=staff.csrf, limit=limit, directory=target,
                                 kind="source", suffix=video_suffix(None),
                                 min_free=deps.settings.dashboard.min_free_disk_mb * 1024**2)
    except (ActionError, UploadRefused) as exc:
        return await _refused(request, staff, episode_id, exc)
    assert got.part_path is not None and got.final_path is not None
    final = got.final_path.with_suffix(video_suffix(got.filename))
    got.part_path.rename(final)
    checked = await run_in_threadpool(
        lambda: check_stored_video(final, got.filename,
                                   profiles_file=deps.settings.media_profiles_file,
                                   branding=deps.settings.media_branding))
    if checked.path is None:
        return _page(request, staff, episode_id, status=422, errors=checked.errors,
                     warnings=checked.warnings)
    with deps.db.session() as s:
        ep = _load(s, episode_id)
        ep.source_path = str(checked.path)
        ep.probe = checked.probe
        ep.media_problems = checked.problems
        media_changed(s, ep, staff.username, "episode.upload_source", file=checked.path.name)
    deps.send(MEDIA_PREPARE, episode_id)
    return RedirectResponse(f"/episodes/{episode_id}?ok=uploaded", status_code=303)


@router.post("/episodes/{episode_id}/subtitles", response_class=HTMLResponse)
async def upload_subtitles(request: Request, episode_id: RowId,
                           staff: Staff = Depends(upload_role(Role.EDITOR))) -> Response:
    """A subtitle file: at most 5 MB, read into memory and checked (see :mod:`.receive`)."""
    deps = deps_of(request)
    try:
        target, duration = await run_in_threadpool(_editable, deps, episode_id)
        got = await receive_file(request, csrf=staff.csrf, limit=MAX_SUBTITLE_BYTES)
    except (ActionError, UploadRefused) as exc:
        return await _refused(request, staff, episode_id, exc)
    checked = await run_in_threadpool(accept_subtitles, io.BytesIO(got.data), got.filename,
                                      target, duration=duration)
    if checked.path is None:
        return _page(request, staff, episode_id, status=422, errors=checked.errors)
    await run_in_threadpool(_use_subtitles, deps, staff, episode_id, checked.path,
                            "episode.upload_subtitles", checked.warnings)
    return RedirectResponse(f"/episodes/{episode_id}?ok=subtitles", status_code=303)


async def _refused(request: Request, staff: Staff, episode_id: int,
                   exc: ActionError | UploadRefused) -> Response:
    status = exc.status
    return await run_in_threadpool(lambda: _page(request, staff, episode_id, status=status,
                                                 errors=[exc.message_de]))


def _use_subtitles(deps: Wtg, staff: Staff, episode_id: int, path: Path, action: str,
                   notes: list[str] | None = None) -> None:
    """Make ``path`` the episode's subtitles; ``notes`` (what normalising changed) go into the
    audit entry, from which the episode page shows them after the redirect."""
    with deps.db.session() as s:
        ep = _load(s, episode_id)
        ep.subtitle_path = str(path)
        media_changed(s, ep, staff.username, action, file=path.name, notes=list(notes or []))
        has_source = bool(ep.source_path)
    if has_source:
        deps.send(MEDIA_PREPARE, episode_id)


# --- subtitle cue editor ----------------------------------------------------------------------
def _cues(deps: Wtg, episode_id: int) -> tuple[Episode, list[Cue], str | None]:
    with deps.db.session() as s:
        ep = _load(s, episode_id)
    if not ep.subtitle_path:
        return ep, [], None
    duration = (ep.probe or {}).get("duration")
    try:
        track = load_subtitles(Path(ep.subtitle_path), duration=duration)
    except SubtitleError as exc:
        return ep, [], exc.message_de
    return ep, list(track.cues), None


def parse_stamp(text: str) -> float:
    """``00:01:02,500``, ``1:02.5`` or ``62,5`` -> seconds (ValueError if unreadable)."""
    parts = text.strip().replace(",", ".").split(":")
    if not parts or len(parts) > 3 or not all(parts):
        raise ValueError(text)
    value = 0.0
    for part in parts:
        value = value * 60 + float(part)
    if value < 0:
        raise ValueError(text)
    return value


CUES_PER_PAGE = 100  # the editor shows a long track a page at a time (a page stays ~40 KB)


def _cue_page(ep: Episode, cues: list[Cue], page: int) -> dict[str, Any]:
    pages = max(1, -(-len(cues) // CUES_PER_PAGE))
    page = min(max(1, page), pages)
    first = (page - 1) * CUES_PER_PAGE
    shown = cues[first:first + CUES_PER_PAGE]
    return {"episode": ep, "cues": shown, "first": first, "count": len(shown),
            "total": len(cues), "page": page, "pages": pages, "stamp": stamp,
            "source": Path(ep.subtitle_path).name if ep.subtitle_path else ""}


@router.get("/episodes/{episode_id}/cues", response_class=HTMLResponse)
def cues_page(request: Request, episode_id: RowId, page: int = 1,
              staff: Staff = Depends(page_user)) -> Response:
    ep, cues, problem = _cues(deps_of(request), episode_id)
    return render(request, "cues.html", staff, **_cue_page(ep, cues, page),
                  errors=[problem] if problem else [])


def _edited(form: Any) -> tuple[list[Cue], list[str], int]:
    """The cues of the submitted page (emptied ones dropped) and German errors."""
    starts, ends, texts = form.getlist("start"), form.getlist("end"), form.getlist("text")
    first = int(str(form.get("first", "0"))) if str(form.get("first", "0")).isdigit() else 0
    cues, errors = [], []
    for i, (a, b, text) in enumerate(zip(starts, ends, texts, strict=False), first + 1):
        body = "\n".join(ln.strip() for ln in str(text).splitlines() if ln.strip())
        if not body:
            continue  # an emptied cue is deleted
        try:
            cues.append(Cue(start=parse_stamp(str(a)), end=parse_stamp(str(b)), text=body))
        except ValueError:
            errors.append(f"Untertitel {i}: die Zeit „{a} – {b}“ ist nicht lesbar "
                          "(Format 00:00:01,500; das Ende muss nach dem Anfang liegen).")
    return cues, errors, first


def _resubmit(ep: Episode, cues: list[Cue], page: int, edited: list[Cue], first: int,
              count: str) -> dict[str, Any]:
    """The refused page again, as typed, replacing the same range when sent again."""
    return {**_cue_page(ep, cues, page), "cues": edited, "first": first,
            "count": int(count) if count.isdigit() else None}


@router.post("/episodes/{episode_id}/cues", response_class=HTMLResponse)
async def cues_save(request: Request, episode_id: RowId,
                    staff: Staff = Depends(page_role(Role.EDITOR))) -> Response:
    """Save the submitted page: its cues replace cues ``first`` .. ``first + count`` of the
    current track (a form without ``count`` replaces the whole track)."""
    deps = deps_of(request)
    form = await request.form()
    edited, errors, first = _edited(form)
    ep, current, _ = _cues(deps, episode_id)
    count = str(form.get("count", ""))
    if count.isdigit():
        if str(form.get("source", "")) != (Path(ep.subtitle_path).name if ep.subtitle_path
                                           else ""):
            errors.append("Die Untertitel wurden inzwischen durch eine andere Datei ersetzt. "
                          "Bitte die Seite neu laden und die Änderung wiederholen.")
        cues = current[:first] + edited + current[first + int(count):]
    else:
        cues = edited
    duration = (ep.probe or {}).get("duration")
    if not errors:
        try:
            track = normalise(SubtitleTrack(cues=tuple(cues), name="Untertitel"),
                              duration=duration)
        except SubtitleError as exc:
            errors.append(exc.message_de)
    page = first // CUES_PER_PAGE + 1
    if errors:
        return render(request, "cues.html", staff, status=422, errors=errors,
                      **_resubmit(ep, cues, page, edited, first, count))
    try:
        target, _ = _editable(deps, episode_id)
    except ActionError as exc:
        return render(request, "cues.html", staff, status=exc.status, errors=[exc.message_de],
                      **_resubmit(ep, cues, page, edited, first, count))
    path = save_cues_srt(to_srt(track), target)
    _use_subtitles(deps, staff, episode_id, path, "episode.edit_subtitles",
                   notes=list(track.notes))
    return RedirectResponse(f"/episodes/{episode_id}?ok=subtitles", status_code=303)

"""Pages for running the season: the series list, a series' form with its episodes (add,
order, move, remove), a new episode, moving and deleting an episode, export and import with a
preview. Form fields carry the season file's names; the values go through the same models as
the file and the API (:mod:`.season_actions`)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from config.settings import KNOWN_PLATFORMS
from episodes import store
from episodes.calendar import WEEKDAYS_DE
from episodes.models import Episode, Role
from episodes.moves import movable
from episodes.season_models import TEXT_PARTS
from episodes.series_edit import next_number, series_fields_of

from .auth import Staff, page_role, page_user
from .pages import FLASH, RowId, deps_of, render
from .season_actions import (
    Refused,
    add_episode,
    create_series,
    export,
    import_season,
    move_to_day,
    remove_episode,
    renumber,
    update_series,
)
from .words import field_label

router = APIRouter(include_in_schema=False)
Editor = Depends(page_role(Role.EDITOR))
FLASH.update({
    "series_created": "Die Reihe ist angelegt. Jetzt Folgen hinzufügen.",
    "series_saved": "Die Reihe ist gespeichert; Folgen, die noch warten, folgen dem neuen Plan.",
    "episode_created": "Die Folge ist angelegt. Jetzt Video und Untertitel hochladen.",
    "moved": "Der Termin ist geändert.",
    "deleted": "Die Folge ist gelöscht.",
    "ordered": "Die Reihenfolge ist geändert.",
    "imported": "Die Staffeldatei ist übernommen.",
})
WEEKDAY_OPTIONS = [(d.lower(), d) for d in WEEKDAYS_DE]
_SPLIT = re.compile(r"[\s,;]+")


def refused_page(request: Request, staff: Staff, exc: Refused, name: str,
                 **context: Any) -> HTMLResponse:
    """The form again with German problems, each naming its field."""
    errors = ([f"{field_label(p.field)}: {p.message_de}" if p.field != "toml" else p.message_de
               for p in exc.problems] or [exc.message_de])
    return render(request, name, staff, status=exc.status, errors=errors, **context)


# --- forms -> season-file fields --------------------------------------------------------------
def _german_date(text: str) -> str:
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    return f"{m[3]}-{int(m[2]):02d}-{int(m[1]):02d}" if m else text


def _words(form: FormData, key: str) -> list[str]:
    return [w for w in _SPLIT.split(str(form.get(key, ""))) if w.strip("# ")]


def _per_platform(form: FormData, prefix: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for pf in KNOWN_PLATFORMS:
        entry = {part: str(form.get(f"{prefix}_{pf}_{part}", "")).replace("\r\n", "\n")
                 for part in TEXT_PARTS}
        entry = {k: v for k, v in entry.items() if v.strip()}
        if entry:
            out[pf] = entry
    return out


def series_form(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {k: str(form.get(k, "")) for k in (
        "slug", "name", "weekday", "time", "first_date", "last_date", "link", "credits")}
    for key in ("first_date", "last_date"):
        data[key] = _german_date(data[key].strip()) or None
    data["blackout_dates"] = [_german_date(w) for w in _words(form, "blackout_dates")]
    data["hashtags"] = _words(form, "hashtags")
    data["accounts"] = [str(a) for a in form.getlist("accounts")]
    data["templates"] = _per_platform(form, "template")
    return data


def episode_form(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": str(form.get("title", "")),
        "place": str(form.get("place", "")),
        "description": str(form.get("description", "")).replace("\r\n", "\n"),
        "hashtags": _words(form, "hashtags"),
        "text": _per_platform(form, "override"),
    }
    number = str(form.get("number", "")).strip()
    if number:
        data["number"] = int(number) if number.isdigit() else number
    day, at = str(form.get("day", "")).strip(), str(form.get("at", "")).strip()
    if day:  # wall-clock time of the series (the time field is filled with it)
        data["slot"] = f"{_german_date(day)}T{at or '17:00'}"
    return data


def _view(values: dict[str, Any]) -> dict[str, Any]:
    """Field values for the form's inputs (lists as text)."""
    out = dict(values)
    for key in ("blackout_dates", "hashtags"):
        out[key] = " ".join(str(v) for v in values.get(key) or [])
    return out


# --- series -----------------------------------------------------------------------------------
@router.get("/series", response_class=HTMLResponse)
def series_list(request: Request, staff: Staff = Depends(page_user)) -> Response:
    with deps_of(request).db.session() as s:
        everything = store.all_series(s)
        rows = [{"series": x, "episodes": len(x.episodes),
                 "weekday": WEEKDAYS_DE[x.weekday]} for x in everything]
    return render(request, "series_list.html", staff, rows=rows)


def _series_page(request: Request, staff: Staff, slug: str | None, status: int = 200,
                 values: dict[str, Any] | None = None, errors: list[str] | None = None
                 ) -> HTMLResponse:
    deps = deps_of(request)
    episodes: list[dict[str, Any]] = []
    series = None
    with deps.db.session() as s:
        if slug is not None:
            series = store.get_series(s, slug)
            if series is None:
                return render(request, "error.html", staff, status=404,
                              message="Diese Reihe gibt es nicht.")
            values = values or series_fields_of(series)
            for ep in sorted(series.episodes, key=lambda e: e.number):
                episodes.append({"ep": ep, "movable": movable(ep),
                                 "approved": ep.approved})
    accounts = [(a.name, a.display_name or a.name, a.platform) for a in deps.settings.accounts]
    return render(request, "series_form.html", staff, status=status, series=series,
                  values=_view(values or {"timezone": "Europe/Berlin", "weekday": "donnerstag",
                                          "time": "17:00"}),
                  episodes=episodes, accounts=accounts, weekdays=WEEKDAY_OPTIONS,
                  platforms=KNOWN_PLATFORMS, errors=errors or [])


@router.get("/series/new", response_class=HTMLResponse)
def series_new(request: Request, staff: Staff = Editor) -> Response:
    return _series_page(request, staff, None)


@router.post("/series/new", response_class=HTMLResponse)
async def series_new_save(request: Request, staff: Staff = Editor) -> Response:
    values = series_form(await request.form())
    try:
        slug = create_series(deps_of(request), staff, values)
    except Refused as exc:
        return _refused_series(request, staff, None, exc, values)
    return RedirectResponse(f"/series/{slug}?ok=series_created", status_code=303)


@router.get("/series/{slug}", response_class=HTMLResponse)
def series_page(request: Request, slug: str, staff: Staff = Depends(page_user)) -> Response:
    return _series_page(request, staff, slug)


@router.post("/series/{slug}", response_class=HTMLResponse)
async def series_save(request: Request, slug: str, staff: Staff = Editor) -> Response:
    values = series_form(await request.form())
    values["slug"] = slug
    try:
        update_series(deps_of(request), staff, slug, values)
    except Refused as exc:
        return _refused_series(request, staff, slug, exc, values)
    return RedirectResponse(f"/series/{slug}?ok=series_saved", status_code=303)


def _refused_series(request: Request, staff: Staff, slug: str | None, exc: Refused,
                    values: dict[str, Any]) -> HTMLResponse:
    errors = [f"{field_label(p.field)}: {p.message_de}" for p in exc.problems] or [
        exc.message_de]
    return _series_page(request, staff, slug, status=exc.status, values=values, errors=errors)


# --- episodes ---------------------------------------------------------------------------------
@router.get("/series/{slug}/episodes/new", response_class=HTMLResponse)
def episode_new(request: Request, slug: str, day: str = "", staff: Staff = Editor) -> Response:
    with deps_of(request).db.session() as s:
        series = store.get_series(s, slug)
        if series is None:
            return render(request, "error.html", staff, status=404,
                          message="Diese Reihe gibt es nicht.")
        number = next_number(series)
    return render(request, "episode_new.html", staff, series=series,
                  values={"number": number, "day": day, "at": series.time_of_day},
                  platforms=KNOWN_PLATFORMS)


@router.post("/series/{slug}/episodes/new", response_class=HTMLResponse)
async def episode_new_save(request: Request, slug: str, staff: Staff = Editor) -> Response:
    form = await request.form()
    data = episode_form(form)
    shift = str(form.get("shift", "")) == "1"
    try:
        episode_id = add_episode(deps_of(request), staff, slug, data, shift=shift)
    except Refused as exc:
        with deps_of(request).db.session() as s:
            series = store.get_series(s, slug)
        values = {k: str(form.get(k, "")) for k in ("number", "title", "place", "description",
                                                    "hashtags", "day", "at")}
        return refused_page(request, staff, exc, "episode_new.html", series=series,
                            values=values, platforms=KNOWN_PLATFORMS)
    return RedirectResponse(f"/episodes/{episode_id}?ok=episode_created", status_code=303)


def _episode(request: Request, episode_id: int) -> Episode | None:
    with deps_of(request).db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is not None:
            _ = ep.series, ep.posts
        return ep


@router.get("/episodes/{episode_id}/move", response_class=HTMLResponse)
def move_form(request: Request, episode_id: RowId, back: str = "",
              staff: Staff = Editor) -> Response:
    """The move without drag and drop (keyboard, screen readers, no JavaScript)."""
    ep = _episode(request, episode_id)
    if ep is None:
        return render(request, "error.html", staff, status=404,
                      message="Diese Folge gibt es nicht.")
    return render(request, "move.html", staff, episode=ep, series=ep.series, back=_back(back),
                  movable=movable(ep))


@router.post("/episodes/{episode_id}/move", response_class=HTMLResponse)
async def move_save(request: Request, episode_id: RowId, staff: Staff = Editor) -> Response:
    form = await request.form()
    back = _back(str(form.get("back", "")))
    raw_day = _german_date(str(form.get("day", "")).strip())
    at = str(form.get("at", "")).strip() or None
    try:
        day = date.fromisoformat(raw_day)
        move_to_day(deps_of(request), staff, episode_id, day,
                    shift=str(form.get("shift", "")) == "1", at=at)
    except ValueError:
        exc = Refused(422, "Bitte einen Tag wie 2026-12-03 angeben.")
        return _move_refused(request, staff, episode_id, exc, back)
    except Refused as exc:
        return _move_refused(request, staff, episode_id, exc, back)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}ok=moved", status_code=303)


def _move_refused(request: Request, staff: Staff, episode_id: int, exc: Refused,
                  back: str) -> HTMLResponse:
    ep = _episode(request, episode_id)
    if ep is None:
        return render(request, "error.html", staff, status=404, message=exc.message_de)
    return refused_page(request, staff, exc, "move.html", episode=ep, series=ep.series,
                        back=back, movable=movable(ep))


def _back(target: str) -> str:
    ok = target.startswith(("/calendar", "/series/", "/episodes/")) and "//" not in target
    return target if ok else "/calendar"


@router.get("/episodes/{episode_id}/delete", response_class=HTMLResponse)
def delete_form(request: Request, episode_id: RowId, staff: Staff = Editor) -> Response:
    ep = _episode(request, episode_id)
    if ep is None:
        return render(request, "error.html", staff, status=404,
                      message="Diese Folge gibt es nicht.")
    return render(request, "delete.html", staff, episode=ep, series=ep.series)


@router.post("/episodes/{episode_id}/delete", response_class=HTMLResponse)
def delete_save(request: Request, episode_id: RowId, staff: Staff = Editor) -> Response:
    try:
        slug = remove_episode(deps_of(request), staff, episode_id)
    except Refused as exc:
        ep = _episode(request, episode_id)
        if ep is None:
            return render(request, "error.html", staff, status=exc.status,
                          message=exc.message_de)
        return refused_page(request, staff, exc, "delete.html", episode=ep, series=ep.series)
    return RedirectResponse(f"/series/{slug}?ok=deleted", status_code=303)


@router.post("/episodes/{episode_id}/order", response_class=HTMLResponse)
async def order_save(request: Request, episode_id: RowId, staff: Staff = Editor) -> Response:
    form = await request.form()
    step = -1 if str(form.get("step", "")) == "-1" else 1
    try:
        slug = renumber(deps_of(request), staff, episode_id, step)
    except Refused as exc:
        return render(request, "error.html", staff, status=exc.status, message=exc.message_de)
    return RedirectResponse(f"/series/{slug}?ok=ordered", status_code=303)


# --- export and import ------------------------------------------------------------------------
@router.get("/series/{slug}/export")
def export_file(request: Request, slug: str, staff: Staff = Depends(page_user)) -> Response:
    try:
        text = export(deps_of(request), slug)
    except Refused as exc:
        return render(request, "error.html", staff, status=exc.status, message=exc.message_de)
    return Response(text, media_type="application/toml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{slug}.toml"'})


@router.get("/series-import", response_class=HTMLResponse)
def import_form(request: Request, staff: Staff = Editor) -> Response:
    return render(request, "import.html", staff, result=None, toml="")


@router.post("/series-import", response_class=HTMLResponse)
async def import_save(request: Request, staff: Staff = Editor) -> Response:
    """First a preview of every change (nothing written); „Übernehmen" applies it."""
    form = await request.form()
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read()
    else:
        raw = str(form.get("toml", "")).replace("\r\n", "\n").encode("utf-8", "surrogatepass")
    apply = str(form.get("apply", "")) == "1"
    text = raw.decode("utf-8", "replace")
    try:
        result = import_season(deps_of(request), staff, raw, dry_run=not apply)
    except Refused as exc:
        return refused_page(request, staff, exc, "import.html", result=None, toml=text)
    if apply:
        return RedirectResponse(f"/series/{result.slug}?ok=imported", status_code=303)
    return render(request, "import.html", staff, result=result, toml=text)

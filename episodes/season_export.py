"""A series as a season file: what ``GET /series/{slug}/export`` and the dashboard's
„Exportieren" give. Loading the export again (``wtg season load`` or the dashboard's import)
changes nothing: every field the loader reads is written, and nothing else.

Pure over loaded rows (no I/O).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import tomli_w

from .models import Episode, Series
from .season import DEFAULT_FIT
from .season_models import weekday_name

HEADER = """\
# Staffeldatei „{name}“ – exportiert aus wtg
# Laden: wtg season load DATEI   (oder im Dashboard unter „Reihen“ → „Importieren“)
# Die Felder sind in config/season.toml beschrieben. Erneutes Laden ändert nur, was hier
# geändert wurde; veröffentlichte Folgen bleiben, wie sie sind.

"""


def season_dict(series: Series) -> dict[str, Any]:
    """The season file's structure for ``series`` and its episodes."""
    tz = ZoneInfo(series.timezone)
    head: dict[str, Any] = {
        "slug": series.slug,
        "name": series.name,
        "timezone": series.timezone,
        "weekday": weekday_name(series.weekday),
        "time": series.time_of_day,
        "first_date": series.first_date,
        "last_date": series.last_date,
        "blackout_dates": [date.fromisoformat(d) for d in series.blackout_dates or []],
        "hashtags": list(series.hashtags or []),
        "accounts": list(series.accounts or []),
        "link": series.link or "",
        "credits": series.credits or "",
    }
    if series.templates:
        head["templates"] = {k: dict(v) for k, v in series.templates.items() if v}
    return {"series": head,
            "episodes": [_episode(ep, tz) for ep in sorted(series.episodes,
                                                           key=lambda e: e.number)]}


def _episode(ep: Episode, tz: ZoneInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"number": ep.number, "title": ep.title}
    if ep.place:
        out["place"] = ep.place
    if ep.description:
        out["description"] = ep.description
    if ep.hashtags:
        out["hashtags"] = list(ep.hashtags)
    if ep.source_path:
        out["video"] = ep.source_path
    if ep.subtitle_path:
        out["subtitles"] = ep.subtitle_path
    if ep.slot_override is not None:
        out["slot"] = ep.slot_override.astimezone(tz)
    fit = {**DEFAULT_FIT, **(ep.fit or {})}
    if fit["mode"] != DEFAULT_FIT["mode"]:
        out["fit"] = fit["mode"]
    if float(fit["focal_x"]) != DEFAULT_FIT["focal_x"]:
        out["focal_x"] = float(fit["focal_x"])
    texts = {k: dict(v) for k, v in (ep.text_overrides or {}).items() if v}
    if texts:
        out["text"] = texts
    return out


def season_toml(series: Series) -> str:
    """The season file text (UTF-8, multi-line texts as TOML multi-line strings)."""
    return HEADER.format(name=series.name) + tomli_w.dumps(season_dict(series),
                                                           multiline_strings=True)


__all__ = ["season_dict", "season_toml"]

"""The season file: a documented TOML format for a series and its episodes.

``parse_season(path)`` validates the whole file and returns a :class:`SeasonSpec` or raises
:class:`SeasonError` listing every problem (file, episode, field, in German). With
``media_check`` (a :class:`MediaCheck`, implemented in ``workers.media.intake`` and handed in by
``wtg season load``) every named video and subtitle file is probed with the dashboard upload's
rules too. ``apply_season``
writes it to the database idempotently: reloading updates, never duplicates, and refuses to
change what is already published. Nothing is written when anything is wrong.

Format (see README "Season file")::

    [series]
    slug = "wir-tun-gutes"            # stable key; reloading matches on it
    name = "Wir tun GUTes"
    timezone = "Europe/Berlin"
    weekday = "thursday"              # or "donnerstag", or 0-6 (Monday = 0)
    time = "17:00"
    first_date = 2022-11-03
    last_date = 2023-01-26
    blackout_dates = [2022-12-22, 2022-12-29]
    hashtags = ["WirTunGUTes", "LUP"]
    accounts = ["youtube-lup", "mastodon-lup"]   # names from the settings
    link = "https://..."
    credits = "..."

    [series.templates.mastodon]       # optional per-platform text template
    body = "{title}\\n\\n{description}\\n\\n{link}\\n{hashtags}"

    [[episodes]]
    number = 3
    title = "Wir tun GUTes – Folge 3: Matzlow"
    place = "Matzlow"
    description = "..."
    hashtags = ["Matzlow"]
    video = "media/03-matzlow.mp4"    # relative to the season file
    subtitles = "media/03-matzlow.srt"
    slot = 2022-11-24T17:00:00+01:00  # optional override
    fit = "pad"                       # or "crop"; focal_x = 0.5 for crop
    [episodes.text.youtube]           # optional per-platform overrides: title, body
    title = "..."
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from .calendar import assign_slots, parse_time, parse_weekday, weekly_slots
from .lifecycle import DONE, IN_FLIGHT, PostState
from .models import Episode, MediaStatus, Series
from .store import audit, ensure_posts

TEXT_FIELDS = ("title", "place", "description", "hashtags", "text_overrides")
MEDIA_FIELDS = ("source_path", "subtitle_path", "fit")
_SERIES_KEYS = {
    "slug", "name", "timezone", "weekday", "time", "first_date", "last_date", "blackout_dates",
    "hashtags", "accounts", "link", "credits", "templates",
}
_EPISODE_KEYS = {
    "number", "title", "place", "description", "hashtags", "video", "subtitles", "slot", "fit",
    "focal_x", "text",
}


@dataclass(frozen=True, kw_only=True)
class MediaFindings:
    """What a media check found in one episode's files, by season-file field (``video``,
    ``subtitles``): German errors (the load is refused) and notes (told, not refused)."""

    errors: Mapping[str, list[str]] = field(default_factory=dict)
    notes: Mapping[str, list[str]] = field(default_factory=dict)


class MediaCheck(Protocol):
    """Checks an episode's video and subtitle files (probing is a side effect, so the
    implementation lives in ``workers`` and is handed in by the composition root)."""

    def __call__(self, video: Path | None, subtitles: Path | None) -> MediaFindings: ...


class SeasonError(Exception):
    """The season file has problems; ``problems`` lists them as German sentences."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        head = f"Die Staffeldatei {path} wurde nicht geladen ({len(problems)} Problem(e)):"
        super().__init__("\n".join([head, *(f"  - {p}" for p in problems)]))


@dataclass(frozen=True, kw_only=True)
class EpisodeSpec:
    number: int
    title: str
    place: str
    description: str
    hashtags: tuple[str, ...]
    video: Path | None
    subtitles: Path | None
    slot: datetime | None
    fit: Mapping[str, Any]
    text: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, kw_only=True)
class SeasonSpec:
    path: Path
    slug: str
    name: str
    timezone: str
    weekday: int
    time: time
    first_date: date
    last_date: date
    blackout_dates: tuple[date, ...]
    hashtags: tuple[str, ...]
    accounts: tuple[str, ...]
    link: str
    credits: str
    templates: Mapping[str, Mapping[str, str]]
    episodes: tuple[EpisodeSpec, ...] = field(default_factory=tuple)
    #: what the media check noted without refusing (German, with episode and field)
    notes: tuple[str, ...] = ()

    def slots(self) -> dict[int, datetime | None]:
        tz = ZoneInfo(self.timezone)
        slots = weekly_slots(
            first=self.first_date, last=self.last_date, weekday=self.weekday, at=self.time,
            tz=tz, blackout=self.blackout_dates,
        )
        overrides = {e.number: e.slot for e in self.episodes if e.slot is not None}
        return assign_slots([e.number for e in self.episodes], slots, overrides)


def ep_label(number: int) -> str:
    return "Trailer (Folge 0)" if number == 0 else f"Folge {number}"


def parse_season(
    path: Path, *, known_accounts: set[str] | None = None, media_check: MediaCheck | None = None
) -> SeasonSpec:
    """Read and validate a season file; raises SeasonError listing every problem.

    ``media_check`` (optional) probes each episode's video and subtitle files with the same
    rules as the dashboard upload; its errors join the problems, its notes land in ``notes``.
    """
    problems: list[str] = []
    notes: list[str] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SeasonError(path, [f"Datei nicht lesbar: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        msg = "Die Datei ist nicht UTF-8-kodiert. Bitte als UTF-8 speichern."
        raise SeasonError(path, [msg]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SeasonError(path, [f"TOML-Syntaxfehler: {exc}"]) from None

    base = path.parent
    s = data.get("series")
    if not isinstance(s, dict):
        raise SeasonError(path, ["Abschnitt [series] fehlt."])
    p = _Collector(problems, "[series]")
    for key in sorted(set(s) - _SERIES_KEYS):
        p.add(key, "unbekanntes Feld (Tippfehler?)")
    slug = p.text(s, "slug", required=True, pattern="slug")
    name = p.text(s, "name", required=True)
    tzname = p.text(s, "timezone") or "Europe/Berlin"
    try:
        ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError):
        p.add("timezone", f"unbekannte Zeitzone {tzname!r}")
        tzname = "Europe/Berlin"
    weekday = p.convert(s, "weekday", parse_weekday, default=3)
    at = p.convert(s, "time", parse_time, default=time(17, 0))
    first = p.date(s, "first_date", required=True)
    last = p.date(s, "last_date", required=True)
    if first and last and last < first:
        p.add("last_date", "liegt vor first_date")
    blackouts = tuple(p.date_list(s, "blackout_dates"))
    hashtags = tuple(p.str_list(s, "hashtags"))
    accounts = tuple(p.str_list(s, "accounts"))
    if known_accounts is not None:
        for a in accounts:
            if a not in known_accounts:
                known = ", ".join(sorted(known_accounts)) or "keine"
                p.add("accounts", f"Konto {a!r} ist in den Einstellungen nicht angelegt "
                      f"(angelegt: {known})")
    templates = s.get("templates", {})
    if not isinstance(templates, dict):
        p.add("templates", "muss eine Tabelle je Plattform sein")
        templates = {}

    episodes: list[EpisodeSpec] = []
    raw_eps = data.get("episodes", [])
    if not isinstance(raw_eps, list) or not raw_eps:
        problems.append("Keine Folgen: mindestens ein [[episodes]]-Eintrag ist nötig.")
        raw_eps = []
    seen: set[int] = set()
    for i, e in enumerate(raw_eps, 1):
        number = e.get("number")
        where = ep_label(number) if isinstance(number, int) else f"Eintrag {i} unter [[episodes]]"
        q = _Collector(problems, where)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            q.add("number", "muss eine ganze Zahl ab 0 sein (0 = Trailer)")
            continue
        if number in seen:
            q.add("number", "kommt mehrfach vor")
            continue
        seen.add(number)
        for key in sorted(set(e) - _EPISODE_KEYS):
            q.add(key, "unbekanntes Feld (Tippfehler?)")
        title = q.text(e, "title", required=True)
        video = q.path(e, "video", base)
        subtitles = q.path(e, "subtitles", base)
        if media_check is not None and (video or subtitles):
            found = media_check(video, subtitles)
            for key, messages in found.errors.items():
                for msg in messages:
                    q.add(key, msg)
            notes += [f"{where}, Feld '{key}': {msg}"
                      for key, messages in found.notes.items() for msg in messages]
        slot = e.get("slot")
        if slot is not None:
            if isinstance(slot, datetime):
                if slot.tzinfo is None:
                    slot = slot.replace(tzinfo=ZoneInfo(tzname))
            else:
                q.add("slot", "muss Datum und Uhrzeit sein, z. B. 2022-11-24T17:00:00+01:00")
                slot = None
        fit_mode = e.get("fit", "pad")
        if fit_mode not in ("pad", "crop"):
            q.add("fit", "erlaubt sind pad (unscharfer Hintergrund) oder crop (Ausschnitt)")
        focal = e.get("focal_x", 0.5)
        if not isinstance(focal, int | float) or not 0 <= focal <= 1:
            q.add("focal_x", "muss zwischen 0 (links) und 1 (rechts) liegen")
            focal = 0.5
        text = e.get("text", {})
        if not isinstance(text, dict) or not all(isinstance(v, dict) for v in text.values()):
            q.add("text", "je Plattform eine Tabelle, z. B. [episodes.text.youtube]")
            text = {}
        episodes.append(
            EpisodeSpec(
                number=number, title=title or "", place=q.text(e, "place") or "",
                description=q.text(e, "description") or "",
                hashtags=tuple(q.str_list(e, "hashtags")), video=video, subtitles=subtitles,
                slot=slot, fit={"mode": fit_mode, "focal_x": float(focal)}, text=text,
            )
        )
    if problems:
        raise SeasonError(path, problems)
    spec = SeasonSpec(
        path=path, slug=slug or "", name=name or "", timezone=tzname, weekday=weekday,
        time=at, first_date=first, last_date=last,  # type: ignore[arg-type]
        blackout_dates=blackouts, hashtags=hashtags, accounts=accounts, link=s.get("link", ""),
        credits=s.get("credits", ""), templates=templates,
        episodes=tuple(sorted(episodes, key=lambda e: e.number)), notes=tuple(notes),
    )
    unslotted = [n for n, at_ in spec.slots().items() if at_ is None]
    if unslotted:
        raise SeasonError(path, [
            f"Zu wenige Sendetermine: {', '.join(ep_label(n) for n in unslotted)} "
            "hätte keinen Termin. Bitte last_date später setzen oder Sperrtermine streichen."
        ])
    return spec


@dataclass(frozen=True)
class LoadReport:
    series_id: int
    created: list[int]
    updated: list[int]
    unchanged: list[int]
    removed: list[int]
    posts_created: int


def apply_season(
    s: Session, spec: SeasonSpec, accounts: Mapping[str, Any], *, actor: str = "cli"
) -> LoadReport:
    """Write ``spec`` to the database; raises SeasonError (nothing written) if it would change
    a published or in-flight episode."""
    series = s.query(Series).filter_by(slug=spec.slug).one_or_none()
    slots = spec.slots()
    problems: list[str] = []
    if series is None:
        series = Series(slug=spec.slug)
        s.add(series)
    existing = {e.number: e for e in series.episodes}
    frozen_states = {str(x) for x in DONE | IN_FLIGHT}
    created, updated, unchanged, removed = [], [], [], []
    for e in spec.episodes:
        ep = existing.get(e.number)
        values = _episode_values(e)
        if ep is None:
            ep = Episode(number=e.number, **values)
            ep.media_status = MediaStatus.QUEUED if e.video else MediaStatus.MISSING
            series.episodes.append(ep)
            created.append(e.number)
        else:
            changed = [k for k, v in values.items() if getattr(ep, k) != v]
            locked = any(p.state in frozen_states for p in ep.posts)
            if changed and locked:
                problems.append(
                    f"{ep_label(e.number)}: ist bereits veröffentlicht oder wird gerade gesendet; "
                    f"Änderungen an {', '.join(changed)} sind nicht erlaubt."
                )
                continue
            if changed:
                for k in changed:
                    setattr(ep, k, values[k])
                ep.revision += 1  # voids an approval (four eyes)
                if any(k in MEDIA_FIELDS for k in changed):
                    ep.media_status = MediaStatus.QUEUED if ep.source_path else MediaStatus.MISSING
                    ep.media_problems = []
                    for p in ep.posts:
                        if p.state in (PostState.READY, PostState.PREPARING):
                            p.state = str(PostState.PENDING)
                updated.append(e.number)
            else:
                unchanged.append(e.number)
        if e.slot is not None:
            ep.slot_override = e.slot
        if not any(p.state in frozen_states for p in ep.posts):
            planned = slots[e.number]
            # a hold or reschedule since the last load stays, unless the file changed the plan
            if ep.slot_at is None or ep.planned_slot_at != planned:
                ep.slot_at = planned
            ep.planned_slot_at = planned
    wanted = {e.number for e in spec.episodes}
    for number, ep in existing.items():
        if number in wanted:
            continue
        if any(p.state in frozen_states for p in ep.posts):
            problems.append(
                f"{ep_label(number)} fehlt in der Datei, ist aber schon veröffentlicht; "
                "sie bleibt und kann nicht entfernt werden."
            )
            continue
        series.episodes.remove(ep)
        removed.append(number)
    if problems:  # the caller's transaction rolls back: nothing is written
        raise SeasonError(spec.path, problems)
    series.name = spec.name
    series.timezone = spec.timezone
    series.weekday = spec.weekday
    series.time_of_day = spec.time.strftime("%H:%M")
    series.first_date = spec.first_date
    series.last_date = spec.last_date
    series.blackout_dates = [d.isoformat() for d in spec.blackout_dates]
    series.hashtags = list(spec.hashtags)
    series.accounts = list(spec.accounts)
    series.link = spec.link
    series.credits = spec.credits
    series.templates = {k: dict(v) for k, v in spec.templates.items()}
    series.source_file = str(spec.path)
    s.flush()
    posts_created = ensure_posts(s, series, accounts)
    if created or updated or removed or posts_created:
        audit(
            s, actor, "season.load", f"series:{series.slug}", file=str(spec.path),
            created=created, updated=updated, removed=removed, digest=_digest(spec.path),
        )
    return LoadReport(series.id, created, updated, unchanged, removed, posts_created)


def _episode_values(e: EpisodeSpec) -> dict[str, Any]:
    return {
        "title": e.title,
        "place": e.place,
        "description": e.description,
        "hashtags": list(e.hashtags),
        "text_overrides": {k: dict(v) for k, v in e.text.items()},
        "source_path": str(e.video) if e.video else None,
        "subtitle_path": str(e.subtitles) if e.subtitles else None,
        "fit": dict(e.fit),
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class _Collector:
    """Collects German problems for one section of the file."""

    def __init__(self, problems: list[str], where: str) -> None:
        self.problems = problems
        self.where = where

    def add(self, key: str, msg: str) -> None:
        self.problems.append(f"{self.where}, Feld '{key}': {msg}")

    def text(
        self, d: Mapping[str, Any], key: str, *, required: bool = False, pattern: str = ""
    ) -> str | None:
        v = d.get(key)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                self.add(key, "fehlt")
            return None
        if not isinstance(v, str):
            self.add(key, "muss Text in Anführungszeichen sein")
            return None
        if pattern == "slug" and not all(c.isalnum() or c in "-_" for c in v):
            self.add(key, "nur Buchstaben, Ziffern, - und _")
        return v.strip()

    def convert(self, d: Mapping[str, Any], key: str, fn: Any, default: Any) -> Any:
        if key not in d:
            return default
        try:
            return fn(d[key])
        except (ValueError, AttributeError, TypeError) as exc:
            self.add(key, str(exc))
            return default

    def date(self, d: Mapping[str, Any], key: str, *, required: bool = False) -> date | None:
        v = d.get(key)
        if v is None:
            if required:
                self.add(key, "fehlt (Datum wie 2022-11-03, ohne Anführungszeichen)")
            return None
        if isinstance(v, datetime) or not isinstance(v, date):
            self.add(key, "muss ein Datum wie 2022-11-03 sein (ohne Anführungszeichen)")
            return None
        return v

    def date_list(self, d: Mapping[str, Any], key: str) -> list[date]:
        v = d.get(key, [])
        if not isinstance(v, list) or not all(
            isinstance(x, date) and not isinstance(x, datetime) for x in v
        ):
            self.add(key, "muss eine Liste von Daten sein, z. B. [2022-12-22, 2022-12-29]")
            return []
        return v

    def str_list(self, d: Mapping[str, Any], key: str) -> list[str]:
        v = d.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.add(key, 'muss eine Liste von Texten sein, z. B. ["Ehrenamt", "LUP"]')
            return []
        return [x.lstrip("#").strip() for x in v]

    def path(self, d: Mapping[str, Any], key: str, base: Path) -> Path | None:
        v = d.get(key)
        if v is None:
            return None
        if not isinstance(v, str) or not v.strip():
            self.add(key, "muss ein Dateipfad in Anführungszeichen sein")
            return None
        p = Path(v)
        p = p if p.is_absolute() else (base / p)
        if not p.is_file():
            self.add(key, f"Datei {p} nicht gefunden")
            return None
        return p.resolve()

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
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session

from .calendar import assign_slots, local_slot, weekly_slots
from .lifecycle import DONE, DUE_FROM, IN_FLIGHT, PostState
from .models import Episode, MediaStatus, Series
from .season_models import EpisodeFields, SeriesFields, problems_of
from .store import audit, ensure_posts, transition

TEXT_FIELDS = ("title", "place", "description", "hashtags", "text_overrides")
MEDIA_FIELDS = ("source_path", "subtitle_path", "fit")
#: posts in these states freeze their episode (its texts, media and slot)
FROZEN_STATES = frozenset(str(x) for x in DONE | IN_FLIGHT)


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


class SeasonConflict(SeasonError):
    """The file is valid, but it would change or remove what is published or being sent."""


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
    #: sha256 (16 hex digits) of the file's bytes, for the audit trail
    digest: str = ""
    #: read from a file on this machine (``wtg season load``), not imported in the dashboard
    from_file: bool = True

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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SeasonError(path, [f"Datei nicht lesbar: {exc.strerror or exc}"]) from None
    return parse_season_text(raw, origin=path, base=path.parent, known_accounts=known_accounts,
                             media_check=media_check)


def parse_season_text(
    raw: bytes, *, origin: Path, base: Path | None, known_accounts: set[str] | None = None,
    media_check: MediaCheck | None = None,
) -> SeasonSpec:
    """Validate the bytes of a season file. ``base`` is the folder that relative ``video`` and
    ``subtitles`` paths are resolved against; ``None`` (an import through the dashboard) takes
    only absolute paths and does not look at them (files come by upload there)."""
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        msg = "Die Datei ist nicht UTF-8-kodiert. Bitte als UTF-8 speichern."
        raise SeasonError(origin, [msg]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SeasonError(origin, [f"TOML-Syntaxfehler: {exc}"]) from None
    if not isinstance(data.get("series"), dict):
        raise SeasonError(origin, ["Abschnitt [series] fehlt."])
    context = {"source": "file", "base": base, "known_accounts": known_accounts}
    problems: list[str] = [f"Abschnitt [{key}]: unbekannt (Tippfehler?)"
                           for key in sorted(set(data) - {"series", "episodes"})]
    try:
        series: SeriesFields | None = SeriesFields.model_validate(data["series"], context=context)
    except ValidationError as exc:
        series = None
        problems += [f"[series], Feld '{p.field}': {p.message_de}" for p in problems_of(exc)]
    raw_eps = data.get("episodes", [])
    if not isinstance(raw_eps, list) or not raw_eps:
        problems.append("Keine Folgen: mindestens ein [[episodes]]-Eintrag ist nötig.")
        raw_eps = []
    episodes, notes = _episodes(raw_eps, context, problems, media_check)
    if problems or series is None:
        raise SeasonError(origin, problems)
    tz = ZoneInfo(series.timezone)
    spec = SeasonSpec(
        path=origin, slug=series.slug, name=series.name, timezone=series.timezone,
        weekday=series.weekday, time=series.time, first_date=series.first_date,
        last_date=series.last_date, blackout_dates=tuple(series.blackout_dates),
        hashtags=tuple(series.hashtags), accounts=tuple(series.accounts), link=series.link,
        credits=series.credits, templates=series.templates,
        episodes=tuple(sorted((_spec_of(e, tz) for e in episodes), key=lambda e: e.number)),
        notes=tuple(notes), digest=hashlib.sha256(raw).hexdigest()[:16], from_file=base is not None,
    )
    unslotted = [n for n, at_ in spec.slots().items() if at_ is None]
    if unslotted:
        raise SeasonError(origin, [too_few_slots(unslotted)])
    return spec


def too_few_slots(numbers: list[int]) -> str:
    return (f"Zu wenige Sendetermine: {', '.join(ep_label(n) for n in numbers)} hätte keinen "
            "Termin. Bitte last_date später setzen oder Sperrtermine streichen.")


def _episodes(raw_eps: list[Any], context: dict[str, Any], problems: list[str],
              media_check: MediaCheck | None) -> tuple[list[EpisodeFields], list[str]]:
    """Each ``[[episodes]]`` entry through the shared model; media checks on valid entries."""
    out: list[EpisodeFields] = []
    notes: list[str] = []
    seen: set[int] = set()
    for i, entry in enumerate(raw_eps, 1):
        number = entry.get("number") if isinstance(entry, dict) else None
        valid_number = isinstance(number, int) and not isinstance(number, bool) and number >= 0
        where = ep_label(number) if valid_number else f"Eintrag {i} unter [[episodes]]"
        if valid_number and number in seen:
            problems.append(f"{where}, Feld 'number': kommt mehrfach vor")
            continue
        if valid_number:
            seen.add(number)  # type: ignore[arg-type]
        try:
            ep = EpisodeFields.model_validate(entry, context=context)
        except ValidationError as exc:
            problems += [f"{where}, Feld '{p.field}': {p.message_de}" for p in problems_of(exc)]
            continue
        if media_check is not None and (ep.video or ep.subtitles):
            found = media_check(ep.video, ep.subtitles)
            problems += [f"{where}, Feld '{key}': {msg}"
                         for key, messages in found.errors.items() for msg in messages]
            notes += [f"{where}, Feld '{key}': {msg}"
                      for key, messages in found.notes.items() for msg in messages]
        out.append(ep)
    return out, notes


def _spec_of(e: EpisodeFields, tz: ZoneInfo) -> EpisodeSpec:
    slot = e.slot
    if slot is not None and slot.tzinfo is None:  # wall-clock time of the series
        slot = local_slot(slot.date(), slot.time(), tz)
    return EpisodeSpec(
        number=e.number, title=e.title, place=e.place, description=e.description,
        hashtags=tuple(e.hashtags), video=e.video, subtitles=e.subtitles, slot=slot,
        fit={"mode": e.fit, "focal_x": e.focal_x}, text=e.text,
    )


@dataclass(frozen=True)
class LoadReport:
    series_id: int
    created: list[int]
    updated: list[int]
    unchanged: list[int]
    removed: list[int]
    posts_created: int


def apply_season(
    s: Session, spec: SeasonSpec, accounts: Mapping[str, Any], *, actor: str = "cli",
    editor: str | None = None,
) -> LoadReport:
    """Write ``spec`` to the database; raises SeasonConflict (nothing written: the caller's
    transaction rolls back) if it would change a published or in-flight episode. ``editor``
    (a person, for loads through the dashboard) becomes the last editor of every created or
    changed episode, so that person cannot approve them (four eyes)."""
    series = s.query(Series).filter_by(slug=spec.slug).one_or_none()
    slots = spec.slots()
    problems: list[str] = []
    if series is None:
        series = Series(slug=spec.slug)
        s.add(series)
    existing = {e.number: e for e in series.episodes}
    created, updated, unchanged, removed = [], [], [], []
    for e in spec.episodes:
        ep = existing.get(e.number)
        values = episode_values(e)
        if ep is None:
            ep = Episode(number=e.number, **values)
            ep.media_status = MediaStatus.QUEUED if e.video else MediaStatus.MISSING
            ep.edited_by = editor
            series.episodes.append(ep)
            created.append(e.number)
        else:
            changed = changed_fields(ep, values)
            if changed and is_frozen(ep):
                problems.append(
                    f"{ep_label(e.number)}: ist bereits veröffentlicht oder wird gerade gesendet; "
                    f"Änderungen an {', '.join(changed)} sind nicht erlaubt."
                )
                continue
            if changed:
                setepisode_values(ep, values, changed, editor=editor)
                updated.append(e.number)
            else:
                unchanged.append(e.number)
        if ep.slot_override != e.slot:
            ep.slot_override = e.slot
        if not is_frozen(ep):
            follow_plan(ep, slots[e.number])
    wanted = {e.number for e in spec.episodes}
    for number, ep in existing.items():
        if number in wanted:
            continue
        if is_frozen(ep):
            problems.append(
                f"{ep_label(number)} fehlt in der Datei, ist aber schon veröffentlicht; "
                "sie bleibt und kann nicht entfernt werden."
            )
            continue
        series.episodes.remove(ep)
        removed.append(number)
    if problems:  # the caller's transaction rolls back: nothing is written
        raise SeasonConflict(spec.path, problems)
    old_accounts = list(series.accounts or [])
    for key, value in series_values(spec).items():
        if getattr(series, key) != value:
            setattr(series, key, value)
    if spec.from_file and series.source_file != str(spec.path):
        series.source_file = str(spec.path)
    s.flush()
    sync_account_posts(s, series, old_accounts)
    posts_created = ensure_posts(s, series, accounts)
    if created or updated or removed or posts_created:
        audit(
            s, actor, "season.load", f"series:{series.slug}", file=str(spec.path),
            created=created, updated=updated, removed=removed, digest=spec.digest,
        )
    return LoadReport(series.id, created, updated, unchanged, removed, posts_created)


def is_frozen(ep: Episode) -> bool:
    """True while a post of the episode is in flight or out: its texts, media and slot stay."""
    return any(p.state in FROZEN_STATES for p in ep.posts)


def follow_plan(ep: Episode, planned: datetime | None) -> None:
    """The episode's slot from the plan; a hold or reschedule since the last plan stays, unless
    the plan for this episode changed."""
    if ep.slot_at is None or ep.planned_slot_at != planned:
        ep.slot_at = planned
    if ep.planned_slot_at != planned:
        ep.planned_slot_at = planned


def series_values(spec: Any) -> dict[str, Any]:
    """Column values of a series row from a validated series (spec or model)."""
    return {
        "name": spec.name, "timezone": spec.timezone, "weekday": spec.weekday,
        "time_of_day": spec.time.strftime("%H:%M"), "first_date": spec.first_date,
        "last_date": spec.last_date,
        "blackout_dates": [d.isoformat() for d in spec.blackout_dates],
        "hashtags": list(spec.hashtags), "accounts": list(spec.accounts), "link": spec.link,
        "credits": spec.credits, "templates": {k: dict(v) for k, v in spec.templates.items()},
    }


def sync_account_posts(s: Session, series: Series, old: list[str] | None) -> None:
    """Waiting posts on an account taken out of the series are cancelled; putting the account
    back lets them wait again."""
    if old is None:
        return
    now, before = set(series.accounts or []), set(old)
    if now == before:
        return
    moved = False
    for ep in series.episodes:
        for p in ep.posts:
            name = p.account.name
            if name in before - now and p.state in {str(x) for x in DUE_FROM}:
                moved |= transition(s, p.id, PostState.CANCELLED)
            elif name in now - before and p.state == PostState.CANCELLED:
                moved |= transition(s, p.id, PostState.PENDING)
    if moved:
        s.expire_all()  # the rows changed in SQL, not through the loaded objects


DEFAULT_FIT = {"mode": "pad", "focal_x": 0.5}


def changed_fields(ep: Episode, values: Mapping[str, Any]) -> list[str]:
    """The episode columns that ``values`` would change (missing defaults count as equal)."""
    def norm(key: str, value: Any) -> Any:
        if key == "fit":
            return {**DEFAULT_FIT, **(value or {})}
        if key in ("hashtags", "text_overrides"):
            return value or type(values[key])()
        return value
    return [k for k, v in values.items() if norm(k, getattr(ep, k)) != norm(k, v)]


def setepisode_values(ep: Episode, values: Mapping[str, Any], changed: list[str], *,
                       editor: str | None = None) -> None:
    """Apply changed values: a new revision (an approval is void); new media is prepared again
    and posts that were ready wait for it."""
    for k in changed:
        setattr(ep, k, values[k])
    ep.revision += 1  # voids an approval (four eyes)
    if editor is not None:
        ep.edited_by = editor
    if any(k in MEDIA_FIELDS for k in changed):
        ep.media_status = MediaStatus.QUEUED if ep.source_path else MediaStatus.MISSING
        ep.media_problems = []
        for p in ep.posts:
            if p.state in (PostState.READY, PostState.PREPARING):
                p.state = str(PostState.PENDING)


def episode_values(e: EpisodeSpec) -> dict[str, Any]:
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

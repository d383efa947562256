"""The rules of a series and its episodes, written once: pydantic models with German messages,
shared by the season file (:mod:`episodes.season`), the dashboard's forms and its JSON API.

Each rule lives in one annotated type below (``Slug``, ``Weekday``, ``SeasonDate`` …); the models
only combine them. A failed validation is turned into German sentences by :func:`problems_of`
(the season file prefixes them with ``[series]`` or the episode, the API returns them as
``detail``).

Validation context (``Model.model_validate(data, context={...})``):

* ``source``: ``"file"`` for TOML (dates must be TOML dates, not text; paths are files beside
  the season file) or ``"json"`` (default: the API and the forms send dates as ISO text).
* ``base``: the season file's folder (``video``/``subtitles`` are resolved against it); without
  it (an import through the dashboard) only absolute paths are taken, and not looked at.
* ``known_accounts``: the account names of the settings (unknown ones are refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from config.settings import KNOWN_PLATFORMS

from .calendar import WEEKDAYS_DE, parse_time, parse_weekday

FIRST_YEAR, LAST_YEAR = 2000, 2099
MAX_SEASON_DAYS = 5 * 366  # a weekly series of at most five years (about 260 slots)
TEXT_PARTS = ("title", "body")


def _no(message_de: str) -> PydanticCustomError:
    return PydanticCustomError("wtg", message_de)


def _ctx(info: ValidationInfo) -> Mapping[str, Any]:
    return info.context or {}


def _from_file(info: ValidationInfo) -> bool:
    return _ctx(info).get("source") == "file"


# --- text -------------------------------------------------------------------------------------
def _text(value: Any, *, max_len: int, required: bool, single_line: bool = False) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _no("fehlt")
        return ""
    if not isinstance(value, str):
        raise _no("muss Text in Anführungszeichen sein")
    if "\x00" in value:
        raise _no("darf kein Nullzeichen enthalten")
    value = value.strip()
    if single_line and any(c in value for c in "\r\n\x0b\x0c\x85\u2028\u2029"):
        raise _no("darf keinen Zeilenumbruch enthalten")
    if len(value) > max_len:
        raise _no(f"ist zu lang ({len(value)} Zeichen, höchstens {max_len})")
    return value


def text_type(max_len: int, *, required: bool = False, single_line: bool = False) -> Any:
    """A stripped text of at most ``max_len`` characters (``required``: not empty;
    ``single_line``: no line break)."""
    schema: dict[str, Any] = {"type": "string", "maxLength": max_len}
    if required:
        schema["minLength"] = 1
        schema["pattern"] = r"\S"
    return Annotated[str, BeforeValidator(
        lambda v: _text(v, max_len=max_len, required=required, single_line=single_line)),
        WithJsonSchema(schema)]


def _slug(value: Any) -> str:
    value = _text(value, max_len=64, required=True, single_line=True)
    if not all(c.isalnum() or c in "-_" for c in value):
        raise _no("nur Buchstaben, Ziffern, - und _")
    if value in ("new", "import"):  # names of the dashboard's own pages under /series/
        raise _no(f"„{value}“ ist reserviert; bitte ein anderes Kürzel wählen")
    return value


def _timezone(value: Any) -> str:
    value = _text(value, max_len=64, required=False) or "Europe/Berlin"
    try:
        ZoneInfo(value)
    except Exception:  # ZoneInfoNotFoundError, ValueError for odd keys
        raise _no(f"unbekannte Zeitzone {value!r}") from None
    return value


def _weekday(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _no("Wochentag als Name (donnerstag, thursday) oder Zahl 0 (Montag) bis 6")
    try:
        return parse_weekday(value)
    except ValueError as exc:
        raise _no(str(exc)) from None


def _time(value: Any) -> dtime:
    if isinstance(value, dtime):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if not isinstance(value, str):
        raise _no("Uhrzeit bitte als HH:MM angeben, z. B. 17:00")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise _no(str(exc)) from None


# --- dates and times --------------------------------------------------------------------------
_DATE_DE = "muss ein Datum wie 2022-11-03 sein"


def _in_range(day: date) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _no(f"muss zwischen {FIRST_YEAR} und {LAST_YEAR} liegen")
    return day


def _one_date(value: Any, info: ValidationInfo) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return _in_range(value)
    if _from_file(info) or not isinstance(value, str):
        raise _no(f"{_DATE_DE} (ohne Anführungszeichen)" if _from_file(info) else _DATE_DE)
    try:
        return _in_range(date.fromisoformat(value.strip()))
    except ValueError:
        raise _no(_DATE_DE) from None


def _date(value: Any, info: ValidationInfo) -> date:
    if value is None:
        raise _no("fehlt (Datum wie 2022-11-03, ohne Anführungszeichen)")
    return _one_date(value, info)


def _dates(value: Any, info: ValidationInfo) -> list[date]:
    example = "muss eine Liste von Daten sein, z. B. [2022-12-22, 2022-12-29]"
    if value is None:
        return []
    if not isinstance(value, list):
        raise _no(example)
    if len(value) > 400:
        raise _no("höchstens 400 Sperrtermine")
    out = []
    for item in value:
        try:
            day = _one_date(item, info)
        except PydanticCustomError as exc:
            raise _no(example if "Datum wie" in exc.message() else exc.message()) from None
        if day not in out:
            out.append(day)
    return sorted(out)


def _slot(value: Any, info: ValidationInfo) -> datetime | None:
    """An instant; without an offset it is wall-clock time of the series (localised later)."""
    if value is None:
        return None
    example = "muss Datum und Uhrzeit sein, z. B. 2022-11-24T17:00:00+01:00"
    if isinstance(value, str) and not _from_file(info):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _no(example) from None
    if not isinstance(value, datetime):
        raise _no(example)
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise _no(f"muss zwischen {FIRST_YEAR} und {LAST_YEAR} liegen")
    return value  # seconds stay: tests and the demo use slots seconds apart


# --- lists and tables -------------------------------------------------------------------------
def _names(value: Any, *, what: str, most: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise _no(f'muss eine Liste von Texten sein, z. B. {what}')
    if len(value) > most:
        raise _no(f"höchstens {most} Einträge")
    out: list[str] = []
    for raw in value:
        item = raw.strip().lstrip("#").strip()
        if "\x00" in item or len(item) > 100:
            raise _no(f"{raw[:40]!r} ist zu lang oder enthält ein Nullzeichen")
        if item and item not in out:
            out.append(item)
    return out


def _hashtags(value: Any) -> list[str]:
    return _names(value, what='["Ehrenamt", "LUP"]', most=30)


def _accounts(value: Any, info: ValidationInfo) -> list[str]:
    names = _names(value, what='["youtube-lup", "mastodon-lup"]', most=50)
    known = _ctx(info).get("known_accounts")
    if known is not None:
        unknown = [a for a in names if a not in known]
        if unknown:
            listed = ", ".join(sorted(known)) or "keine"
            if len(unknown) == 1:
                raise _no(f"Konto {unknown[0]!r} ist in den Einstellungen nicht angelegt "
                          f"(angelegt: {listed})")
            raise _no(f"Konten {', '.join(repr(a) for a in unknown)} sind in den Einstellungen "
                      f"nicht angelegt (angelegt: {listed})")
    return names


def _per_platform(value: Any, example: str) -> dict[str, dict[str, str]]:
    """``{platform: {"title": …, "body": …}}`` (templates of a series, texts of an episode)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise _no(example)
    out: dict[str, dict[str, str]] = {}
    for platform, parts in value.items():
        if platform not in KNOWN_PLATFORMS:
            raise _no(f"unbekannte Plattform {platform!r} (möglich: "
                      f"{', '.join(KNOWN_PLATFORMS)})")
        entry = {}
        for part, text in parts.items():
            if part not in TEXT_PARTS:
                raise _no(f"{platform}: unbekanntes Feld {part!r} (möglich: title, body)")
            if text is None:
                continue
            try:
                cleaned = _text(text, max_len=10000, required=False)
            except PydanticCustomError as exc:
                raise _no(f"{platform}.{part}: {exc.message()}") from None
            if cleaned:
                entry[part] = cleaned
        if entry:
            out[platform] = entry
    return out


def _templates(value: Any) -> dict[str, dict[str, str]]:
    return _per_platform(value, "muss eine Tabelle je Plattform sein")


def _texts(value: Any) -> dict[str, dict[str, str]]:
    return _per_platform(value, "je Plattform eine Tabelle, z. B. [episodes.text.youtube]")


# --- episodes ---------------------------------------------------------------------------------
def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9999:
        raise _no("muss eine ganze Zahl ab 0 sein (0 = Trailer)")
    return value


def _file(value: Any, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise _no("muss ein Dateipfad in Anführungszeichen sein")
    path = Path(value)
    base = _ctx(info).get("base")
    if base is None:  # an import through the dashboard: files come by upload only
        if not path.is_absolute():
            raise _no("Videos und Untertitel bitte auf der Seite der Folge hochladen; im Import "
                      "über das Dashboard bleibt nur der bisherige Pfad stehen")
        return path
    path = path if path.is_absolute() else Path(base) / path
    if not path.is_file():
        raise _no(f"Datei {path} nicht gefunden")
    return path.resolve()


def _fit(value: Any) -> str:
    if value is None:
        return "pad"
    if value not in ("pad", "crop"):
        raise _no("erlaubt sind pad (unscharfer Hintergrund) oder crop (Ausschnitt)")
    return str(value)


def _focal(value: Any) -> float:
    if value is None:
        return 0.5
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _no("muss zwischen 0 (links) und 1 (rechts) liegen")
    return float(value)


_PER_PLATFORM_SCHEMA = {
    "type": "object",
    "properties": {p: {"type": "object", "properties": {
        "title": {"type": "string", "maxLength": 10000},
        "body": {"type": "string", "maxLength": 10000}}, "additionalProperties": False}
        for p in KNOWN_PLATFORMS},
    "additionalProperties": False,
}
_DATE_SCHEMA = {"type": "string", "format": "date", "example": "2022-11-03"}

Slug = Annotated[str, BeforeValidator(_slug),
                 WithJsonSchema({"type": "string", "maxLength": 64, "pattern": r"^[\w-]+$"})]
Name = text_type(200, required=True, single_line=True)
Title = text_type(300, required=True, single_line=True)
Place = text_type(200, single_line=True)
Description = text_type(10000)
Link = text_type(500, single_line=True)
Credits = text_type(500, single_line=True)
Timezone = Annotated[str, BeforeValidator(_timezone),
                     WithJsonSchema({"type": "string", "example": "Europe/Berlin"})]
Weekday = Annotated[int, BeforeValidator(_weekday), WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 6},
               {"type": "string", "example": "donnerstag"}]})]
TimeOfDay = Annotated[dtime, BeforeValidator(_time),
                      WithJsonSchema({"type": "string", "pattern": r"^\d{1,2}:\d{2}$",
                                      "example": "17:00"})]
SeasonDate = Annotated[date, BeforeValidator(_date), WithJsonSchema(_DATE_SCHEMA)]
Blackouts = Annotated[list[date], BeforeValidator(_dates),
                      WithJsonSchema({"type": "array", "items": _DATE_SCHEMA, "maxItems": 400})]
Hashtags = Annotated[list[str], BeforeValidator(_hashtags), WithJsonSchema(
    {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 30})]
Accounts = Annotated[list[str], BeforeValidator(_accounts), WithJsonSchema(
    {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 50})]
Templates = Annotated[dict[str, dict[str, str]], BeforeValidator(_templates),
                      WithJsonSchema(_PER_PLATFORM_SCHEMA)]
Texts = Annotated[dict[str, dict[str, str]], BeforeValidator(_texts),
                  WithJsonSchema(_PER_PLATFORM_SCHEMA)]
Number = Annotated[int, BeforeValidator(_number),
                   WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 9999})]
FilePath = Annotated[Path | None, BeforeValidator(_file), WithJsonSchema({"type": "string"})]
Slot = Annotated[datetime | None, BeforeValidator(_slot), WithJsonSchema(
    {"type": "string", "format": "date-time", "example": "2022-11-24T17:00:00+01:00"})]
Fit = Annotated[str, BeforeValidator(_fit), WithJsonSchema({"enum": ["pad", "crop"]})]
Focal = Annotated[float, BeforeValidator(_focal),
                  WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]

_STRICT = ConfigDict(extra="forbid", validate_default=True)


class SeriesFields(BaseModel):
    """A series as in the season file's ``[series]`` table (and the API's ``POST /series``)."""

    model_config = _STRICT
    slug: Slug
    name: Name
    timezone: Timezone = "Europe/Berlin"
    weekday: Weekday = 3
    time: TimeOfDay = dtime(17, 0)
    first_date: SeasonDate
    last_date: SeasonDate
    blackout_dates: Blackouts = Field(default_factory=list)
    hashtags: Hashtags = Field(default_factory=list)
    accounts: Accounts = Field(default_factory=list)
    link: Link = ""
    credits: Credits = ""
    templates: Templates = Field(default_factory=dict)

    @field_validator("last_date")
    @classmethod
    def _after_first(cls, last: date, info: ValidationInfo) -> date:
        first = info.data.get("first_date")
        if first is not None and last < first:
            raise _no("liegt vor first_date")
        if first is not None and (last - first).days > MAX_SEASON_DAYS:
            raise _no("liegt mehr als fünf Jahre nach first_date")
        return last


class EpisodeTexts(BaseModel):
    """What staff write for an episode."""

    model_config = _STRICT
    title: Title
    place: Place = ""
    description: Description = ""
    hashtags: Hashtags = Field(default_factory=list)
    text: Texts = Field(default_factory=dict)


class EpisodeIn(EpisodeTexts):
    """A new episode from the dashboard or the API (files come by upload)."""

    number: Number | None = Field(None, description="leer: die nächste freie Nummer")
    slot: Slot = Field(None, description="eigener Termin (ISO 8601 mit Offset); leer: der "
                       "nächste Termin der Reihe")
    fit: Fit = "pad"
    focal_x: Focal = 0.5


class EpisodeFields(EpisodeIn):
    """An ``[[episodes]]`` entry of the season file."""

    number: Number  # type: ignore[assignment]
    video: FilePath = None
    subtitles: FilePath = None


class SeasonFile(BaseModel):
    """A whole season file."""

    model_config = _STRICT
    series: SeriesFields
    episodes: list[EpisodeFields] = Field(min_length=1)


def partial(model: type[BaseModel], name: str, *, without: tuple[str, ...] = ()) -> Any:
    """The same fields, each optional (for PATCH: what is left out stays as it is)."""
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        if key in without:
            continue
        annotated: Any = info.annotation
        if info.metadata:
            annotated = Annotated[(annotated, *info.metadata)]  # type: ignore[valid-type]
        fields[key] = (annotated | None, Field(None, description=info.description))
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


SeriesPatch = partial(SeriesFields, "SeriesPatch", without=("slug",))
EpisodePatch = partial(EpisodeIn, "EpisodePatch")


# --- German problems --------------------------------------------------------------------------
_TYPE_DE = {
    "missing": "fehlt",
    "extra_forbidden": "unbekanntes Feld (Tippfehler?)",
    "json_invalid": "ist kein gültiges JSON",
    "model_type": "muss ein Objekt (Tabelle) sein",
    "model_attributes_type": "muss ein Objekt (Tabelle) sein",
    "dict_type": "muss ein Objekt (Tabelle) sein",
    "list_type": "muss eine Liste sein",
    "bool_type": "muss true oder false sein",
    "bool_parsing": "muss true oder false sein",
    "string_type": "muss Text in Anführungszeichen sein",
    "int_type": "muss eine ganze Zahl sein",
    "int_parsing": "muss eine ganze Zahl sein",
    "too_short": "ist zu kurz oder leer",
    "too_long": "ist zu lang",
}
_MISSING_DE = {"first_date": "fehlt (Datum wie 2022-11-03, ohne Anführungszeichen)",
               "last_date": "fehlt (Datum wie 2022-11-03, ohne Anführungszeichen)"}


@dataclass(frozen=True)
class Problem:
    """One refused field: where (``loc``, as pydantic gives it), the field and a German text."""

    loc: tuple[str | int, ...]
    field: str
    message_de: str


def german(error: Mapping[str, Any]) -> str:
    """A pydantic error as a German phrase (our own rules already speak German)."""
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    if kind == "wtg":
        return str(error.get("msg", ""))
    if kind == "missing" and loc and str(loc[-1]) in _MISSING_DE:
        return _MISSING_DE[str(loc[-1])]
    return _TYPE_DE.get(kind, "ungültiger Wert")


def problems_of(exc: ValidationError) -> list[Problem]:
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc", ()))
        field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
        out.append(Problem(loc=loc, field=field, message_de=german(error)))
    return out


def weekday_name(weekday: int) -> str:
    """The season file's spelling of a weekday: ``donnerstag``."""
    return WEEKDAYS_DE[weekday].lower()


__all__ = [
    "EpisodeFields", "EpisodeIn", "EpisodePatch", "EpisodeTexts", "Problem", "SeasonFile",
    "SeriesFields", "SeriesPatch", "german", "partial", "problems_of", "weekday_name",
]

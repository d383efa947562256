"""The words staff use, in one place: account display names instead of ids, „Querformat"
instead of profile names, German step names, who refused a post, titles said once.

Registered as Jinja filters and globals in :mod:`.templating`.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context

PLATFORM_DE = {
    "facebook": "Facebook", "facebook_reels": "Facebook Reels", "instagram": "Instagram",
    "youtube": "YouTube", "mastodon": "Mastodon", "tiktok": "TikTok",
}

PROFILE_DE = {
    "landscape": "Querformat",
    "landscape-burned": "Querformat, Untertitel im Bild",
    "vertical": "Hochformat",
    "vertical-burned": "Hochformat, Untertitel im Bild",
    "square": "Quadrat",
    "square-burned": "Quadrat, Untertitel im Bild",
}

STEP_DE = {
    "setup": "Vorbereitung",
    "start": "Hochladen begonnen",
    "upload": "Hochgeladen",
    "resume": "Fortgesetzt",
    "crash-recovery": "Nach Abbruch wieder aufgenommen",
    "publish-start": "Veröffentlichung begonnen",
    "publish-sent": "Veröffentlichung abgeschickt",
    "publish-declined": "Einplanen abgelehnt – wtg veröffentlicht selbst",
    "published": "Veröffentlicht",
    "published-pending": "Veröffentlicht, Plattform zeigt es noch nicht",
    "confirmed": "Von der Plattform bestätigt",
    "confirmed-pending": "Bestätigung steht aus",
    "reconciled": "Mit der Plattform abgeglichen",
    "reconciled-pending": "Abgleich steht aus",
    "confirm": "Von der Plattform bestätigt",
    "finished": "Untertitel und Vorschaubild übertragen",
    "queued": "Warteschlange",
    "uploading": "Hochladen",
    "processing": "Verarbeitung bei der Plattform",
    "publishing": "Veröffentlichen",
    "finishing": "Untertitel und Vorschaubild",
    "unconfirmed": "Prüfung, ob veröffentlicht",
    "scheduled": "Bei der Plattform eingeplant",
}

OUTCOME_DE = {"ok": "erfolgreich", "retry": "wird wiederholt", "error": "Fehler",
              "reconciled": "abgeglichen", "upload-again": "wird neu hochgeladen",
              "unknown": "Ausgang unklar – wird geprüft", "declined": "abgelehnt"}

#: error kinds that are the platform's verdict (the rest: wtg refused, or a technical fault)
PLATFORM_SAID_NO = frozenset({"rejected", "processing_failed"})
TECHNICAL = frozenset({"protocol_error", "internal", "transient", "connection_lost"})

FIELD_DE = {
    "slug": "Kürzel", "name": "Name", "timezone": "Zeitzone", "weekday": "Wochentag",
    "time": "Uhrzeit", "first_date": "Erster Sendetag", "last_date": "Letzter Sendetag",
    "blackout_dates": "Sperrtermine", "hashtags": "Hashtags", "accounts": "Konten",
    "link": "Link", "credits": "Hinweis auf Träger", "templates": "Textvorlagen",
    "number": "Nummer", "title": "Titel", "place": "Ort", "description": "Beschreibung",
    "slot": "Termin", "fit": "Bildausschnitt", "focal_x": "Bildmitte", "text": "Eigene Texte",
    "video": "Video", "subtitles": "Untertitel", "toml": "Staffeldatei",
}


def platform_label(platform: str) -> str:
    return PLATFORM_DE.get(platform, platform)


def profile_label(profile: str) -> str:
    return PROFILE_DE.get(profile, profile)


def step_label(step: str) -> str:
    return STEP_DE.get(step, step.replace("-", " "))


def outcome_label(outcome: str) -> str:
    return OUTCOME_DE.get(outcome, outcome)


def refused_by(error: dict[str, Any] | str | None) -> str:
    """Who said no: „von der Plattform abgelehnt", „von wtg abgelehnt" or a technical fault
    (from a post's error record or its ``kind``)."""
    kind = str((error.get("kind") if isinstance(error, dict) else error) or "")
    if kind in PLATFORM_SAID_NO:
        return "von der Plattform abgelehnt"
    if kind in TECHNICAL:
        return "technischer Fehler"
    return "von wtg abgelehnt" if kind else ""


def episode_heading(number: int, title: str) -> str:
    """„Folge 1: Plate" – the title alone when it already says which episode it is
    („Wir tun GUTes – Folge 1: Plate", not „Folge 1: Wir tun GUTes – Folge 1: Plate")."""
    label = "Trailer" if number == 0 else f"Folge {number}"
    if label.lower() in (title or "").lower():
        return title
    return f"{label}: {title}" if title else label


def short_heading(number: int, title: str, place: str = "") -> str:
    """For tight places (calendar): „Folge 1 · Plate"."""
    label = "Trailer" if number == 0 else f"Folge {number}"
    return f"{label} · {place}" if place else episode_heading(number, title)


@pass_context
def account_label(context: Any, name: str) -> str:
    """An account's display name from the settings (its id if it has none)."""
    request = context.get("request")
    try:
        cfg = request.app.state.wtg.settings.account(name)  # type: ignore[union-attr]
    except (AttributeError, KeyError):
        return name
    return cfg.display_name or name


def field_label(name: str) -> str:
    return FIELD_DE.get(name, name)


FILTERS = {
    "platform_label": platform_label, "profile_label": profile_label, "step_label": step_label,
    "outcome_label": outcome_label, "refused_by": refused_by, "account_label": account_label,
    "field_label": field_label,
}
GLOBALS = {"episode_heading": episode_heading, "short_heading": short_heading}

__all__ = ["FIELD_DE", "FILTERS", "GLOBALS", "PROFILE_DE", "STEP_DE", "account_label",
           "episode_heading", "field_label", "platform_label", "profile_label", "refused_by",
           "short_heading", "step_label"]

"""What each platform accepts as text, as data and pure functions — read alike by the season
load, the pre-flight checks, the dashboard's previews and the adapters (which post exactly the
text measured here).

    limits_for(platform, options, instance_max=None) -> TextLimits
    text_problems(platform, text, limits, options)   -> ["YouTube: der Titel ist 104 Zeichen
                                                         lang, erlaubt sind 100."]

Sources (sections of shared/PLATFORM-APIS.md): Facebook no documented limit for a video's
description (63,206 is the post limit [3p], 1.7); Instagram caption 2,200 characters, 30
hashtags, 20 mentions (2.8); YouTube title 100 characters without ``<``/``>``, description
5,000 bytes, tags 500 characters (3.3); Mastodon 500 characters with every URL counting 23,
per instance (4.2); TikTok title 2,200 UTF-16 units (5.4). Facebook, Instagram and YouTube
posts carry wtg's reconciliation marker, so ``MARKER_RESERVE`` of their room stays free.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from episodes.captions import LengthUnit, PostText, TextLimits, hashtag_problems, measure

#: room kept free for "\n\n" + the marker when measuring text at queue time
MARKER_RESERVE = 50

LIMITS: dict[str, TextLimits] = {
    "facebook": TextLimits(body_max=63_206, body_unit=LengthUnit.CHARS),
    "instagram": TextLimits(body_max=2200, body_unit=LengthUnit.CHARS, hashtags_max=30),
    "youtube": TextLimits(body_max=5000, body_unit=LengthUnit.BYTES, title_max=100,
                          title_forbidden="<>"),
    "mastodon": TextLimits(body_max=500, body_unit=LengthUnit.MASTODON, url_weight=23),
    "tiktok": TextLimits(body_max=2200),
}
LABELS = {"facebook": "Facebook", "instagram": "Instagram", "youtube": "YouTube",
          "mastodon": "Mastodon", "tiktok": "TikTok"}
YOUTUBE_TAGS_MAX = 500
#: the marker travels as a YouTube tag: room kept free for it in the 500 characters of tags
YOUTUBE_MARKER_RESERVE = 64
TIKTOK_TITLE_MAX = 2200

_HASHTAG = re.compile(r"(?<!\w)#\w+")
_MENTION = re.compile(r"(?<!\w)@[\w.]+")


def caption_with_marker(body: str, hashtags: Sequence[str], marker: str) -> str:
    """The text as posted: body, any hashtags the body lacks, then the marker on its own line."""
    text = body.rstrip()
    missing = [t if t.startswith("#") else f"#{t}" for t in hashtags]
    missing = [t for t in missing if t not in text]
    if missing:
        text = f"{text}\n\n{' '.join(missing)}"
    if marker and marker not in text:
        text = f"{text}\n\n{marker}"
    return text


def tags_with_marker(text: PostText, marker: str) -> list[str]:
    """YouTube ``snippet.tags``: the hashtags without ``#``, then the post's marker."""
    tags = [t.lstrip("#") for t in text.hashtags if t.lstrip("#")]
    return [*tags, marker] if marker else tags


def tags_length(tags: list[str]) -> int:
    """Characters YouTube counts for ``snippet.tags``: commas between tags, and quotes around
    a tag containing a space (videos resource, ``snippet.tags[]``)."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def limits_for(platform: str, options: Any = None, *,
               instance_max: int | None = None) -> TextLimits:
    """The limits an account's text is measured against: the platform's, less the marker's room
    where a marker is posted, and what the account (or its Mastodon instance) says."""
    base = LIMITS[platform]
    if platform == "facebook":
        return TextLimits(body_max=base.body_max - MARKER_RESERVE, body_unit=base.body_unit)
    if platform == "instagram":
        most = getattr(options, "hashtags_max", None)
        return TextLimits(body_max=base.body_max - MARKER_RESERVE, body_unit=base.body_unit,
                          hashtags_max=base.hashtags_max if most is None else int(most))
    if platform == "mastodon":
        own = getattr(options, "max_characters", None)
        body_max = int(own) if own else (instance_max or base.body_max)
        if body_max == base.body_max:
            return base
        return TextLimits(body_max=body_max, body_unit=LengthUnit.MASTODON, url_weight=23)
    return base


def text_problems(platform: str, text: PostText, limits: TextLimits,
                  options: Any = None) -> list[str]:
    """Every problem of ``text`` for the platform, as German sentences (empty: fine)."""
    label = LABELS.get(platform, platform)
    out: list[str] = []
    n = measure(text.body, limits.body_unit, url_weight=limits.url_weight)
    if n > limits.body_max:
        out.append(f"{label}: der Text ist {n} {_unit_de(limits.body_unit)} lang, erlaubt sind "
                   f"{limits.body_max}.")
    if limits.title_max is not None:
        title = text.title or ""
        t = measure(title, limits.title_unit)
        if not title.strip():
            out.append(f"{label}: der Titel fehlt.")
        elif t > limits.title_max:
            out.append(f"{label}: der Titel ist {t} {_unit_de(limits.title_unit)} lang, "
                       f"erlaubt sind {limits.title_max}.")
        bad = sorted({c for c in title if c in limits.title_forbidden})
        if bad:
            out.append(f"{label}: der Titel darf diese Zeichen nicht enthalten: {' '.join(bad)}")
    if limits.hashtags_max is not None and len(text.hashtags) > limits.hashtags_max:
        out.append(f"{label}: {len(text.hashtags)} Hashtags, erlaubt sind {limits.hashtags_max}.")
    for tag in hashtag_problems(text.hashtags):
        out.append(f"{label}: der Hashtag {tag} würde an einem Sonderzeichen abgeschnitten "
                   "(nur Buchstaben, Ziffern und _ verwenden).")
    extra = _EXTRA.get(platform)
    if extra is not None:
        out.extend(extra(text, limits, options))
    return out


def _instagram(text: PostText, limits: TextLimits, options: Any) -> list[str]:
    out: list[str] = []
    caption = caption_with_marker(text.body, text.hashtags, "")
    if len(text.body) <= limits.body_max < len(caption):
        out.append(f"Instagram: mit den angehängten Hashtags wird der Text {len(caption)} Zeichen "
                   f"lang, erlaubt sind {limits.body_max} (der Rest ist für die Kennung von wtg "
                   "reserviert). Bitte kürzen.")
    tags = len(_HASHTAG.findall(caption))
    if limits.hashtags_max is not None and len(text.hashtags) <= limits.hashtags_max < tags:
        out.append(f"Instagram: der Text enthält {tags} Hashtags, erlaubt sind "
                   f"{limits.hashtags_max}.")
    mentions = len(_MENTION.findall(caption))
    most = getattr(options, "mentions_max", None)
    most = 20 if most is None else int(most)
    if mentions > most:
        out.append(f"Instagram: der Text erwähnt {mentions} Konten (@…), erlaubt sind {most}.")
    return out


def _youtube(text: PostText, limits: TextLimits, options: Any) -> list[str]:
    out = []
    if "<" in text.body or ">" in text.body:
        out.append("YouTube: die Beschreibung darf die Zeichen < und > nicht enthalten.")
    tags = tags_with_marker(text, "")
    if tags_length(tags) + YOUTUBE_MARKER_RESERVE > YOUTUBE_TAGS_MAX:
        out.append(f"YouTube: die Hashtags ergeben {tags_length(tags)} Zeichen Schlagwörter; "
                   f"erlaubt sind {YOUTUBE_TAGS_MAX - YOUTUBE_MARKER_RESERVE} (500 minus Platz "
                   "für die wtg-Kennung).")
    return out


def _tiktok(text: PostText, limits: TextLimits, options: Any) -> list[str]:
    units = len(text.body.encode("utf-16-le")) // 2
    if units > TIKTOK_TITLE_MAX and len(text.body) <= TIKTOK_TITLE_MAX:
        return [f"TikTok: der Text ist mit Emojis {units} Zeichen lang (Emojis zählen doppelt), "
                f"erlaubt sind {TIKTOK_TITLE_MAX}."]
    return []


_EXTRA = {"instagram": _instagram, "youtube": _youtube, "tiktok": _tiktok}


def _unit_de(unit: Any) -> str:
    return "Bytes" if str(unit) == "bytes" else "Zeichen"


__all__ = [
    "LABELS", "LIMITS", "MARKER_RESERVE", "caption_with_marker", "limits_for", "tags_length",
    "tags_with_marker", "text_problems",
]

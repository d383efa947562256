"""Per-platform post text: what each account receives, measured in that platform's own unit.

Pure: no I/O. The platform adapters describe their limits as a :class:`TextLimits` (part of their
``SPEC``); the preflight measures the rendered :class:`PostText` against them at queue time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class LengthUnit(StrEnum):
    CHARS = "chars"  # Unicode code points (Facebook, Instagram, TikTok)
    BYTES = "bytes"  # UTF-8 bytes (YouTube description: umlauts count double)
    MASTODON = "mastodon"  # code points, every URL counts as 23


_URL = re.compile(r"https?://\S+")
# a hashtag as platforms recognise it: letters, digits, underscore. A hyphen ends it.
HASHTAG_BODY = re.compile(r"^[^\W]\w*$", re.UNICODE)


@dataclass(frozen=True, kw_only=True)
class TextLimits:
    """What a platform accepts as post text."""

    body_max: int
    body_unit: LengthUnit = LengthUnit.CHARS
    title_max: int | None = None  # None: the platform has no separate title
    title_unit: LengthUnit = LengthUnit.CHARS
    title_forbidden: str = ""  # characters the title must not contain (YouTube: "<>")
    hashtags_max: int | None = None
    url_weight: int = 23  # only for LengthUnit.MASTODON


@dataclass(frozen=True, kw_only=True)
class PostText:
    """The text one account receives for one episode."""

    body: str
    title: str | None = None
    hashtags: tuple[str, ...] = field(default_factory=tuple)
    language: str = "de"


def measure(text: str, unit: LengthUnit, *, url_weight: int = 23) -> int:
    """Length of ``text`` in the platform's unit."""
    if unit is LengthUnit.BYTES:
        return len(text.encode("utf-8"))
    if unit is LengthUnit.MASTODON:
        return len(_URL.sub("x" * url_weight, text))
    return len(text)


def hashtag_problems(tags: tuple[str, ...]) -> list[str]:
    """Tags a platform would cut short or refuse (``#Plau-am-See`` becomes ``#Plau``)."""
    return [t for t in tags if not HASHTAG_BODY.match(t.lstrip("#"))]


# --- rendering ------------------------------------------------------------------------------
#: default templates per platform; ``{hashtags}`` is "#A #B", ``{link}`` the series link
DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "youtube": {
        "title": "{title}",
        "body": "{description}\n\n{place} · {label}\n{credits}\n{link}\n\n{hashtags}",
    },
    "facebook": {
        "title": "{title}",
        "body": "{title}\n\n{description}\n\n{link}\n\n{hashtags}",
    },
    "instagram": {"body": "{title}\n\n{description}\n\n{credits}\n\n{hashtags}"},
    "tiktok": {"body": "{title} {hashtags}"},
    "mastodon": {"body": "{title}\n\n{description}\n\n{link}\n\n{hashtags}"},
}


class _Missing(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_for(episode: Any, series: Any, platform: str,
               post_override: Mapping[str, str] | None = None) -> PostText:
    """The text ``platform`` receives for ``episode`` (a models.Episode, or anything with the
    same attributes): series template, then the episode's per-platform overrides, then the
    post's own correction (``post_override``: title/body of a repaired post)."""
    tags = _unique([*series.hashtags, *episode.hashtags])
    fields = _Missing(
        title=episode.title,
        place=episode.place,
        description=episode.description.strip(),
        number=episode.number,
        label="Trailer" if episode.number == 0 else f"Folge {episode.number}",
        series=series.name,
        link=series.link,
        credits=series.credits,
        hashtags=" ".join(f"#{t}" for t in tags),
    )
    template = {**DEFAULT_TEMPLATES.get(platform, {"body": "{title}\n\n{description}"}),
                **(series.templates or {}).get(platform, {})}
    override = {**(episode.text_overrides or {}).get(platform, {}),
                **{k: v for k, v in (post_override or {}).items() if v}}
    title = override.get("title") or (
        template["title"].format_map(fields) if "title" in template else None
    )
    body = override.get("body") or template["body"].format_map(fields)
    return PostText(title=title, body=_tidy(body), hashtags=tuple(f"#{t}" for t in tags))


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for t in items:
        key = t.lstrip("#").lower()
        if key and key not in seen:
            seen.add(key)
            out.append(t.lstrip("#"))
    return out


def _tidy(text: str) -> str:
    lines = [ln.rstrip() for ln in text.splitlines()]
    out: list[str] = []
    for ln in lines:
        if not ln and out and not out[-1]:
            continue
        out.append(ln)
    return "\n".join(out).strip()

"""Per-platform post text: what each account receives, measured in that platform's own unit.

Pure: no I/O. The platform adapters describe their limits as a :class:`TextLimits` (part of their
``SPEC``); the preflight measures the rendered :class:`PostText` against them at queue time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


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

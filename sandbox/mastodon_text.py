"""How a Mastodon server measures a status: the sandbox's own ruler, written from the server.

``app/validators/status_length_validator.rb`` (mastodon/mastodon): the length is the number of
grapheme clusters of ``spoiler_text + text`` after every URL that twitter-text extracts *with* a
protocol is replaced by 23 ``x`` and every mention ``@user@domain`` by ``@user``. Statuses over
``max_characters`` are refused with 422 ``Validation failed: Text character limit of N exceeded``.

Kept apart from any client code on purpose (the sandbox judges the clients): URLs are extracted
the way twitter-text does (not preceded by a letter, digit, ``@``, ``$`` or ``#``; trailing
punctuation is not part of the URL), and graphemes are counted with the extended-cluster rules
that matter for German text with emoji (combining marks, ZWJ sequences, variation selectors, skin
tones, flags, Hangul jamo).
"""

from __future__ import annotations

import re
import unicodedata

URL_WEIGHT = 23

_URL = re.compile(r"(?<![A-Za-z0-9@＠$#＃])https?://[^\s<>\"]+", re.IGNORECASE)
#: twitter-text ``valid_url_path_ending_chars``: what the last character of a URL may be
_URL_END = re.compile(r"[\w=#/+\-]", re.UNICODE)
_MENTION = re.compile(r"(?<![\w/])@(\w+(?:[\w.\-]*\w)?)@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)


def status_length(text: str, spoiler_text: str = "") -> int:
    """Length of a status as the server counts it."""
    return graphemes(spoiler_text + countable_text(text))


def countable_text(text: str) -> str:
    """``text`` with URLs and remote mentions replaced as the validator does."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url = _trim_url(m.group(0))
        if "." not in url.split("://", 1)[1].split("/", 1)[0]:
            continue  # no domain with a top-level part: twitter-text does not take it
        out.append(text[last:m.start()])
        out.append("x" * URL_WEIGHT)
        last = m.start() + len(url)
    out.append(text[last:])
    return _MENTION.sub(r"@\1", "".join(out))


def _trim_url(url: str) -> str:
    """Drop trailing punctuation (``.``, ``,``, ``!``, an unbalanced ``)`` ...)."""
    while url:
        last = url[-1]
        if last == ")" and url.count("(") >= url.count(")"):
            break
        if last != ")" and _URL_END.match(last):
            break
        url = url[:-1]
    return url


def graphemes(text: str) -> int:
    """Number of extended grapheme clusters (the rules that matter for status text)."""
    count, prev, ri_run = 0, "", 0
    for ch in text:
        cp = ord(ch)
        joins = False
        if prev == "\r" and ch == "\n":
            joins = True
        elif _is_extend(ch) or cp == 0x200D:
            joins = bool(prev)
        elif prev == "\u200d":
            joins = True  # emoji ZWJ sequence
        elif 0x1F1E6 <= cp <= 0x1F1FF:
            joins = ri_run % 2 == 1  # the second regional indicator of a flag
        elif 0x1160 <= cp <= 0x11FF and prev and _is_hangul(prev):
            joins = True  # a vowel or final consonant jamo after a leading one or syllable
        ri_run = ri_run + 1 if 0x1F1E6 <= cp <= 0x1F1FF else 0
        if not joins:
            count += 1
        prev = ch
    return count


def _is_extend(ch: str) -> bool:
    cp = ord(ch)
    return (unicodedata.category(ch) in ("Mn", "Me", "Mc")
            or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF  # variation selectors
            or 0x1F3FB <= cp <= 0x1F3FF  # skin tone modifiers
            or 0xE0020 <= cp <= 0xE007F)  # tag characters (subdivision flags)


def _is_hangul(ch: str) -> bool:
    cp = ord(ch)
    return 0x1100 <= cp <= 0x11FF or 0xAC00 <= cp <= 0xD7A3

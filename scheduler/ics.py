"""The slot calendar as iCalendar (RFC 5545), for staff to subscribe to. Pure.

One VEVENT per episode with a slot. The UID is stable per series and episode number, so a
subscribed calendar moves the event when the slot moves (held, rescheduled) instead of adding a
second one. Times are written in UTC (``...Z``), which every client converts to local time;
no VTIMEZONE block is needed. Lines end in CRLF and are folded at 75 octets (3.1); text values
escape backslash, semicolon, comma and newlines (3.3.11).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRODID = "-//Landkreis Ludwigslust-Parchim//wtg Wir tun GUTes//DE"


@dataclass(frozen=True, kw_only=True)
class CalendarEvent:
    series_slug: str
    number: int
    title: str
    start: datetime  # aware
    description: str = ""
    location: str = ""
    status: str = "CONFIRMED"  # CONFIRMED | TENTATIVE | CANCELLED
    url: str = ""
    minutes: int = 30


def uid_for(series_slug: str, number: int) -> str:
    return f"wtg-{series_slug}-folge-{number:02d}@wtg.kreis-lup.de"


def escape_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets (continuations start with a
    space), never inside a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def to_ics(name: str, events: Iterable[CalendarEvent], *, stamp: datetime) -> str:
    """The whole calendar as one string (CRLF line ends)."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(name)}", "X-WR-TIMEZONE:Europe/Berlin",
    ]
    for ev in sorted(events, key=lambda e: (e.start, e.number)):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid_for(ev.series_slug, ev.number)}",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART:{_utc(ev.start)}",
            f"DTEND:{_utc(ev.start + timedelta(minutes=ev.minutes))}",
            f"SUMMARY:{escape_text(ev.title)}",
            f"STATUS:{ev.status}",
        ]
        if ev.description:
            lines.append(f"DESCRIPTION:{escape_text(ev.description)}")
        if ev.location:
            lines.append(f"LOCATION:{escape_text(ev.location)}")
        if ev.url:
            lines.append(f"URL:{ev.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)

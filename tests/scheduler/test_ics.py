"""The calendar export (RFC 5545) and ``wtg schedule`` (German, local times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import tomli_w
from click.testing import CliRunner

from episodes.db import Database
from scheduler.ics import CalendarEvent, fold, to_ics, uid_for
from wtg.cli import main

from .kit import FIRST, make_series, scheduler_settings

STAMP = datetime(2022, 10, 1, 8, 0, tzinfo=UTC)


def _unfold(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    out: list[str] = []
    for line in text.split("\r\n")[:-1]:
        if line.startswith(" "):
            out[-1] += line[1:]
        else:
            out.append(line)
    return out


def test_ics_is_crlf_folded_escaped_in_utc_with_stable_uids() -> None:
    """Every line ends in CRLF and fits 75 octets; text is escaped; the slot is in UTC across
    DST; the UID depends only on series and episode number, so a moved slot keeps it."""
    long_title = "Wir tun GUTes – Folge 3: Matzlow, Garwitz; Plau am See \\ " + "ä" * 60
    ev = CalendarEvent(series_slug="wtg", number=3, title=long_title,
                       start=FIRST, description="Zeile 1\nZeile 2", location="Matzlow")
    text = to_ics("Wir tun GUTes", [ev], stamp=STAMP)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(x.startswith("PRODID:") for x in lines)
    assert f"UID:{uid_for('wtg', 3)}" in lines
    assert "DTSTART:20221103T160000Z" in lines and "DTEND:20221103T163000Z" in lines
    assert "DTSTAMP:20221001T080000Z" in lines
    summary = next(x for x in lines if x.startswith("SUMMARY:"))
    assert summary.startswith("SUMMARY:Wir tun GUTes – Folge 3: Matzlow\\, Garwitz\\; Plau")
    assert "\\\\ ää" in summary
    assert "DESCRIPTION:Zeile 1\\nZeile 2" in lines
    summer = CalendarEvent(series_slug="wtg", number=3, title="x",
                           start=datetime(2023, 6, 1, 15, 0, tzinfo=UTC))
    moved = _unfold(to_ics("Wir tun GUTes", [summer], stamp=STAMP))
    assert f"UID:{uid_for('wtg', 3)}" in moved and "DTSTART:20230601T150000Z" in moved


def test_fold_never_splits_a_multibyte_character() -> None:
    """Folding counts octets and keeps UTF-8 characters whole."""
    folded = fold("SUMMARY:" + "ü" * 100)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == "SUMMARY:" + "ü" * 100


def test_wtg_schedule_prints_german_calendar_and_writes_ics(tmp_path: Path) -> None:
    """``wtg schedule --ics`` lists every episode with its local slot (MEZ) and writes one event
    per episode, tentative while an episode is not ready."""
    settings = scheduler_settings(tmp_path)
    config = tmp_path / "wtg.toml"
    config.write_text(tomli_w.dumps({
        "database_url": settings.database_url, "var_dir": str(tmp_path / "var"),
        "accounts": [a.model_dump(exclude_none=True) for a in settings.accounts]}))
    db = Database(settings.database_url)
    db.migrate()
    make_series(db, settings, episodes=3, approved=False)
    db.dispose()
    out = tmp_path / "plan.ics"
    result = CliRunner().invoke(main, ["-c", str(config), "schedule", "--ics", str(out)])
    assert result.exit_code == 0, result.output
    assert "Sendeplan „Wir tun GUTes (Test)“ – donnerstags 17:00 Uhr" in result.output
    assert "Trailer   Do 03.11.2022 17:00 MEZ" in result.output
    assert "nicht bereit: approval" in result.output
    lines = _unfold(out.read_bytes().decode("utf-8"))
    assert lines.count("BEGIN:VEVENT") == 3
    assert lines.count("STATUS:TENTATIVE") == 3
    second = (FIRST + timedelta(weeks=1)).astimezone(UTC).strftime("DTSTART:%Y%m%dT%H%M%SZ")
    assert second in lines

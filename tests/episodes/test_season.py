"""The season file: every kind of mistake is reported in German and nothing is written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from episodes.db import Database
from episodes.season import SeasonError, parse_season

from .season_files import EPISODES, KNOWN, REAL_SEASON, SERIES, VALID, load, snapshot, write

BERLIN = ZoneInfo("Europe/Berlin")


def test_valid_file_parses_with_slots_in_order(tmp_path: Path):
    """A valid file gives the series, its episodes in order and a slot each, minus blackouts."""
    spec = parse_season(write(tmp_path, VALID), known_accounts=KNOWN)
    assert spec.slug == "wir-tun-gutes" and spec.weekday == 3
    assert [e.number for e in spec.episodes] == [0, 1, 2]
    assert spec.slots() == {
        0: datetime(2022, 11, 3, 17, 0, tzinfo=BERLIN),
        1: datetime(2022, 11, 10, 17, 0, tzinfo=BERLIN),
        2: datetime(2022, 11, 24, 17, 0, tzinfo=BERLIN),  # 17 Nov is a blackout
    }


def test_the_real_season_file_has_eleven_thursday_slots():
    """config/season.toml: trailer + 10 episodes on 11 Thursdays 17:00, none at Christmas."""
    accounts = {"facebook-lup", "instagram-lup", "youtube-lup", "mastodon-lup", "tiktok-lup"}
    spec = parse_season(REAL_SEASON, known_accounts=accounts)
    assert set(spec.accounts) == accounts
    places = [e.place for e in spec.episodes]
    assert places[1:] == ["Plate", "Püttelkow", "Matzlow", "Parchim", "Lassahn", "Boizenburg",
                          "Pinnow", "Neustadt-Glewe", "Plau am See", "Dobbertin"]
    for e in spec.episodes[1:]:
        assert e.title == f"Wir tun GUTes – Folge {e.number}: {e.place}"
        assert e.description and e.video is None
    slots = spec.slots()
    assert len(slots) == 11
    local = [slots[n].astimezone(BERLIN) for n in range(11)]  # type: ignore[union-attr]
    assert local[0] == datetime(2022, 11, 3, 17, 0, tzinfo=BERLIN)
    assert local[-1] == datetime(2023, 1, 26, 17, 0, tzinfo=BERLIN)
    assert all(t.weekday() == 3 and (t.hour, t.minute) == (17, 0) for t in local)
    days = {t.date().isoformat() for t in local}
    assert not days & {"2022-12-22", "2022-12-29"}
    assert local == sorted(local)


def test_real_season_hashtags_survive_every_platform():
    """No hashtag in config/season.toml would be cut short by a hyphen or space."""
    from episodes.captions import hashtag_problems

    spec = parse_season(REAL_SEASON)
    tags = (*spec.hashtags, *(t for e in spec.episodes for t in e.hashtags))
    assert "PlauAmSee" in tags and "NeustadtGlewe" in tags
    assert hashtag_problems(tuple(tags)) == []


# (id, file text, [German fragments that must each appear in the problem list])
BROKEN: list[tuple[str, str, list[str]]] = [
    ("ohne-series", EPISODES, ["Abschnitt [series] fehlt"]),
    ("datum-als-text", VALID.replace("first_date = 2022-11-03", 'first_date = "2022-11-03"'),
     ["[series], Feld 'first_date': muss ein Datum"]),
    ("ende-vor-anfang", VALID.replace("last_date = 2022-11-24", "last_date = 2022-10-01"),
     ["Feld 'last_date': liegt vor first_date"]),
    ("sperrtermin-kein-datum", VALID.replace("[2022-11-17]", '["17.11."]'),
     ["Feld 'blackout_dates': muss eine Liste von Daten"]),
    ("wochentag", VALID.replace('"donnerstag"', '"donnerstg"'),
     ["Feld 'weekday': unbekannter Wochentag 'donnerstg'"]),
    ("uhrzeit", VALID.replace('time = "17:00"', 'time = "17 Uhr"'),
     ["Feld 'time': Uhrzeit '17 Uhr' bitte als HH:MM"]),
    ("zeitzone", VALID.replace('"Europe/Berlin"', '"Europa/Berlin"'),
     ["Feld 'timezone': unbekannte Zeitzone 'Europa/Berlin'"]),
    ("konto-unbekannt", VALID.replace('"mastodon-lup"]', '"mastodon-lpu"]'),
     ["Feld 'accounts': Konto 'mastodon-lpu' ist in den Einstellungen nicht angelegt"]),
    ("folge-doppelt", VALID.replace("number = 2", "number = 1"),
     ["Folge 1, Feld 'number': kommt mehrfach vor"]),
    ("video-fehlt", VALID.replace('place = "Plate"', 'place = "Plate"\nvideo = "clips/01.mp4"'),
     ["Folge 1, Feld 'video'", "01.mp4"]),
    ("feld-unbekannt", VALID.replace('place = "Plate"', 'place = "Plate"\nort = "Plate"'),
     ["Folge 1, Feld 'ort': unbekanntes Feld"]),
    ("series-feld-unbekannt", VALID.replace('time = "17:00"', 'time = "17:00"\nuhrzeit = 1'),
     ["[series], Feld 'uhrzeit': unbekanntes Feld"]),
    ("zu-wenige-termine", VALID.replace("last_date = 2022-11-24", "last_date = 2022-11-10"),
     ["Zu wenige Sendetermine: Folge 2 hätte keinen Termin"]),
    ("toml-syntax", VALID.replace('name = "Wir tun GUTes"', 'name = "Wir tun GUTes'),
     ["TOML-Syntaxfehler"]),
    ("keine-folgen", SERIES, ["Keine Folgen"]),
    ("titel-fehlt", VALID.replace('title = "Wir tun GUTes – Folge 1: Plate"\n', ""),
     ["Folge 1, Feld 'title': fehlt"]),
    ("fit", VALID.replace('place = "Plate"', 'place = "Plate"\nfit = "stretch"'),
     ["Folge 1, Feld 'fit'"]),
    ("slot-ohne-zeit", VALID.replace('place = "Plate"', 'place = "Plate"\nslot = "morgen"'),
     ["Folge 1, Feld 'slot'"]),
    ("nummer-negativ", VALID.replace("number = 2", "number = -2"),
     ["Feld 'number': muss eine ganze Zahl ab 0 sein"]),
]


@pytest.mark.parametrize(("text", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_each_mistake_is_reported_in_german_and_nothing_is_written(
    tmp_path: Path, db: Database, text: str, expected: list[str]
):
    """A broken season file raises SeasonError naming file, episode and field; the database
    keeps exactly what the last good load wrote."""
    load(db, write(tmp_path, VALID, "good.toml"))
    before = snapshot(db)
    path = write(tmp_path, text)
    with pytest.raises(SeasonError) as err:
        load(db, path)
    message = str(err.value)
    assert message.startswith(f"Die Staffeldatei {path} wurde nicht geladen")
    for fragment in expected:
        assert any(fragment in p for p in err.value.problems), (fragment, err.value.problems)
    assert snapshot(db) == before


def test_missing_season_file(tmp_path: Path):
    """A season file that does not exist is a SeasonError, not a traceback."""
    with pytest.raises(SeasonError) as err:
        parse_season(tmp_path / "staffel.toml")
    assert "Datei nicht lesbar" in err.value.problems[0]


def test_cp1252_file_is_refused_with_a_hint(tmp_path: Path, db: Database):
    """A file saved as Windows-1252 (Püttelkow, –) is refused with 'bitte als UTF-8 speichern'."""
    path = write(tmp_path, VALID, encoding="cp1252")
    with pytest.raises(SeasonError) as err:
        load(db, path)
    assert err.value.problems == ["Die Datei ist nicht UTF-8-kodiert. Bitte als UTF-8 speichern."]
    assert snapshot(db)["episodes"] == []


def test_utf8_with_bom_is_accepted(tmp_path: Path):
    """A UTF-8 file with a byte-order mark (as some Windows editors save it) loads."""
    path = write(tmp_path, VALID, encoding="utf-8-sig")
    assert parse_season(path).episodes[2].place == "Püttelkow"


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path):
    """Several mistakes in one file come back together, one line each."""
    text = (VALID.replace('"donnerstag"', '"funday"')
            .replace('"mastodon-lup"]', '"mastodon-xyz"]')
            .replace("number = 2", "number = 1")
            .replace('place = "Plate"', 'place = "Plate"\nvideoo = "x.mp4"'))
    with pytest.raises(SeasonError) as err:
        parse_season(write(tmp_path, text), known_accounts=KNOWN)
    problems = err.value.problems
    assert len(problems) == 4, problems
    assert any("'weekday'" in p for p in problems)
    assert any("'accounts'" in p for p in problems)
    assert any("mehrfach" in p for p in problems)
    assert any("'videoo'" in p for p in problems)


def test_existing_video_paths_resolve_relative_to_the_file(tmp_path: Path):
    """video and subtitles are resolved beside the season file."""
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "01.mp4").write_bytes(b"\0")
    (tmp_path / "clips" / "01.srt").write_text("1\n", encoding="utf-8")
    text = VALID.replace('place = "Plate"',
                         'place = "Plate"\nvideo = "clips/01.mp4"\nsubtitles = "clips/01.srt"')
    ep = parse_season(write(tmp_path, text)).episodes[1]
    assert ep.video == (tmp_path / "clips" / "01.mp4").resolve()
    assert ep.subtitles == (tmp_path / "clips" / "01.srt").resolve()

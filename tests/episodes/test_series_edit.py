"""Editing a season as the dashboard and the API do: the season file's rules hold, moves keep
local time across daylight saving, staff choose whether later episodes make room, and an
export loads back without a single change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from episodes.db import Database
from episodes.lifecycle import PostState
from episodes.models import Episode, Series
from episodes.season import apply_season, parse_season, parse_season_text
from episodes.season_export import season_toml
from episodes.season_models import EpisodeIn, SeriesFields
from episodes.series_edit import (
    EditConflict,
    EditInvalid,
    add_episode,
    create_series,
    move_episode,
    remove_episode,
    update_series,
)
from episodes.store import get_series, sync_accounts, transition

from .season_files import ACCOUNTS, REAL_SEASON, snapshot

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 9, 1, tzinfo=UTC)
SERIES = {"slug": "herbst", "name": "Herbstreihe", "weekday": "donnerstag", "time": "17:00",
          "first_date": "2026-10-15", "last_date": "2026-12-31",
          "blackout_dates": ["2026-12-24"], "accounts": ["youtube-lup", "mastodon-lup"]}


def make(db: Database, episodes: int = 3) -> None:
    """The series above with ``episodes`` episodes, made as the API makes them."""
    with db.session() as s:
        rows = sync_accounts(s, ACCOUNTS)
        series = create_series(s, SeriesFields.model_validate(SERIES), actor="erika")
        for n in range(1, episodes + 1):
            add_episode(s, series, EpisodeIn.model_validate({"title": f"Folge {n}: Ort {n}"}),
                        rows, actor="erika", now=NOW)


def slots(db: Database) -> dict[int, datetime]:
    """Episode number -> local slot."""
    with db.session() as s:
        series = get_series(s, "herbst")
        assert series is not None
        return {e.number: e.slot_at.astimezone(BERLIN) for e in series.episodes  # type: ignore[union-attr]
                if e.slot_at is not None}


def edit(db: Database, fn: Any, number: int, *args: Any, **kw: Any) -> Any:
    with db.session() as s:
        series = get_series(s, "herbst")
        assert series is not None
        ep = next(e for e in series.episodes if e.number == number)
        return fn(s, ep, *args, sync_accounts(s, ACCOUNTS), actor="erika", **kw)


def local(day: int, month: int = 10, hour: int = 17) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=BERLIN)


def test_new_episodes_take_the_weekly_slots_and_get_posts(db: Database) -> None:
    """Three episodes added to a new series take its first three Thursdays, 17:00, each with
    one waiting post per account and the adding person as editor (four eyes)."""
    make(db)
    assert slots(db) == {1: local(15), 2: local(22), 3: local(29)}
    with db.session() as s:
        for ep in get_series(s, "herbst").episodes:  # type: ignore[union-attr]
            assert ep.edited_by == "erika" and not ep.approved
            assert sorted(p.state for p in ep.posts) == ["pending", "pending"]
            assert all(p.slot_at == ep.slot_at for p in ep.posts)


def test_moving_with_shift_pushes_the_later_episodes_a_week(db: Database) -> None:
    """Episode 2 a week later with „shift": 3 moves a week too, across the end of summer time
    (25 Oct 2026), every slot staying 17:00 local."""
    make(db)
    edit(db, move_episode, 2, local(29), shift=True, now=NOW)
    assert slots(db) == {1: local(15), 2: local(29), 3: local(5, 11)}
    assert slots(db)[3].utcoffset() == timedelta(hours=1)  # winter time, still 17:00
    assert slots(db)[1].utcoffset() == timedelta(hours=2)


def test_moving_without_shift_onto_a_taken_slot_is_refused(db: Database) -> None:
    """Without „shift" the target must be free: onto episode 3's slot is a 409, nothing moves;
    onto a free Thursday only episode 2 moves."""
    make(db)
    before = snapshot(db)
    with pytest.raises(EditConflict, match="schon Folge 3 eingeplant"):
        edit(db, move_episode, 2, local(29), shift=False, now=NOW)
    assert snapshot(db) == before
    edit(db, move_episode, 2, local(12, 11), shift=False, now=NOW)
    assert slots(db) == {1: local(15), 2: local(12, 11), 3: local(29)}


def test_a_published_episode_keeps_its_slot_and_cannot_be_removed(db: Database) -> None:
    """A moved-into published slot, a move of a published episode and its removal are all
    refused in German; a waiting episode is removed and the later one moves up."""
    make(db)
    with db.session() as s:
        ep1 = next(e for e in get_series(s, "herbst").episodes if e.number == 1)  # type: ignore[union-attr]
        for p in ep1.posts:
            for target in (PostState.READY, PostState.QUEUED, PostState.PUBLISHING,
                           PostState.PUBLISHED):
                assert transition(s, p.id, target)
    with pytest.raises(EditConflict, match="schon veröffentlicht"):
        edit(db, move_episode, 1, local(5, 11), shift=False, now=NOW)
    with pytest.raises(EditConflict, match="kann nicht gelöscht werden"):
        edit(db, lambda s, ep, acc, **kw: remove_episode(s, ep, acc, **kw), 1)
    edit(db, lambda s, ep, acc, **kw: remove_episode(s, ep, acc, **kw), 2)
    assert slots(db) == {1: local(15), 3: local(22)}


def test_a_move_into_the_past_is_refused(db: Database) -> None:
    """A slot before now is refused (409) with the date in German."""
    make(db)
    with pytest.raises(EditConflict, match="liegt in der Vergangenheit"):
        edit(db, move_episode, 2, local(22), shift=False, now=local(23))


def test_series_change_replans_waiting_episodes(db: Database) -> None:
    """A new weekday moves every waiting episode to it; a fixed slot at the old time of day
    follows a new time of day; too short a season is refused, nothing written."""
    make(db)
    edit(db, move_episode, 3, local(12, 11), shift=False, now=NOW)
    with db.session() as s:
        series = get_series(s, "herbst")
        update_series(s, series, SeriesFields.model_validate(  # type: ignore[arg-type]
            {**SERIES, "weekday": "freitag", "time": "18:30"}), sync_accounts(s, ACCOUNTS),
            actor="erika")
    assert slots(db) == {1: datetime(2026, 10, 16, 18, 30, tzinfo=BERLIN),
                         2: datetime(2026, 10, 23, 18, 30, tzinfo=BERLIN),
                         3: datetime(2026, 11, 12, 18, 30, tzinfo=BERLIN)}
    before = snapshot(db)
    with pytest.raises(EditInvalid, match="Zu wenige Sendetermine"), db.session() as s:
        update_series(s, get_series(s, "herbst"), SeriesFields.model_validate(  # type: ignore[arg-type]
            {**SERIES, "last_date": "2026-10-16"}), sync_accounts(s, ACCOUNTS), actor="erika")
    assert snapshot(db) == before


def test_removing_an_account_cancels_its_waiting_posts(db: Database) -> None:
    """Taking mastodon-lup out of the series cancels its waiting posts; putting it back lets
    them wait again."""
    make(db, episodes=1)
    for accounts in (["youtube-lup"], ["youtube-lup", "mastodon-lup"]):
        with db.session() as s:
            update_series(s, get_series(s, "herbst"), SeriesFields.model_validate(  # type: ignore[arg-type]
                {**SERIES, "accounts": accounts}), sync_accounts(s, ACCOUNTS), actor="erika")
        with db.session() as s:
            ep = get_series(s, "herbst").episodes[0]  # type: ignore[union-attr]
            states = {p.account.name: p.state for p in ep.posts}
        expected = "cancelled" if accounts == ["youtube-lup"] else "pending"
        assert states == {"youtube-lup": "pending", "mastodon-lup": expected}


def test_export_of_an_edited_series_loads_back_without_a_change(db: Database) -> None:
    """After moves, a removal and per-platform texts, export -> import is a no-op: no episode
    created, changed or removed, every row the same."""
    make(db, episodes=4)
    edit(db, move_episode, 2, local(29), shift=True, now=NOW)
    edit(db, lambda s, ep, acc, **kw: remove_episode(s, ep, acc, **kw), 4)
    with db.session() as s:
        ep = get_series(s, "herbst").episodes[0]  # type: ignore[union-attr]
        ep.text_overrides = {"youtube": {"title": "Eigener Titel", "body": "Zeile 1\nZeile 2"}}
        ep.fit = {"mode": "crop", "focal_x": 0.25}
        text = season_toml(get_series(s, "herbst"))  # type: ignore[arg-type]
    before = snapshot(db)
    spec = parse_season_text(text.encode(), origin=Path("export.toml"), base=None,
                             known_accounts={a.name for a in ACCOUNTS})
    with db.session() as s:
        report = apply_season(s, spec, sync_accounts(s, ACCOUNTS))
    assert (report.created, report.updated, report.removed) == ([], [], [])
    assert snapshot(db) == before


def test_export_of_the_real_season_round_trips(db: Database) -> None:
    """config/season.toml loaded, exported and imported again: nothing changes."""
    accounts = [*ACCOUNTS, *(type(ACCOUNTS[0])(name=n, platform=n.split("-")[0],
                                                api_base="https://x.invalid")
                             for n in ("facebook-lup", "instagram-lup", "tiktok-lup"))]
    with db.session() as s:
        apply_season(s, parse_season(REAL_SEASON), sync_accounts(s, accounts))
    with db.session() as s:
        text = season_toml(get_series(s, "wir-tun-gutes"))  # type: ignore[arg-type]
    before = snapshot(db)
    spec = parse_season_text(text.encode(), origin=Path("x.toml"), base=None)
    with db.session() as s:
        report = apply_season(s, spec, sync_accounts(s, accounts))
    assert report.unchanged == list(range(11)) and report.posts_created == 0
    assert snapshot(db) == before


def test_model_rules_speak_german_for_json_and_file_alike() -> None:
    """The API takes ISO dates as text, the season file wants TOML dates; both get the same
    German sentences for a wrong weekday or an end before the start."""
    from pydantic import ValidationError

    from episodes.season_models import problems_of

    ok = SeriesFields.model_validate(SERIES)
    assert ok.first_date == date(2026, 10, 15) and ok.time == time(17, 0) and ok.weekday == 3
    with pytest.raises(ValidationError) as err:
        SeriesFields.model_validate({**SERIES, "weekday": "funday", "last_date": "2026-01-01",
                                     "extra": 1})
    found = {p.field: p.message_de for p in problems_of(err.value)}
    assert found == {"weekday": "unbekannter Wochentag 'funday' (z. B. donnerstag oder thursday)",
                     "last_date": "liegt vor first_date",
                     "extra": "unbekanntes Feld (Tippfehler?)"}
    with pytest.raises(ValidationError) as err:
        SeriesFields.model_validate(SERIES, context={"source": "file"})
    assert problems_of(err.value)[0].message_de.endswith("(ohne Anführungszeichen)")
    with pytest.raises(ValidationError) as err:
        EpisodeIn.model_validate({"title": "Eins\nZwei", "slot": "morgen"})
    assert {p.field for p in problems_of(err.value)} == {"title", "slot"}


def test_adding_an_episode_on_a_chosen_day_keeps_the_others(db: Database) -> None:
    """An episode added on a free Thursday takes it; one added on a taken day with „shift"
    pushes the later ones; the series' dates are no limit for a chosen day."""
    make(db)
    with db.session() as s:
        series: Series = get_series(s, "herbst")  # type: ignore[assignment]
        rows = sync_accounts(s, ACCOUNTS)
        ep: Episode = add_episode(s, series, EpisodeIn.model_validate(
            {"title": "Sonderfolge", "slot": "2026-11-05T17:00:00+01:00"}), rows,
            actor="erika", now=NOW)
        assert ep.number == 4
        add_episode(s, series, EpisodeIn.model_validate(
            {"title": "Noch eine", "number": 9, "slot": "2026-10-22T17:00:00+02:00"}), rows,
            actor="erika", shift=True, now=NOW)
    assert slots(db) == {1: local(15), 9: local(22), 2: local(29), 3: local(5, 11),
                         4: local(12, 11)}

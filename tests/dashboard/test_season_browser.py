"""Running a season in headless Chromium as a staffer does, without a text file or a shell:
create a series with three episodes, upload video and subtitles, drag episode 2 a week later
(the later one makes room, across the start of summer time), move one by keyboard form,
export. Screenshots go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from episodes import store

from .conftest import PASSWORD, Live, screenshot

pytestmark = pytest.mark.browser
BERLIN = ZoneInfo("Europe/Berlin")
SRT = ("1\n00:00:00,000 --> 00:00:00,800\nHallo aus Matzlow!\n\n"
       "2\n00:00:00,800 --> 00:00:01,000\nSchön, dass Sie da sind.\n")


def log_in(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Benutzername").fill(user)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("link", name="Reihen")).to_be_visible()


def slots(live: Live) -> dict[int, str]:
    with live.db.session() as s:
        series = store.get_series(s, "fruehling-2027")
        assert series is not None
        return {e.number: e.slot_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M %Z")
                for e in series.episodes if e.slot_at is not None}


def test_staff_create_a_series_upload_and_drag_an_episode(
    live: Live, browser: Browser, clip: Path, tmp_path: Path
) -> None:
    """A new series with three episodes made in forms; video and subtitles uploaded; episode 2
    dragged a week later in the month view with „Spätere Folgen rücken mit" (episode 3 moves
    into summer time at 17:00 local); episode 1 moved with the keyboard form; the export is
    the season file with every change."""
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin",
                                  viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    try:
        log_in(page, live.url, "erika")
        page.get_by_role("link", name="Reihen").click()
        page.get_by_role("link", name="Neue Reihe").click()
        page.get_by_label("Name").fill("Frühling 2027")
        page.get_by_label("Kürzel").fill("fruehling-2027")
        page.get_by_label("Wochentag").select_option("donnerstag")
        page.get_by_label("Uhrzeit").fill("17:00")
        page.get_by_label("Erster Sendetag").fill("2027-03-11")
        page.get_by_label("Letzter Sendetag").fill("2027-05-27")
        page.get_by_label("Sperrtermine").fill("2027-04-22")
        page.get_by_label("Mastodon", exact=False).first.check()
        page.get_by_label("YouTube", exact=False).first.check()
        page.get_by_label("Hashtags jeder Folge").fill("WirTunGUTes LUP")
        screenshot(page, "season-01-new-series")
        page.get_by_role("button", name="Reihe anlegen").click()
        expect(page.get_by_role("status")).to_have_text(
            "Die Reihe ist angelegt. Jetzt Folgen hinzufügen.")

        for place in ("Plate", "Matzlow", "Lassahn"):
            page.get_by_role("link", name="Folge hinzufügen").click()
            page.get_by_label("Titel").fill(f"Wir tun GUTes – {place}")
            page.get_by_label("Ort").fill(place)
            page.get_by_label("Beschreibung").fill(f"Ehrenamt in {place}.")
            page.get_by_role("button", name="Folge anlegen").click()
            expect(page.get_by_role("status")).to_have_text(
                "Die Folge ist angelegt. Jetzt Video und Untertitel hochladen.")
            if place == "Matzlow":
                episode_2 = page.url.split("/episodes/")[1].split("?")[0]
                subtitles = tmp_path / "matzlow.srt"
                subtitles.write_text(SRT, encoding="utf-8")
                page.get_by_test_id("source-file").set_input_files(str(clip))
                page.get_by_role("button", name="Video hochladen").click()
                expect(page.get_by_role("status")).to_have_text(
                    "Hochgeladen und geprüft. Das Video wird jetzt aufbereitet.")
                page.get_by_test_id("subtitle-file").set_input_files(str(subtitles))
                page.get_by_role("button", name="Untertitel hochladen").click()
                expect(page.get_by_role("status")).to_contain_text("Untertitel gespeichert")
                screenshot(page, "season-02-episode-uploaded")
            page.get_by_role("link", name="Reihen").click()
            page.get_by_role("link", name="Frühling 2027").click()
        expect(page.get_by_test_id("episode-list")).to_contain_text("Folge 3: Wir tun GUTes")
        screenshot(page, "season-03-series-with-episodes")
        assert slots(live) == {1: "11.03.2027 17:00 CET", 2: "18.03.2027 17:00 CET",
                               3: "25.03.2027 17:00 CET"}
        media = redis.Redis.from_url(live.settings.broker_url).lrange("media", 0, -1)
        assert {json.loads(m)["headers"]["task"] for m in media} == {"wtg.media.prepare"}

        page.locator("main").get_by_role("link", name="Kalender", exact=True).click()
        expect(page.get_by_test_id("calendar-title")).to_have_text("März 2027")
        card = page.get_by_test_id(f"episode-{episode_2}")
        expect(card).to_contain_text("Folge 2 · Matzlow")
        expect(card).to_contain_text("nicht freigegeben")
        screenshot(page, "season-04-calendar")
        card.drag_to(page.get_by_test_id("day-2027-03-25"))  # the page fits the viewport
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Folge 2 · Matzlow auf 25.03.2027 verschieben")
        screenshot(page, "season-05-drop-dialog")
        dialog.get_by_role("button", name="Spätere Folgen rücken mit").click()
        expect(page.get_by_role("status")).to_have_text("Der Termin ist geändert.")
        expect(page.get_by_test_id("day-2027-03-25")).to_contain_text("Folge 2 · Matzlow")
        expect(page.get_by_test_id("day-2027-03-18")).not_to_contain_text("Matzlow")
        screenshot(page, "season-06-after-drag")
        assert slots(live) == {1: "11.03.2027 17:00 CET", 2: "25.03.2027 17:00 CET",
                               3: "01.04.2027 17:00 CEST"}

        page.get_by_test_id("episode-" + _id_of(live, 1)).get_by_role(
            "link", name="Verschieben").click()
        page.get_by_label("Neuer Tag").fill("2027-03-18")
        page.get_by_label("Nur diese Folge verschieben").check()
        page.get_by_role("button", name="Verschieben").click()
        expect(page.get_by_role("status")).to_have_text("Der Termin ist geändert.")
        page.get_by_role("link", name="Nächster Monat").click()
        expect(page.get_by_test_id("day-2027-04-01")).to_contain_text("Folge 3 · Lassahn")
        expect(page.get_by_test_id("day-2027-04-22")).to_contain_text("Sperrtermin")
        expect(page.get_by_test_id("day-2027-03-29")).to_contain_text("Ostermontag")
        screenshot(page, "season-07-april")
        assert slots(live)[1] == "18.03.2027 17:00 CET"

        export = page.request.get(f"{live.url}/series/fruehling-2027/export").text()
        assert 'slot = 2027-04-01 17:00:00+02:00' in export  # summer time offset
        assert 'subtitles = "' in export and 'title = "Wir tun GUTes – Matzlow"' in export
    finally:
        context.close()


def _id_of(live: Live, number: int) -> str:
    with live.db.session() as s:
        series = store.get_series(s, "fruehling-2027")
        assert series is not None
        return str(next(e.id for e in series.episodes if e.number == number))


def test_a_drag_onto_a_taken_day_without_shift_is_refused(live: Live, browser: Browser) -> None:
    """„Nur diese Folge verschieben" onto a taken day answers in German and moves nothing."""
    with live.api("erika") as api:
        assert api.post("/api/v1/series", json={
            "slug": "fruehling-2027", "name": "Frühling 2027", "weekday": 3, "time": "17:00",
            "first_date": "2027-03-11", "last_date": "2027-05-27",
            "accounts": ["mastodon-lup"]}).status_code == 201
        for n in (1, 2):
            assert api.post("/api/v1/series/fruehling-2027/episodes",
                            json={"title": f"Titel {n}", "place": f"Ort {n}"}).status_code == 201
    before = slots(live)
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin",
                                  viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    try:
        log_in(page, live.url, "erika")
        page.goto(f"{live.url}/calendar?series=fruehling-2027&at=2027-03-01")
        page.get_by_test_id("episode-" + _id_of(live, 2)).drag_to(
            page.get_by_test_id("day-2027-03-11"))
        page.get_by_role("dialog").get_by_role("button", name="Nur diese Folge").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Am Do 11.03.2027 17:00 MEZ ist schon Folge 1 eingeplant")
        screenshot(page, "season-08-taken-day")
    finally:
        context.close()
    assert slots(live) == before
    assert datetime.now(BERLIN).year >= 2026

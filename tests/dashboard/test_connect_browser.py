"""Connecting accounts in headless Chromium through the sandboxes' consent pages: a Mastodon
account on the instance the admin names, a YouTube channel, a missing scope refused in German.
Afterwards no token is in the database, the pages or the log lines. Screenshots go to
``test-artifacts/dashboard/``."""

from __future__ import annotations

import json
import logging

import pytest
from playwright.sync_api import Browser, Page, expect

from . import connect_kit
from .conftest import login_page, screenshot
from .connect_kit import NAMES, World

pytestmark = pytest.mark.browser
world = connect_kit.world  # the fixture


def _row_link(page: Page, name: str, text: str) -> None:
    page.get_by_test_id(f"account-{name}").get_by_role("link", name=text).click()


def test_admin_connects_mastodon_and_youtube_in_the_browser(
    world: World, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    """The admin names the Mastodon instance and allows on its consent page; for YouTube an
    unticked youtube.force-ssl is refused with a German message naming it, then the full
    consent and the channel choice connect it. The accounts page shows both connections."""
    caplog.set_level(logging.INFO)
    mastodon = world.sbs["mastodon"]
    seen: list[str] = []
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    page = context.new_page()
    page.on("load", lambda p: seen.append(p.content()))
    try:
        login_page(page, world.live.url, "ada")
        page.get_by_role("link", name="Konten").click()
        expect(page.get_by_test_id(f"connection-{NAMES['mastodon']}")).to_have_text(
            "nicht verbunden")
        screenshot(page, "20-accounts-not-connected")

        _row_link(page, NAMES["mastodon"], "Verbinden")
        page.get_by_label("Adresse der Instanz").fill(mastodon.url)
        page.get_by_role("button", name="Weiter zur Instanz").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Mastodon: Zugriff erlauben?")
        screenshot(page, "21-mastodon-consent")
        page.get_by_role("button", name="Erlauben").click()
        host = mastodon.url.removeprefix("http://")
        expect(page.get_by_test_id("connected")).to_have_text(
            f"Verbunden mit „@landkreis@{host}“.")
        screenshot(page, "22-mastodon-connected")

        page.get_by_role("link", name="Alle Konten").click()
        _row_link(page, NAMES["youtube"], "Verbinden")
        expect(page.get_by_role("heading", level=1)).to_have_text("Google: Zugriff erlauben?")
        page.get_by_label("https://www.googleapis.com/auth/youtube.force-ssl").uncheck()
        screenshot(page, "23-youtube-consent-one-scope")
        page.get_by_role("button", name="Erlauben").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Google (YouTube) hat nicht alle nötigen Berechtigungen erteilt. Es fehlt: "
            "„https://www.googleapis.com/auth/youtube.force-ssl“ (Untertitel hochladen")
        screenshot(page, "24-youtube-scope-refused")

        page.goto(f"{world.live.url}/accounts")
        _row_link(page, NAMES["youtube"], "Verbinden")
        page.get_by_role("button", name="Erlauben").click()
        expect(page.get_by_label("Landkreis Ludwigslust-Parchim (Sandbox)")).to_be_checked()
        screenshot(page, "25-youtube-choose-channel")
        page.get_by_role("button", name="Übernehmen").click()
        expect(page.get_by_test_id("connected")).to_have_text(
            "Verbunden mit „Landkreis Ludwigslust-Parchim (Sandbox)“.")

        page.get_by_role("link", name="Alle Konten").click()
        expect(page.get_by_test_id(f"connection-{NAMES['youtube']}")).to_contain_text(
            "verbunden mit „Landkreis Ludwigslust-Parchim (Sandbox)“")
        expect(page.get_by_test_id(f"connection-{NAMES['mastodon']}")).to_contain_text(
            f"verbunden mit „@landkreis@{host}“")
        screenshot(page, "26-accounts-connected")
    finally:
        context.close()
    tokens = []
    for name in (NAMES["mastodon"], NAMES["youtube"]):
        stored = json.loads((world.secrets_dir / name / "rotated.json").read_text("utf-8"))
        tokens += [v for k, v in stored.items()
                   if k in ("access_token", "refresh_token", "client_secret")]
    assert len(tokens) == 4  # Mastodon token + app secret, YouTube access + refresh
    with world.live.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in world.secrets_dir.parents[1].glob("wtg.db*"))
    logs = caplog.text
    for token in tokens:
        assert token.encode() not in raw, "a token in the database"
        assert all(token not in html for html in seen), "a token on a page"
        assert token not in logs, "a token in the log"

"""A season day in headless Chromium (Debian's ``chromium``) against the real server: log in,
upload a broken and a good clip, edit, approve as a second person, and watch the grid change to
"veröffentlicht" without reloading. Screenshots go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, expect

from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Post

from .conftest import Live, login_page, screenshot

pytestmark = pytest.mark.browser


def test_upload_approve_and_watch_publication(
    live: Live, browser: Browser, clip: Path, tmp_path: Path
) -> None:
    """An editor uploads (a broken file is refused in German, a real clip is accepted and sent
    to the media queue) and edits; a second person approves; the grid turns to
    "veröffentlicht" with the public link while the page stays open."""
    ep = live.ids["ep1"]
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    page = context.new_page()
    try:
        login_page(page, live.url, "erika")
        screenshot(page, "01-grid")
        page.get_by_role("link", name="Folge 1: Titel 1").click()
        expect(page.get_by_test_id("episode-title")).to_have_text("Folge 1: Titel 1")

        broken = tmp_path / "kaputt.mp4"
        broken.write_text("Das ist kein Video, nur Text.\n", encoding="utf-8")
        page.get_by_test_id("source-file").set_input_files(str(broken))
        page.get_by_role("button", name="Video hochladen").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Die Datei „kaputt.mp4“ ist kein lesbares Video")
        screenshot(page, "02-broken-upload")

        page.get_by_test_id("source-file").set_input_files(str(clip))
        page.get_by_role("button", name="Video hochladen").click()
        expect(page.get_by_role("status")).to_have_text(
            "Hochgeladen und geprüft. Das Video wird jetzt aufbereitet.")
        expect(page.locator("[data-episode-media]")).to_have_text("wartet auf Aufbereitung")
        screenshot(page, "03-uploaded")
        media = redis.Redis.from_url(live.settings.broker_url).lrange("media", 0, -1)
        assert [json.loads(m)["headers"]["task"] for m in media] == ["wtg.media.prepare"]
        stored = list((live.settings.media_root / "uploads" / "wtg-2026" / "01").iterdir())
        assert len(stored) == 1 and stored[0].name.startswith("source-")

        page.get_by_label("Titel", exact=True).fill("Die Tafel in Hagenow")
        page.get_by_role("button", name="Speichern").click()
        expect(page.get_by_test_id("approval-state")).to_contain_text("Nicht freigegeben")
        expect(page.get_by_test_id("preview-mastodon-lup")).to_contain_text("Die Tafel in Hagenow")
        assert page.get_by_role("button", name="freigeben").count() == 0  # editors cannot
        page.get_by_role("button", name="Abmelden", exact=True).click()

        login_page(page, live.url, "anton")
        page.goto(f"{live.url}/episodes/{ep}")
        page.get_by_role("button", name="freigeben").click()
        expect(page.get_by_test_id("approval-state")).to_contain_text("Freigegeben von anton")
        screenshot(page, "04-approved")

        page.goto(f"{live.url}/")
        cell = page.locator(f"[data-post='{live.ids['post1-mastodon']}']")
        expect(cell.locator("[data-label]")).to_have_text("wartet")
        _publish(live, live.ids["post1-mastodon"])  # what the publish worker writes
        expect(cell.locator("[data-label]")).to_have_text("veröffentlicht", timeout=10_000)
        screenshot(page, "05-published-live")
        page.reload()
        expect(cell.get_by_role("link", name="Beitrag ansehen")).to_have_attribute(
            "href", "https://mastodon.example/@lup/101")
    finally:
        context.close()


def _publish(live: Live, post_id: int) -> None:
    with live.db.session() as s:
        for target in (PostState.READY, PostState.QUEUED, PostState.UPLOADING,
                       PostState.PROCESSING, PostState.PUBLISHING):
            assert store.transition(s, post_id, target)
        assert store.transition(s, post_id, PostState.PUBLISHED,
                                public_url="https://mastodon.example/@lup/101",
                                published_at=s.get(Post, post_id).slot_at)


def test_title_with_script_is_text_in_the_browser(live: Live, browser: Browser) -> None:
    """A <script> title is shown literally and never runs in the browser."""
    with live.api("erika") as api:
        assert api.patch(f"/api/v1/episodes/{live.ids['ep2']}",
                         json={"title": "<script>window.pwned=1</script>"}).status_code == 200
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    try:
        login_page(page, live.url, "vera")
        page.goto(f"{live.url}/episodes/{live.ids['ep2']}")
        expect(page.get_by_test_id("episode-title")).to_have_text(
            "Folge 2: <script>window.pwned=1</script>")
        assert page.evaluate("window.pwned") is None
    finally:
        context.close()

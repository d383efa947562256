"""Connecting the Facebook Page, the Instagram account and the TikTok account in headless
Chromium through the sandboxes' consent pages, as the admin does it: „Verbinden“ on the accounts
page, the platform's consent page, the Page / Instagram account chosen from the list the
dashboard shows after the callback (Facebook Login), the TikTok creator shown. A permission left
unticked (Facebook's publish_video, TikTok's video.publish) is refused in German, naming it.
Afterwards no token the sandboxes issued (nor an app secret) is in the database, the pages or
the log lines. Screenshots go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.templating import local
from episodes import connections
from episodes.models import utcnow
from sandbox.oauth_platforms import META_APP

from . import connect_kit
from .conftest import login_page, screenshot
from .connect_kit import NAMES, World

pytestmark = pytest.mark.browser
world = connect_kit.world  # the fixture

FB_PAGE, FB_PAGE_ID = "Landkreis (Sandbox-Seite)", "104857600000001"
IG_ACCOUNT, IG_USER_ID = "@landkreis_sandbox", "17841400000000077"
CREATOR = "@landkreis_lup (Landkreis Ludwigslust-Parchim)"
DATE = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d")


@contextmanager
def admin_page(world: World, browser: Browser, seen: list[str]) -> Iterator[Page]:
    """A German Chromium tab, logged in as the admin, on the accounts page; every loaded
    page's HTML goes to ``seen``."""
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    page = context.new_page()
    page.on("load", lambda p: seen.append(p.content()))
    try:
        login_page(page, world.live.url, "ada")
        page.get_by_role("link", name="Konten", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Konten")
        yield page
    finally:
        context.close()


def _verbinden(page: Page, name: str) -> None:
    """„Verbinden“ in the account's row of the accounts page."""
    page.get_by_test_id(f"account-{name}").get_by_role("link", name="Verbinden",
                                                         exact=True).click()


def _pick(page: Page, choice: str) -> None:
    """Choose ``choice`` from the list the dashboard shows after the callback."""
    radio = page.get_by_role("radio", name=choice)
    radio.check()
    expect(radio).to_be_checked()


def _consent(page: Page, brand: str, scopes: list[str]) -> None:
    """The sandbox's consent page: every permission wtg asks for is offered, all ticked."""
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{brand}: Zugriff erlauben?")
    for scope in scopes:
        expect(page.get_by_label(scope, exact=True)).to_be_checked()


def _no_token_leaks(world: World, seen: list[str], logs: str, tokens: set[str]) -> None:
    """None of ``tokens`` in the database file (WAL folded in), a loaded page or the log."""
    assert tokens and all(len(t) >= 12 for t in tokens)
    with world.live.db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in world.secrets_dir.parents[1].glob("wtg.db*"))
    assert seen
    for token in tokens:
        assert token.encode() not in raw, "a token in the database"
        assert all(token not in html for html in seen), "a token on a page"
        assert token not in logs, "a token in the log"


def _stored(world: World, name: str) -> dict[str, str]:
    return json.loads((world.secrets_dir / name / "rotated.json").read_text("utf-8"))


def _meta_tokens(world: World, platform: str) -> set[str]:
    return set(world.sbs[platform].tokens)  # type: ignore[attr-defined]


def _tiktok_tokens(world: World) -> set[str]:
    sb = world.sbs["tiktok"]
    return set(sb.access) | set(sb.refresh)  # type: ignore[attr-defined]


def test_admin_connects_the_facebook_page_in_the_browser(
    world: World, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    """Facebook Login with publish_video unticked is refused in German, naming it (and the
    account's history records it); with all permissions the admin picks the Page from the
    list, and the accounts page shows it connected, its Page token never lapsing."""
    caplog.set_level(logging.INFO)
    name, seen = NAMES["facebook"], []
    before = _meta_tokens(world, "facebook")
    asked = ["pages_show_list", "pages_manage_posts", "pages_read_engagement", "publish_video"]
    with admin_page(world, browser, seen) as page:
        expect(page.get_by_test_id(f"connection-{name}")).to_have_text("nicht verbunden")
        _verbinden(page, name)
        _consent(page, "Facebook", asked)
        page.get_by_label("publish_video", exact=True).uncheck()
        screenshot(page, "50-facebook-consent-without-publish-video")
        page.get_by_role("button", name="Erlauben").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "Facebook hat nicht alle nötigen Berechtigungen erteilt. Es fehlt: "
            "„publish_video“ (Videos auf der Seite veröffentlichen)")
        screenshot(page, "51-facebook-permission-refused")

        page.get_by_role("link", name="Zurück").click()
        expect(page.get_by_test_id("connection")).to_have_text("nicht verbunden")
        expect(page.get_by_role("row").filter(has_text="account.connect_refused")
               ).to_contain_text("publish_video")
        page.get_by_test_id("connect").click()
        _consent(page, "Facebook", asked)
        page.get_by_role("button", name="Erlauben").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"{name}: bitte auswählen")
        expect(page.get_by_text("Mit welcher Seite soll wtg veröffentlichen?")).to_be_visible()
        _pick(page, FB_PAGE)
        expect(page.get_by_text(f"Seiten-ID {FB_PAGE_ID}")).to_be_visible()
        screenshot(page, "52-facebook-choose-page")
        page.get_by_role("button", name="Übernehmen").click()
        expect(page.get_by_test_id("connected")).to_have_text(f"Verbunden mit „{FB_PAGE}“.")
        expect(page.get_by_text("läuft nicht ab (bis zum Widerruf)")).to_be_visible()
        screenshot(page, "53-facebook-connected")

        page.get_by_role("link", name="Zum Konto").click()
        expect(page.get_by_test_id("connection")).to_contain_text(
            f"verbunden mit „{FB_PAGE}“ (ID {FB_PAGE_ID})")
        expect(page.get_by_test_id("scopes")).to_contain_text("publish_video")
        page.get_by_role("link", name="Konten", exact=True).click()
        expect(page.get_by_test_id(f"connection-{name}")).to_contain_text(
            f"verbunden mit „{FB_PAGE}“")
        expect(page.get_by_test_id(f"lapse-{name}")).to_have_text(
            "läuft nicht ab (bis zum Widerruf)")
        screenshot(page, "54-accounts-facebook-connected")
    stored = _stored(world, name)
    assert stored["access_token"].startswith("EAAPAGE-")
    issued = _meta_tokens(world, "facebook") - before  # user tokens (refused flow too), Page's
    assert stored["access_token"] in issued and len(issued) >= 5
    _no_token_leaks(world, seen, caplog.text, issued | {META_APP[1]})


def test_admin_connects_the_instagram_account_in_the_browser(
    world: World, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    """Instagram through Facebook Login: the Page's linked Instagram professional account is
    offered and taken; the accounts page shows it with the long-lived token's end date."""
    caplog.set_level(logging.INFO)
    name, seen = NAMES["instagram"], []
    before = _meta_tokens(world, "instagram")
    with admin_page(world, browser, seen) as page:
        expect(page.get_by_test_id(f"connection-{name}")).to_have_text("nicht verbunden")
        _verbinden(page, name)
        _consent(page, "Facebook", ["instagram_basic", "instagram_content_publish",
                                    "pages_show_list", "pages_read_engagement"])
        screenshot(page, "55-instagram-consent")
        page.get_by_role("button", name="Erlauben").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"{name}: bitte auswählen")
        expect(page.get_by_text(
            "Mit welchem Instagram-Konto soll wtg veröffentlichen?")).to_be_visible()
        _pick(page, IG_ACCOUNT)
        expect(page.get_by_text(
            "verknüpft mit der Seite „Landkreis Ludwigslust-Parchim“")).to_be_visible()
        screenshot(page, "56-instagram-choose-account")
        page.get_by_role("button", name="Übernehmen").click()
        expect(page.get_by_test_id("connected")).to_have_text(
            f"Verbunden mit „{IG_ACCOUNT}“.")
        screenshot(page, "57-instagram-connected")

        page.get_by_role("link", name="Zum Konto").click()
        expect(page.get_by_test_id("connection")).to_contain_text(
            f"verbunden mit „{IG_ACCOUNT}“ (ID {IG_USER_ID})")
        expect(page.get_by_test_id("scopes")).to_contain_text("instagram_content_publish")
        expect(page.get_by_test_id("lapse")).to_contain_text("das Zugangs-Token")
        page.get_by_role("link", name="Konten", exact=True).click()
        expect(page.get_by_test_id(f"connection-{name}")).to_contain_text(
            f"verbunden mit „{IG_ACCOUNT}“")
        with world.live.db.session() as s:
            conn = connections.get(s, name)
            assert conn is not None and conn.token_expires_at is not None
            ends = conn.token_expires_at
        assert timedelta(days=59) < ends - utcnow() < timedelta(days=61)
        expect(page.get_by_test_id(f"lapse-{name}")).to_have_text(local(ends))
        screenshot(page, "58-accounts-instagram-connected")
    stored = _stored(world, name)
    assert stored["access_token"].startswith("EAAUSER-")
    issued = _meta_tokens(world, "instagram") - before  # short- and long-lived, Page tokens
    assert stored["access_token"] in issued and len(issued) >= 3
    _no_token_leaks(world, seen, caplog.text, issued | {META_APP[1]})


def test_admin_connects_the_tiktok_account_in_the_browser(
    world: World, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    """TikTok Login Kit: video.publish unticked is refused naming it; with both scopes the
    creator (name, privacy options, longest video) is shown and the account is connected."""
    caplog.set_level(logging.INFO)
    name, seen = NAMES["tiktok"], []
    before = _tiktok_tokens(world)
    with admin_page(world, browser, seen) as page:
        expect(page.get_by_test_id(f"connection-{name}")).to_have_text("nicht verbunden")
        _verbinden(page, name)
        _consent(page, "TikTok", ["user.info.basic", "video.publish"])
        page.get_by_label("video.publish", exact=True).uncheck()
        page.get_by_role("button", name="Erlauben").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "TikTok hat nicht alle nötigen Berechtigungen erteilt. Es fehlt: "
            "„video.publish“ (Videos direkt veröffentlichen)")
        screenshot(page, "59-tiktok-scope-refused")

        page.get_by_role("link", name="Zurück").click()
        expect(page.get_by_test_id("connection")).to_have_text("nicht verbunden")
        page.get_by_test_id("connect").click()
        _consent(page, "TikTok", ["user.info.basic", "video.publish"])
        screenshot(page, "60-tiktok-consent")
        page.get_by_role("button", name="Erlauben").click()
        expect(page.get_by_test_id("connected")).to_have_text(f"Verbunden mit „{CREATOR}“.")
        creator = page.get_by_test_id("creator")
        expect(creator).to_contain_text(CREATOR)
        expect(creator).to_contain_text("öffentlich")
        expect(creator).to_contain_text("Videos bis 600 s")
        screenshot(page, "61-tiktok-connected")

        page.get_by_role("link", name="Alle Konten").click()
        expect(page.get_by_test_id(f"connection-{name}")).to_contain_text(
            f"verbunden mit „{CREATOR}“")
        expect(page.get_by_test_id(f"lapse-{name}")).to_have_text(DATE)  # the refresh token's
        screenshot(page, "62-accounts-tiktok-connected")
    stored = _stored(world, name)
    issued = _tiktok_tokens(world) - before  # the refused flow's pair too
    assert {stored["access_token"], stored["refresh_token"]} <= issued and len(issued) == 4
    _no_token_leaks(world, seen, caplog.text,
                    issued | {world.sbs["tiktok"].client[1]})  # type: ignore[attr-defined]

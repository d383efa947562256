"""The dashboard with the real machinery behind it: a `wtg worker` process transcodes the clip
uploaded in the browser and publishes to the Mastodon sandbox; the open grid follows along."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from dashboard import create_app
from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Episode, Post, Series, utcnow
from episodes.users import create_user
from sandbox import sandboxes

from ..integration.season_kit import FAST, account_settings
from .conftest import PASSWORD, SECRET, Server, login_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _season(stack: object) -> tuple[int, int]:
    with stack.db.session() as s:  # type: ignore[attr-defined]
        accounts = store.sync_accounts(s, stack.settings.accounts)  # type: ignore[attr-defined]
        series = Series(slug="wtg-2026", name="Wir tun GUTes 2026", weekday=3,
                        time_of_day="17:00", first_date=date(2030, 1, 3),
                        last_date=date(2030, 3, 28), hashtags=["WirTunGUTes"],
                        accounts=["mastodon-lup"], link="https://www.kreis-lup.de")
        series.episodes.append(Episode(number=1, title="Die Tafel in Hagenow", place="Hagenow",
                                       description="Ehrenamt in Hagenow.",
                                       slot_at=datetime(2030, 1, 3, 16, tzinfo=UTC)))
        s.add(series)
        s.flush()
        store.ensure_posts(s, series, accounts)
        for name, role in (("erika", "editor"), ("anton", "approver")):
            create_user(s, name, PASSWORD, role=role, actor="test")
        ep = series.episodes[0]
        return ep.id, ep.posts[0].id


def test_upload_to_public_post_through_a_real_worker(
    make_stack: object, browser: Browser, clip: Path
) -> None:
    """A clip uploaded in the browser is prepared by a real worker (the page shows it ready
    without reloading), approved by a second person, and, once queued, published exactly once
    to the Mastodon sandbox; the grid shows "veröffentlicht" with the sandbox's link."""
    with sandboxes()["mastodon"]() as sb:
        entry, env = account_settings(sb, "mastodon-lup")
        stack = make_stack(  # type: ignore[operator]
            accounts=[entry], env=env,
            extra={**FAST, "dashboard": {"secret_key": SECRET, "secure_cookies": False}})
        episode_id, post_id = _season(stack)
        stack.start_worker(queues="media,publish", concurrency=1)
        app = create_app(stack.settings, db=stack.db, celery=stack.celery,
                         broker_url=stack.broker_url)
        server = Server(app)
        context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = context.new_page()
        try:
            login_page(page, server.url, "erika")
            page.goto(f"{server.url}/episodes/{episode_id}")
            page.get_by_test_id("source-file").set_input_files(str(clip))
            page.get_by_role("button", name="Video hochladen").click()
            expect(page.get_by_role("status")).to_contain_text("Hochgeladen und geprüft")
            media = page.locator("[data-episode-media]")
            expect(media).to_have_text("geprüft, bereit", timeout=120_000)
            page.reload()
            expect(page.locator("video track[kind='captions'][srclang='de']").or_(
                page.locator("video source"))).not_to_have_count(0)
            screenshot(page, "10-real-worker-ready")
            page.get_by_role("button", name="Abmelden", exact=True).click()

            login_page(page, server.url, "anton")
            page.goto(f"{server.url}/episodes/{episode_id}")
            page.get_by_role("button", name="freigeben").click()
            expect(page.get_by_test_id("approval-state")).to_contain_text("Freigegeben von anton")

            page.goto(f"{server.url}/")
            cell = page.locator(f"[data-post='{post_id}']")
            expect(cell.locator("[data-label]")).to_have_text("bereit")
            with stack.db.session() as s:  # the slot has come (the scheduler's part)
                assert store.transition(s, post_id, PostState.QUEUED, expect=[PostState.READY],
                                    slot_at=utcnow())  # publish now
            stack.celery.send_task("wtg.publish.run", args=[post_id])
            expect(cell.locator("[data-label]")).to_have_text("veröffentlicht", timeout=60_000)
            screenshot(page, "11-real-worker-published")
            with stack.db.session() as s:
                url = s.get(Post, post_id).public_url
            public = sb.snapshot()["published"]
            assert len(public) == 1 and public[0]["url"] == url
            page.reload()
            expect(cell.get_by_role("link", name="Beitrag ansehen")).to_have_attribute("href", url)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{stack.log_text()}") from None
        finally:
            context.close()
            server.stop()
            app.state.wtg.celery.close()
            stack.stop()

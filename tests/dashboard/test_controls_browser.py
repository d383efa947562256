"""The staff controls in headless Chromium, with a real `wtg worker` and the Mastodon sandbox
behind them, as a staffer does it: the approval is refused while the preview shows
``#Plau-am-See`` and for an approver who edited before a colleague; a second person approves;
pause and resume; publish now; Mastodon refuses the text; the post is corrected, the correction
approved by a second person, retried and published exactly once (the upload is not redone);
then the episode is withdrawn (a reason, a second person) and deleted on Mastodon. Screenshots
go to ``test-artifacts/dashboard/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard import create_app
from episodes import store
from sandbox import sandboxes

from ..integration.season_kit import FAST, account_settings
from .conftest import SECRET, Server, login_page, screenshot
from .controls_kit import SHORT, media_ready, seed_plau, state_of

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Abmelden", exact=True).click()


def approve_button(page: Page) -> Any:
    return page.get_by_role("button", name=re.compile(r"^Stand \d+ freigeben$"))


def test_refuse_correct_approve_retry_then_withdraw(make_stack: Any, browser: Browser,
                                                   tmp_path: Path) -> None:
    """From a blocked approval to a deleted post, through the dashboard only: four eyes over
    the edit history, preview problems block the approval, pause/resume, publish now, a
    refused text corrected and approved by a second person, one retry publishing exactly once
    without a second upload, and a withdrawal approved by a second person that deletes the
    status on Mastodon."""
    with sandboxes()["mastodon"](max_characters=120) as sb:  # the server's limit is lower
        entry, env = account_settings(sb, "mastodon-lup")
        stack = make_stack(accounts=[entry], env=env, extra={
            **FAST, "dashboard": {"secret_key": SECRET, "secure_cookies": False}})
        episode_id, post_id = seed_plau(stack, tmp_path)
        stack.start_worker(queues="media,publish", concurrency=1)
        stack.celery.send_task("wtg.media.prepare", args=[episode_id])
        app = create_app(stack.settings, db=stack.db, celery=stack.celery,
                         broker_url=stack.broker_url)
        server = Server(app)
        context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = context.new_page()
        url = server.url
        try:
            stack.wait_for(lambda: media_ready(stack, episode_id), timeout=180)
            # anton rewrites the description, erika corrects one letter of the place
            login_page(page, url, "anton")
            page.goto(f"{url}/episodes/{episode_id}")
            page.get_by_label("Beschreibung").fill(
                "Am Plauer See sammeln Ehrenamtliche jeden Samstag Müll vom Ufer.")
            page.get_by_role("button", name="Speichern").click()
            log_out(page)
            login_page(page, url, "erika")
            page.goto(f"{url}/episodes/{episode_id}")
            page.get_by_label("Ort", exact=True).fill("Plau am See")
            page.get_by_role("button", name="Speichern").click()
            log_out(page)

            # the preview shows the hyphenated hashtag: approving is refused
            login_page(page, url, "petra")
            page.goto(f"{url}/episodes/{episode_id}")
            expect(page.get_by_test_id("preview-problems")).to_contain_text("#Plau-am-See")
            approve_button(page).click()
            expect(page.get_by_role("alert")).to_contain_text("solange die Vorschau Probleme")
            screenshot(page, "20-approval-blocked-by-preview")
            log_out(page)
            login_page(page, url, "erika")
            page.goto(f"{url}/episodes/{episode_id}")
            page.locator("input[name=hashtags]").fill("PlauAmSee")
            page.get_by_role("button", name="Speichern").click()
            expect(page.get_by_test_id("preview-problems")).to_have_count(0)
            log_out(page)

            # anton edited since the last approval (erika edited last): refused
            login_page(page, url, "anton")
            page.goto(f"{url}/episodes/{episode_id}")
            approve_button(page).click()
            expect(page.get_by_role("alert")).to_contain_text("seit der letzten Freigabe")
            screenshot(page, "21-approver-edited-before")
            log_out(page)
            login_page(page, url, "petra")
            page.goto(f"{url}/episodes/{episode_id}")
            approve_button(page).click()
            expect(page.get_by_test_id("approval-state")).to_contain_text("Freigegeben von petra")
            log_out(page)

            # pause and resume the series on the overview
            login_page(page, url, "erika")
            page.get_by_role("button", name="Reihe pausieren").click()
            expect(page.get_by_test_id("paused")).to_be_visible()
            screenshot(page, "22-series-paused")
            page.get_by_role("button", name="Reihe fortsetzen").click()
            expect(page.get_by_role("status")).to_contain_text("läuft weiter")
            expect(page.get_by_test_id("paused")).to_have_count(0)

            # publish now: Mastodon refuses the text (over its 120 characters)
            page.goto(f"{url}/episodes/{episode_id}")
            page.get_by_role("button", name="Jetzt senden").click()
            expect(page.get_by_role("status")).to_contain_text("wird jetzt gesendet")
            settled = stack.wait_for(lambda: state_of(stack, post_id) in (
                "needs_attention", "published", "failed"), timeout=90)
            assert state_of(stack, post_id) == "needs_attention", settled
            page.goto(f"{url}/")
            row = page.locator(f"[data-attention-post='{post_id}']")
            expect(row).to_contain_text("Mastodon hat den Beitrag abgelehnt")
            screenshot(page, "23-attention-refused")
            row.get_by_role("link", name="Beitrag korrigieren").click()
            expect(page.get_by_test_id("refusal")).to_contain_text("character limit")
            page.locator("textarea[name=body]").fill(SHORT)
            page.get_by_role("button", name="Korrektur speichern").click()
            expect(page.get_by_role("status")).to_contain_text("Korrektur gespeichert")
            assert page.get_by_role("button", name=re.compile("Korrektur Stand")).count() == 0
            screenshot(page, "24-corrected")
            log_out(page)

            # a second person approves the correction and retries
            login_page(page, url, "anton")
            page.goto(f"{url}/posts/{post_id}/repair")
            page.get_by_role("button", name="Korrektur Stand 1 freigeben").click()
            expect(page.get_by_test_id("correction-approval")).to_contain_text(
                "freigegeben von anton")
            page.get_by_role("button", name="Erneut versuchen").click()
            stack.wait_for(lambda: state_of(stack, post_id) == "published", timeout=90)
            page.goto(f"{url}/")
            expect(page.locator(f"[data-post='{post_id}'] [data-label]")).to_have_text(
                "veröffentlicht")
            screenshot(page, "25-published-after-repair")
            public = sb.snapshot()["published"]
            assert [p["text"] for p in public] == [SHORT]
            assert sb.media_posts_seen == 1  # the video was uploaded once, kept for the retry
            log_out(page)

            # withdraw: erika asks with a reason, anton approves, the worker deletes it
            login_page(page, url, "erika")
            page.goto(f"{url}/episodes/{episode_id}")
            page.get_by_role("link", name=re.compile("Folge zurückziehen")).click()
            page.get_by_label("Grund").fill("Die Ehrenamtliche hat ihre Einwilligung "
                                            "widerrufen (E-Mail vom 12.01.).")
            page.get_by_role("button", name="Zurückziehen beantragen").click()
            expect(page.get_by_test_id("withdraw-pending")).to_contain_text("Einwilligung")
            assert page.get_by_role("button", name=re.compile("bestätigen")).count() == 0
            log_out(page)
            login_page(page, url, "anton")
            expect(page.get_by_test_id("attention")).to_contain_text("beantragt das Zurückziehen")
            page.goto(f"{url}/episodes/{episode_id}/withdraw")
            page.get_by_role("button", name="Zurückziehen bestätigen und löschen").click()
            expect(page.get_by_role("status")).to_contain_text("Zurückziehen bestätigt")
            stack.wait_for(lambda: state_of(stack, post_id) == "withdrawn", timeout=60)
            page.reload()
            expect(page.locator(f"tr[data-post='{post_id}'] [data-label]")).to_have_text(
                "zurückgezogen – gelöscht")
            screenshot(page, "26-withdrawn")
            snap = sb.snapshot()
            assert snap["published"] == [] and snap["statuses"] == 0
            assert len(snap["deleted"]) == 1
            with stack.db.session() as s:
                actions = [e.action for e in store.audit_log(s, limit=100)]
            for action in ("episode.withdraw_request", "episode.withdraw_approve",
                           "post.withdrawn", "post.correct", "post.approve_correction",
                           "series.pause", "series.resume", "post.publish_now"):
                assert action in actions, action
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{stack.log_text()}") from None
        finally:
            context.close()
            server.stop()
            app.state.wtg.celery.close()
            stack.stop()


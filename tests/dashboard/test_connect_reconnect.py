"""Reconnect after a revoked token, with the real machinery: a `wtg worker` process finds the
Mastodon token revoked and holds the post („Zugang abgelaufen“); the admin reconnects in the
browser, retries the post from the reconnect page, and it goes out exactly once -- the worker
reads the new token from the secrets store without a restart."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import Browser, expect

from dashboard import create_app
from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, Rendition, Series, utcnow
from episodes.users import create_user
from sandbox import sandboxes

from ..integration.season_kit import FAST, account_settings
from .conftest import PASSWORD, SECRET, Server, login_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _season(stack: object, tmp: object) -> int:
    """One approved episode with a verified rendition (bytes the sandbox does not decode) and
    its Mastodon post, ready; an admin and two staff."""
    video = tmp / "rendition.mp4"  # type: ignore[operator]
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400)
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    with stack.db.session() as s:  # type: ignore[attr-defined]
        accounts = store.sync_accounts(s, stack.settings.accounts)  # type: ignore[attr-defined]
        series = Series(slug="wtg-2026", name="Wir tun GUTes 2026", weekday=3,
                        time_of_day="17:00", first_date=date(2030, 1, 3),
                        last_date=date(2030, 3, 28), hashtags=["WirTunGUTes"],
                        accounts=["mastodon-lup"], link="https://www.kreis-lup.de")
        ep = Episode(number=1, title="Die Tafel in Hagenow", place="Hagenow",
                     description="Ehrenamt in Hagenow.", media_status=MediaStatus.VERIFIED,
                     slot_at=datetime(2030, 1, 3, 16, tzinfo=UTC), subtitle_path="x.srt",
                     edited_by="erika", approved_by="anton", approved_at=utcnow(),
                     approved_revision=1)
        ep.renditions.append(Rendition(profile="landscape-burned", cache_key="k",
                                       path=str(video), sha256=sha, size=video.stat().st_size,
                                       width=1280, height=720, duration=2.0, verified=True))
        series.episodes.append(ep)
        s.add(series)
        s.flush()
        store.ensure_posts(s, series, accounts)
        ep.posts[0].state = PostState.READY  # what the media job and approval lead to
        for name, role in (("ada", "admin"), ("erika", "editor"), ("anton", "approver")):
            create_user(s, name, PASSWORD, role=role, actor="test")
        return ep.posts[0].id


def test_reconnect_after_revoked_token_sends_the_held_post_exactly_once(
    make_stack: object, browser: Browser, tmp_path: object
) -> None:
    """Revoked token -> the worker holds the post; reconnect in the browser (the instance is
    prefilled, the consent allowed), „Erneut versuchen“ -> published once, with the new token,
    and the post's earlier attempts are still in its history."""
    with sandboxes()["mastodon"]() as sb:
        entry, env = account_settings(sb, "mastodon-lup")
        stack = make_stack(  # type: ignore[operator]
            accounts=[entry], env=env,
            extra={**FAST, "dashboard": {"secret_key": SECRET, "secure_cookies": False}})
        post_id = _season(stack, tmp_path)
        sb.revoke("mastodon-token-1")  # e.g. someone removed the app on the instance
        stack.start_worker(queues="publish", concurrency=1)
        with stack.db.session() as s:
            assert store.transition(s, post_id, PostState.QUEUED, expect=[PostState.READY],
                                    slot_at=utcnow())
        stack.celery.send_task("wtg.publish.run", args=[post_id])

        def held() -> bool:
            with stack.db.session() as s:
                return s.get(Post, post_id).state == PostState.NEEDS_ATTENTION
        stack.wait_for(held, timeout=60, message="the post held for staff")
        app = create_app(stack.settings, db=stack.db, celery=stack.celery,
                         broker_url=stack.broker_url)
        server = Server(app)
        app.state.wtg.settings = stack.settings.model_copy(update={
            "dashboard": stack.settings.dashboard.model_copy(update={"public_url": server.url})})
        sb.allow_redirect(f"{server.url}/connect/callback")
        context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
        page = context.new_page()
        try:
            login_page(page, server.url, "ada")
            page.goto(f"{server.url}/posts/{post_id}")
            expect(page.get_by_role("alert")).to_contain_text(
                "abgelaufen oder wurde widerrufen. Bitte im Dashboard unter „Konten“ die "
                "Verbindung erneuern („Neu verbinden“)")
            page.goto(f"{server.url}/accounts/mastodon-lup")
            expect(page.get_by_test_id("held")).to_contain_text("Die Tafel in Hagenow")
            screenshot(page, "30-held-before-reconnect")
            page.get_by_test_id("connect").click()
            expect(page.get_by_label("Adresse der Instanz")).to_have_value(sb.url)
            page.get_by_role("button", name="Weiter zur Instanz").click()
            page.get_by_role("button", name="Erlauben").click()
            expect(page.get_by_test_id("connected")).to_contain_text("Verbunden mit")
            screenshot(page, "31-reconnected")
            page.get_by_test_id("held").get_by_role("link").click()
            page.get_by_role("button", name="Erneut versuchen").click()
            expect(page.get_by_role("status")).to_have_text(
                "Der Beitrag ist wieder in der Warteschlange.")

            def out() -> bool:
                with stack.db.session() as s:
                    return s.get(Post, post_id).state == PostState.PUBLISHED
            stack.wait_for(out, timeout=60, message="the post published after the reconnect")
            page.reload()
            screenshot(page, "32-published-after-reconnect")
            published = sb.snapshot()["published"]
            assert len(published) == 1, published
            with stack.db.session() as s:
                post = s.get(Post, post_id)
                assert post.public_url == published[0]["url"]
                steps = [(a.step, a.outcome) for a in post.attempts_log]
            assert any(o == "error" for _, o in steps), steps  # the failure is still there
            token = [t for t in sb.tokens if t != "mastodon-token-1"]
            assert len(token) == 1
            assert token[0] not in stack.log_text()
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{stack.log_text()}") from None
        finally:
            context.close()
            server.stop()
            app.state.wtg.celery.close()

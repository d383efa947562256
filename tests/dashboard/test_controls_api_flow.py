"""The same staff flow as the browser test, through the JSON API only, with a real `wtg
worker` and the Mastodon sandbox: blocked approvals, pause/resume, publish now, a refused text
corrected with ``PATCH /posts/{id}``, the correction approved by a second person, one retry
publishing exactly once, and a withdrawal that deletes the status on Mastodon."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dashboard import create_app
from sandbox import sandboxes

from ..integration.season_kit import FAST, account_settings
from .conftest import SECRET, Server
from .controls_kit import SHORT, media_ready, seed_plau, state_of, tokens

pytestmark = pytest.mark.integration


def test_refuse_correct_approve_retry_withdraw_through_the_api(make_stack: Any,
                                                              tmp_path: Any) -> None:
    """Every step of the staff flow answers as documented (German details, 403/409) and the
    platform ends with one status published once and then deleted."""
    with sandboxes()["mastodon"](max_characters=120) as sb:
        entry, env = account_settings(sb, "mastodon-lup")
        stack = make_stack(accounts=[entry], env=env, extra={
            **FAST, "dashboard": {"secret_key": SECRET, "secure_cookies": False}})
        episode_id, post_id = seed_plau(stack, tmp_path)
        keys = tokens(stack)
        stack.start_worker(queues="media,publish", concurrency=1)
        stack.celery.send_task("wtg.media.prepare", args=[episode_id])
        app = create_app(stack.settings, db=stack.db, celery=stack.celery,
                         broker_url=stack.broker_url)
        server = Server(app)

        def api(user: str) -> httpx.Client:
            return httpx.Client(base_url=f"{server.url}/api/v1", timeout=30,
                                headers={"Authorization": f"Bearer {keys[user]}"})

        try:
            stack.wait_for(lambda: media_ready(stack, episode_id), timeout=180)
            ep = f"/episodes/{episode_id}"
            with api("anton") as anton, api("erika") as erika, api("petra") as petra:
                assert anton.patch(ep, json={"description": "Am Plauer See sammeln "
                                             "Ehrenamtliche jeden Samstag Müll vom Ufer."}
                                   ).status_code == 200
                rev = erika.patch(ep, json={"place": "Plau am See"}).json()["revision"]
                blocked = petra.post(f"{ep}/approve", json={"revision": rev})
                assert blocked.status_code == 409 and "#Plau-am-See" in blocked.json()["detail"]
                rev = erika.patch(ep, json={"hashtags": ["PlauAmSee"]}).json()["revision"]
                own = anton.post(f"{ep}/approve", json={"revision": rev})
                assert own.status_code == 403 and "seit der letzten Freigabe" in own.text
                assert petra.post(f"{ep}/approve", json={"revision": rev}).json()["approved"]

                assert erika.post("/series/wtg-2026/pause").json()["paused"] is True
                assert erika.post("/series/wtg-2026/resume").json()["paused"] is False
                sent = erika.post(f"{ep}/publish-now")
                assert sent.status_code == 200 and sent.json()["post_ids"] == [post_id]
                settled = stack.wait_for(lambda: state_of(stack, post_id) in (
                    "needs_attention", "published", "failed"), timeout=90)
                assert state_of(stack, post_id) == "needs_attention", settled
                items = erika.get("/series/wtg-2026/attention").json()
                assert [(i["post_id"], i["fix"]) for i in items] == [(post_id, "repair")]

                fixed = erika.patch(f"/posts/{post_id}", json={"body": SHORT})
                assert fixed.status_code == 200 and fixed.json()["cleared"] is False
                assert erika.post(f"/posts/{post_id}/retry").status_code == 409
                assert petra.post(f"/posts/{post_id}/approve-correction",
                                  json={"correction": 1}).json()["cleared"] is True
                assert erika.post(f"/posts/{post_id}/retry").json()["state"] == "queued"
                stack.wait_for(lambda: state_of(stack, post_id) == "published", timeout=90)
                assert [p["text"] for p in sb.snapshot()["published"]] == [SHORT]
                assert sb.media_posts_seen == 1

                asked = erika.post(f"{ep}/withdraw",
                                   json={"reason": "Einwilligung widerrufen (Brief vom 3.2.)"})
                assert asked.status_code == 201
                wid = asked.json()["id"]
                assert petra.post(f"/withdrawals/{wid}/approve").json()["deleting"] == [post_id]
                stack.wait_for(lambda: state_of(stack, post_id) == "withdrawn", timeout=60)
                assert erika.get(f"/posts/{post_id}").json()["state_de"] == \
                    "zurückgezogen – gelöscht"
            snap = sb.snapshot()
            assert snap["statuses"] == 0 and len(snap["deleted"]) == 1
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{stack.log_text()}") from None
        finally:
            server.stop()
            app.state.wtg.celery.close()
            stack.stop()

"""The JSON API against its own OpenAPI document (schemathesis), retry through the real broker,
and the monitoring endpoints."""

from __future__ import annotations

import json
import re

import httpx
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config import settings_from_dict
from dashboard import create_app
from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Episode, Notification, Post, utcnow

from .conftest import SECRET, Live, Server, csrf_of

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_api_conforms_to_its_openapi_schema(live: Live) -> None:
    """Every API operation, fed 20 generated requests with a valid admin token, answers without
    5xx and as its OpenAPI document says (status codes, content type, body schema)."""
    headers = {"Authorization": f"Bearer {live.tokens['ada']}"}
    doc = httpx.get(f"{live.url}/api/v1/openapi.json", headers=headers, timeout=30).json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    calls = 0
    for operation in operations:

        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            nonlocal calls
            _point_at_real_rows(case, live)
            case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)
            calls += 1

        check()
    assert calls >= len(operations) * 5


def _point_at_real_rows(case: schemathesis.Case, live: Live) -> None:
    """Most generated ids would be 404s: map them onto the seeded rows (still valid input)."""
    params = case.path_parameters or {}
    episodes = sorted(v for k, v in live.ids.items() if k.startswith("ep"))
    posts = sorted(v for k, v in live.ids.items() if k.startswith("post"))
    if isinstance(params.get("episode_id"), int) and params["episode_id"] % 4:
        params["episode_id"] = episodes[params["episode_id"] % len(episodes)]
    if isinstance(params.get("post_id"), int) and params["post_id"] % 4:
        params["post_id"] = posts[params["post_id"] % len(posts)]
    if "slug" in params and len(str(params["slug"])) % 2:
        params["slug"] = "wtg-2026"


def _fail(live: Live, post_id: int) -> None:
    with live.db.session() as s:
        for target in (PostState.READY, PostState.QUEUED, PostState.UPLOADING):
            assert store.transition(s, post_id, target)
        assert store.transition(
            s, post_id, PostState.FAILED,
            last_error={"code": "rejected", "message_de": "Mastodon hat das Video abgelehnt: "
                        "es ist zu lang. Bitte kürzen."})


def _approve(live: Live, episode_key: str) -> None:
    with live.api("anton") as api:
        ep = api.get(f"/api/v1/episodes/{live.ids[episode_key]}").json()
        assert api.post(f"/api/v1/episodes/{ep['id']}/approve",
                        json={"revision": ep["revision"]}).status_code == 200


def test_retry_queues_the_post_and_sends_the_task_to_the_broker(live: Live) -> None:
    """Retry on a failed post of an approved episode moves it to queued and puts one
    wtg.publish.run message for it on the publish queue in Redis; a second retry is refused."""
    post_id = live.ids["post1-mastodon"]
    _fail(live, post_id)
    broker = redis.Redis.from_url(live.settings.broker_url)
    with live.api("erika") as api:
        refused = api.post(f"/api/v1/posts/{post_id}/retry")
        assert refused.status_code == 409 and "freigegeben" in refused.json()["detail"]
        _approve(live, "ep1")
        resp = api.post(f"/api/v1/posts/{post_id}/retry")
        assert resp.status_code == 200, resp.text
        assert resp.json()["state"] == "queued"
        assert api.post(f"/api/v1/posts/{post_id}/retry").status_code == 409
    messages = [json.loads(m) for m in broker.lrange("publish", 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages] == [
        ("wtg.publish.run", f"[{post_id}]")]
    with live.db.session() as s:
        assert s.get(Post, post_id).state == "queued"
        assert store.audit_log(s, target=f"post:{post_id}")[0].action == "post.retry"


def test_post_page_explains_the_error_and_retries(live: Live) -> None:
    """The post page shows the German error and its explanation, and its retry button queues
    the post (form with CSRF token, real broker)."""
    post_id = live.ids["post1-youtube"]
    _fail(live, post_id)
    _approve(live, "ep1")
    with live.client("erika") as client:
        page = client.get(f"/posts/{post_id}").text
        assert "Mastodon hat das Video abgelehnt" in page
        assert "fehlgeschlagen" in page and "Erneut versuchen" in page
        resp = client.post(f"/posts/{post_id}/retry", data={"csrf": csrf_of(page)})
        assert resp.status_code == 303
        assert "in der Warteschlange" in client.get(resp.headers["location"]).text
    assert redis.Redis.from_url(live.settings.broker_url).llen("publish") == 1


def test_metrics_need_a_token_and_report_posts_queues_and_latency(live: Live) -> None:
    """/metrics answers 401 without a token; with one it reports posts by platform and state,
    queue depth from Redis, the publish delay histogram and the last post's time."""
    post_id = live.ids["post0-mastodon"]
    with live.db.session() as s:
        slot = s.get(Post, post_id).slot_at
        for target in (PostState.READY, PostState.QUEUED, PostState.UPLOADING,
                       PostState.PROCESSING, PostState.PUBLISHING):
            assert store.transition(s, post_id, target)
        assert store.transition(s, post_id, PostState.PUBLISHED, published_at=slot.replace(
            second=42), public_url="https://mastodon.example/@lup/1")
        store.add_attempt(s, post_id, "publish", "ok", started_at=utcnow())
    redis.Redis.from_url(live.settings.broker_url).rpush("media", b"x", b"y")
    assert httpx.get(f"{live.url}/metrics", timeout=30).status_code == 401
    with live.api("vera") as api:
        text = api.get("/metrics").text
    assert 'wtg_posts{platform="mastodon",state="published"} 1.0' in text
    assert 'wtg_posts{platform="youtube",state="pending"} 3.0' in text
    assert 'wtg_queue_depth{queue="media"} 2.0' in text
    assert 'wtg_publish_delay_seconds_bucket{le="60.0",platform="mastodon"} 1.0' in text
    assert 'wtg_publish_step_seconds_count{step="publish"} 1.0' in text
    last = re.search(r"^wtg_last_published_timestamp_seconds (\S+)$", text, re.M)
    assert last and float(last.group(1)) == slot.replace(second=42).timestamp()
    assert 'wtg_up{component="broker"} 1.0' in text


def test_healthz_reports_database_and_broker(live: Live) -> None:
    """/healthz is 200 when database and broker answer and 503 naming the broker when the
    broker is unreachable."""
    assert httpx.get(f"{live.url}/healthz", timeout=30).json() == {
        "ok": True, "database": "ok", "broker": "ok"}
    dead = settings_from_dict({"database_url": live.settings.database_url,
                               "broker_url": "redis://127.0.0.1:1/0",
                               "dashboard": {"secret_key": SECRET}})
    app = create_app(dead, db=live.db)
    server = Server(app)
    try:
        resp = httpx.get(f"{server.url}/healthz", timeout=30)
    finally:
        server.stop()
        app.state.wtg.celery.close()
    assert resp.status_code == 503
    assert resp.json() == {"ok": False, "database": "ok", "broker": "down"}


def test_notifications_and_live_progress_show_worker_updates(live: Live) -> None:
    """The notification outbox lists the worker's messages, and the live JSON reports upload
    and transcode progress as the workers write it."""
    post_id, ep_id = live.ids["post2-youtube"], live.ids["ep2"]
    with live.db.session() as s:
        store.notify(s, "error", "Folge 2 auf youtube-lup fehlgeschlagen",
                     "Das Token ist abgelaufen.", post_id=post_id)
        for target in (PostState.READY, PostState.QUEUED, PostState.UPLOADING):
            assert store.transition(s, post_id, target)
        s.get(Post, post_id).progress = 37.5
        ep = s.get(Episode, ep_id)
        ep.media_status, ep.media_progress = "transcoding", 61.0
    with live.client("vera") as client:
        page = client.get("/notifications").text
        assert "Folge 2 auf youtube-lup fehlgeschlagen" in page and "noch nicht" in page
        data = client.get(f"/live/progress?series_id={live.ids['series']}").json()
    assert data["posts"][str(post_id)] == {"state": "uploading", "label": "wird hochgeladen",
                                           "progress": 37.5, "url": None}
    assert data["episodes"][str(ep_id)]["label"] == "wird umgewandelt"
    assert data["episodes"][str(ep_id)]["progress"] == 61.0
    with live.db.session() as s:
        assert s.query(Notification).count() == 1


def test_publish_delay_is_measured_on_the_virtual_clock(live: Live) -> None:
    """With compressed time (the demo), wtg_publish_delay_seconds converts the real publication
    time to the scheduler's clock: 2 real seconds after the slot at 1800x are one virtual hour
    (not the years between the season's dates and today)."""
    from datetime import UTC, datetime, timedelta

    from episodes.models import SchedulerClock

    scale = 1800.0
    post_id = live.ids["post0-mastodon"]
    real_start = datetime(2020, 1, 1, tzinfo=UTC)
    with live.db.session() as s:
        slot = s.get(Post, post_id).slot_at
        s.add(SchedulerClock(name="default", scale=scale, virtual_start=slot - timedelta(hours=1),
                             real_start=real_start))
        published = real_start + timedelta(hours=1) / scale + timedelta(seconds=2)
        for target in (PostState.READY, PostState.QUEUED, PostState.UPLOADING,
                       PostState.PROCESSING, PostState.PUBLISHING):
            assert store.transition(s, post_id, target)
        assert store.transition(s, post_id, PostState.PUBLISHED, published_at=published)
    compressed = live.settings.model_copy(update={"time_scale": scale})
    app = create_app(compressed, db=live.db)
    server = Server(app)
    try:
        text = httpx.get(f"{server.url}/metrics", timeout=30, headers={
            "Authorization": f"Bearer {live.tokens['vera']}"}).text
    finally:
        server.stop()
        app.state.wtg.celery.close()
    total = re.search(r'^wtg_publish_delay_seconds_sum\{platform="mastodon"\} (\S+)$', text, re.M)
    assert total and abs(float(total.group(1)) - 3600.0) < 1.0, total
    assert 'wtg_publish_delay_seconds_bucket{le="1800.0",platform="mastodon"} 0.0' in text
    assert 'wtg_publish_delay_seconds_bucket{le="3600.0",platform="mastodon"} 1.0' in text

"""The Celery app: JSON only, late acks, routing by task name, and real ``wtg worker``
processes answering tasks over real Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from config import Settings, settings_from_dict
from episodes.models import Account
from episodes.store import sync_accounts
from tests.harness import Stack
from workers.app import make_celery

TASKS = {"wtg.media.prepare", "wtg.publish.run", "wtg.publish.check_account", "wtg.notify.send"}
MASTODON = {"name": "mastodon-lup", "platform": "mastodon", "api_base": "http://127.0.0.1:9"}


def test_delivery_settings(settings: Settings):
    """JSON only, acks after the task, redelivery when the worker dies, one task at a time, and
    the Redis visibility timeout from the settings."""
    s = settings_from_dict({**settings.model_dump(exclude={"dashboard", "notify_urls"}),
                            "task_time_limit": 600, "visibility_timeout": 900})
    conf = make_celery(s, "redis://127.0.0.1:6379/0").conf
    assert conf.task_serializer == "json" and conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit == 600
    assert conf.broker_transport_options["visibility_timeout"] == 900
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


def test_tasks_are_registered_under_their_stable_names(settings: Settings):
    """The four task names the scheduler and dashboard send by name exist in the app."""
    app = make_celery(settings, "redis://127.0.0.1:6379/0")
    app.loader.import_default_modules()
    assert set(app.tasks) >= TASKS


def test_routes_send_media_and_publish_to_their_queues(settings: Settings):
    """wtg.media.* goes to queue media; wtg.publish.* and wtg.notify.* to queue publish."""
    app = make_celery(settings, "redis://127.0.0.1:6379/0")
    route = app.amqp.router.route
    assert route({}, "wtg.media.prepare")["queue"].name == "media"
    assert route({}, "wtg.publish.run")["queue"].name == "publish"
    assert route({}, "wtg.publish.check_account")["queue"].name == "publish"
    assert route({}, "wtg.notify.send")["queue"].name == "publish"


def test_round_trip_through_a_real_worker(make_stack: Callable[..., Stack]):
    """A real `wtg worker` answers check_account: an unknown account gets a German 'not set up',
    a configured one without token names the variable to set, and the account row records it."""
    stack = make_stack(accounts=[MASTODON])
    with stack.db.session() as s:
        sync_accounts(s, stack.settings.accounts)
    stack.start_worker(queues="publish")
    unknown = stack.celery.send_task("wtg.publish.check_account", args=["gibt-es-nicht"])
    assert unknown.get(timeout=30) == {
        "account": "gibt-es-nicht", "ok": False,
        "message_de": "Konto gibt-es-nicht ist nicht eingerichtet.",
    }
    missing = stack.celery.send_task("wtg.publish.check_account", args=["mastodon-lup"])
    answer: dict[str, Any] = missing.get(timeout=30)
    assert answer["ok"] is False
    assert "WTG_ACCOUNT_MASTODON_LUP_ACCESS_TOKEN" in answer["message_de"]
    with stack.db.session() as s:
        row = s.query(Account).filter_by(name="mastodon-lup").one()
        assert row.credentials_ok is False and row.credentials_checked_at is not None


def test_publish_task_waits_in_redis_until_a_publish_worker_runs(
    make_stack: Callable[..., Stack], redis_url: str
):
    """A media-only worker leaves publish tasks alone; they wait in Redis (JSON) until a
    publish worker starts and takes them."""
    stack = make_stack()
    stack.start_worker(queues="media")
    result = stack.celery.send_task("wtg.publish.check_account", args=["niemand"])
    r = redis.Redis.from_url(redis_url)
    stack.wait_for(lambda: r.llen("publish") == 1, timeout=10, message="task in queue publish")
    body = r.lindex("publish", 0)
    assert body is not None and b'"content-type": "application/json"' in body
    assert not result.ready()
    stack.start_worker(queues="publish")
    assert result.get(timeout=30)["account"] == "niemand"
    assert r.llen("publish") == 0

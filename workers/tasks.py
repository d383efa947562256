"""Thin Celery tasks: ids in, load, one domain call, record the outcome, small JSON out.

Names are explicit and stable (the scheduler and dashboard send them by name, without importing
this module):

    wtg.media.prepare(episode_id)        probe -> transcode -> verify, on queue ``media``
    wtg.publish.run(post_id)             drive one post one or more steps, on queue ``publish``;
                                         re-enqueues itself with a countdown while the platform
                                         processes (never holds a worker while waiting)
    wtg.publish.check_account(account)   a cheap authenticated call (pre-flight)
    wtg.publish.withdraw(post_id)        delete a withdrawn post on its platform, exactly once
    wtg.publish.preflight(episode_id, kind)  pre-flight checks ("queue", "48h", "2h")
    wtg.notify.send(notification_id)     deliver one staff notification (apprise)
    wtg.accounts.health()                warn before connections lapse, re-check stale ones
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from celery import shared_task

from config.logging import bind

from . import task_names as names
from .runtime import runtime

log = logging.getLogger("wtg.tasks")



def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@shared_task(name=names.MEDIA_PREPARE, bind=True, acks_late=True)
def prepare_media(self: Any, episode_id: int) -> dict[str, Any]:
    from .media_jobs import prepare_episode

    with bind(task=names.MEDIA_PREPARE, episode=episode_id):
        return prepare_episode(runtime(), episode_id, task=self)


@shared_task(name=names.PUBLISH_RUN, bind=True, acks_late=True)
def publish_run(self: Any, post_id: int) -> dict[str, Any]:
    from .publishing import run_post

    with bind(task=names.PUBLISH_RUN, post=post_id):
        outcome = run_post(runtime(), post_id, worker_id())
        if outcome.again is not None:
            self.app.send_task(names.PUBLISH_RUN, args=[post_id], countdown=outcome.again)
        for note in outcome.notifications:
            self.app.send_task(names.NOTIFY_SEND, args=[note])
        return outcome.to_dict()


@shared_task(name=names.PUBLISH_WITHDRAW, bind=True, acks_late=True)
def withdraw_run(self: Any, post_id: int) -> dict[str, Any]:
    from .withdraw import run_withdraw

    with bind(task=names.PUBLISH_WITHDRAW, post=post_id):
        outcome = run_withdraw(runtime(), post_id, worker_id())
        if outcome.again is not None:
            self.app.send_task(names.PUBLISH_WITHDRAW, args=[post_id],
                               countdown=outcome.again)
        for note in outcome.notifications:
            self.app.send_task(names.NOTIFY_SEND, args=[note])
        return outcome.to_dict()


@shared_task(name=names.PUBLISH_CHECK_ACCOUNT, acks_late=True)
def check_account(account: str) -> dict[str, Any]:
    from .publishing import check_account_credentials

    with bind(task=names.PUBLISH_CHECK_ACCOUNT, account=account):
        return check_account_credentials(runtime(), account)


@shared_task(name=names.PUBLISH_PREFLIGHT, bind=True, acks_late=True)
def preflight(self: Any, episode_id: int, kind: str) -> dict[str, Any]:
    from .preflight import run_preflight

    with bind(task=names.PUBLISH_PREFLIGHT, episode=episode_id, kind=kind):
        report = run_preflight(runtime(), episode_id, kind, network=True)
        if report.notification is not None:
            self.app.send_task(names.NOTIFY_SEND, args=[report.notification])
        return report.to_dict()


@shared_task(name=names.NOTIFY_SEND, acks_late=True)
def notify_send(notification_id: int) -> dict[str, Any]:
    from .notify import deliver

    with bind(task=names.NOTIFY_SEND, notification=notification_id):
        return deliver(runtime(), notification_id)


@shared_task(name=names.ACCOUNTS_HEALTH, bind=True, acks_late=True)
def accounts_health(self: Any) -> dict[str, Any]:
    from .connect.health import sweep

    with bind(task=names.ACCOUNTS_HEALTH):
        report = sweep(runtime())
        for note in report.notifications:
            self.app.send_task(names.NOTIFY_SEND, args=[note])
        return {"warned": report.warned, "checked": report.checked, "failing": report.failing}

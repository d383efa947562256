"""Shared fixtures for the platform adapter tests: a video-ish file, post contexts whose
``record`` persists into a dict (or a JSON file, for tests that kill a process), sandboxes
started and stopped per test, and a poll loop that waits on a condition with a deadline."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from config.credentials import InMemoryCredentials
from episodes.captions import PostText
from sandbox import Sandbox, sandboxes
from workers.platforms.base import (
    Account,
    MediaFile,
    Platform,
    PostContext,
    Processing,
    ProcessingState,
    adapter_class,
)

DEFAULT_TEXT = PostText(
    body="Wir tun GUTes – Folge 3: die Tafel in Hagenow. Mehr: https://www.kreis-lup.de "
    "#WirTunGUTes",
    title="Wir tun GUTes – Folge 3: Tafel Hagenow",
    hashtags=("#WirTunGUTes",),
)


def write_video(path: Path, size: int, seed: int = 1) -> MediaFile:
    """A file of ``size`` pseudo-random bytes (the sandboxes do not decode video)."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            piece = rng.randbytes(min(left, 64 * 1024))
            fh.write(piece)
            digest.update(piece)
            left -= len(piece)
    return MediaFile(path=path, size=size, sha256=digest.hexdigest(), duration=42.0)


class Recorder:
    """``ctx.record``: JSON round-trips what it gets (as the database would) into ``remote``;
    with ``path`` it also writes the facts to a JSON file at once (atomic replace)."""

    def __init__(self, initial: Mapping[str, Any] | None = None, path: Path | None = None):
        self.remote: dict[str, Any] = dict(initial or {})
        self.calls: list[dict[str, Any]] = []
        self.path = path

    def __call__(self, values: Mapping[str, Any]) -> None:
        data = json.loads(json.dumps(dict(values)))
        self.remote.update(data)
        self.calls.append(data)
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.remote), encoding="utf-8")
            os.replace(tmp, self.path)


def upload_in_child(account: Account, secrets: Mapping[str, str], video: MediaFile, state: str,
                    *, marker: str, key: str, text: PostText) -> None:
    """The first worker, run in a separate process (a ``spawn`` target): ``upload`` through the
    platform's adapter, persisting every recorded fact to the JSON file ``state`` at once (as
    the database would), so a test can SIGKILL it mid-upload and resume from the file."""
    credentials = InMemoryCredentials(dict(secrets))
    ctx = PostContext(post_id=7, episode_number=3, account=account, credentials=credentials,
                      video=video, text=text, marker=marker, idempotency_key=key, remote={},
                      record=Recorder(path=Path(state)))
    adapter_class(account.platform)(account, credentials).upload(ctx)


class MemoryQuota:
    """A quota ledger with plenty of units (the real one lives in the database)."""

    def __init__(self, units: int = 10_000) -> None:
        self.units = units
        self.spent: list[tuple[int, str]] = []

    def remaining(self) -> int:
        return self.units - sum(u for u, _ in self.spent)

    def spend(self, units: int, what: str) -> None:
        self.spent.append((units, what))


class CtxFactory:
    """Builds PostContexts for one post; ``fresh(ctx)`` is the view a later step would load."""

    def __call__(
        self, account: Account, credentials: Any, video: MediaFile, *,
        recorder: Recorder | None = None, text: PostText = DEFAULT_TEXT, post_id: int = 7,
        **overrides: Any,
    ) -> PostContext:
        recorder = recorder or Recorder()
        marker = f"wtg-s1-e03-{account.name}-p{post_id}"
        fields: dict[str, Any] = {
            "post_id": post_id, "episode_number": 3, "account": account,
            "credentials": credentials, "video": video, "text": text, "marker": marker,
            "idempotency_key": f"{marker}-k1", "remote": dict(recorder.remote),
            "record": recorder, "quota": MemoryQuota(),
        }
        fields.update(overrides)
        return PostContext(**fields)

    @staticmethod
    def fresh(ctx: PostContext) -> PostContext:
        recorder = ctx.record
        assert isinstance(recorder, Recorder)
        return replace(ctx, remote=dict(recorder.remote))


@pytest.fixture
def make_ctx() -> CtxFactory:
    return CtxFactory()


@pytest.fixture
def video(tmp_path: Path) -> MediaFile:
    return write_video(tmp_path / "episode-03.mp4", 256 * 1024 + 17)


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start a platform's sandbox (keyword arguments go to its constructor); stopped after."""
    started: list[Sandbox] = []

    def start(platform: str, *, readings: Mapping[str, str] | None = None,
              **kwargs: Any) -> Sandbox:
        sb = sandboxes()[platform](**kwargs)
        sb.configure(readings or {})
        sb.start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


def account_for(sb: Sandbox, **options: Any) -> tuple[Account, dict[str, str]]:
    """``sb.account()`` as the adapters' ``Account`` (sandboxes have their own account type:
    they import nothing from ``workers``), with extra account options."""
    account, secrets = sb.account()  # type: ignore[attr-defined]
    fields = dataclasses.asdict(account)
    fields["options"] = {**fields["options"], **options}
    return Account(**fields), dict(secrets)


def adapter_for(sb: Sandbox, **options: Any) -> tuple[Platform, InMemoryCredentials]:
    """The registered adapter for ``sb``'s platform, pointed at it (extra account options)."""
    account, secrets = account_for(sb, **options)
    credentials = InMemoryCredentials(secrets)
    return adapter_class(sb.platform)(account, credentials), credentials


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``condition`` until truthy or the deadline passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.01)


def poll_until_done(
    adapter: Platform, ctx: PostContext, *, timeout: float = 20.0, scale: float = 0.02,
) -> tuple[PostContext, Processing]:
    """Poll like the orchestrator (honouring ``retry_after``, scaled down) until READY or
    PUBLISHED; returns the fresh context and the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        ctx = CtxFactory.fresh(ctx)
        state = adapter.poll(ctx)
        if state.state in (ProcessingState.READY, ProcessingState.PUBLISHED):
            return CtxFactory.fresh(ctx), state
        if time.monotonic() > deadline:
            pytest.fail(f"{adapter.SPEC.name}: still {state.state} after {timeout}s")
        time.sleep(min(max(state.retry_after, 0.0) * scale, 0.25))


def published(sb: Sandbox) -> list[dict[str, Any]]:
    with sb.lock:
        return list(sb.snapshot()["published"])


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above, as a fixture (test modules never import conftest)."""
    return SimpleNamespace(
        write_video=write_video, Recorder=Recorder, fresh=CtxFactory.fresh,
        adapter_for=adapter_for, account_for=account_for, wait_until=wait_until,
        poll_until_done=poll_until_done, published=published,
    )

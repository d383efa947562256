"""The adapter contract, proved for every registered platform against its local sandbox.

Parametrized at collection time from ``workers.platforms.base.registry()``: an adapter that
lands later is covered without editing this file, and one without a sandbox fails here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from config.credentials import InMemoryCredentials
from episodes.captions import PostText
from sandbox import Fault, reading_variants, sandboxes
from workers.platforms.base import ProcessingState, registry
from workers.platforms.errors import CredentialsExpired, PlatformUnavailable

PLATFORMS = sorted(registry())


def test_every_adapter_has_a_sandbox() -> None:
    """Every registered adapter has a sandbox of the same name (else the suite cannot prove it)."""
    missing = sorted(set(registry()) - set(sandboxes()))
    assert not missing, f"adapters without a sandbox: {missing}"
    assert {"mastodon", "tiktok"} <= set(PLATFORMS)


@pytest.fixture(params=[pytest.param((name, readings), id=label)
                        for name in PLATFORMS for label, readings in reading_variants(name)])
def sandbox(request: pytest.FixtureRequest, start_sandbox: Any) -> Any:
    """Each platform's sandbox under each plausible reading of the documents (its READINGS)."""
    name, readings = request.param
    if name not in sandboxes():
        pytest.fail(f"adapter {name!r} has no sandbox module sandbox/{name}.py")
    return start_sandbox(name, readings=readings)


def _publish_once(kit: Any, make_ctx: Any, sb: Any, video: Any) -> tuple[Any, Any, Any]:
    adapter, creds = kit.adapter_for(sb)
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
    assert state.state in (ProcessingState.READY, ProcessingState.PUBLISHED)
    result = adapter.publish(ctx)
    _confirm(kit, adapter, ctx)
    return adapter, kit.fresh(ctx), result


def _confirm(kit: Any, adapter: Any, ctx: Any) -> None:
    """Where publish only hands the post over (``SPEC.confirm_after_publish``), poll on as the
    orchestrator does until the platform says it is out."""
    if adapter.SPEC.confirm_after_publish:
        _ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
        assert state.state is ProcessingState.PUBLISHED, state


def _assert_one_post(kit: Any, sb: Any, video: Any) -> dict[str, Any]:
    posts = kit.published(sb)
    assert len(posts) == 1, posts
    assert posts[0]["sha256"] == video.sha256
    assert posts[0]["size"] == video.size
    return posts[0]


def test_upload_poll_publish_gives_exactly_one_post(kit, make_ctx, sandbox, video) -> None:
    """upload, poll until ready and publish leave exactly one public post with the file's
    bytes."""
    _adapter, _ctx, result = _publish_once(kit, make_ctx, sandbox, video)
    post = _assert_one_post(kit, sandbox, video)
    assert result.remote_id
    assert str(post["id"]) == result.remote_id or result.remote_id in str(post)


def test_second_run_after_success_is_reconciled(kit, make_ctx, sandbox, video) -> None:
    """After a successful publish, find_published reports the same post and nothing new
    appears."""
    adapter, ctx, first = _publish_once(kit, make_ctx, sandbox, video)
    again = adapter.find_published(ctx)
    assert again is not None and again.remote_id == first.remote_id
    _assert_one_post(kit, sandbox, video)


def test_check_text_refuses_over_long_body(kit, sandbox) -> None:
    """check_text returns a German problem for a body one unit over the platform's limit."""
    adapter, _creds = kit.adapter_for(sandbox)
    limit = adapter.text_limits().body_max
    fine = PostText(body="a" * limit, title="Wir tun GUTes – Folge 1")
    too_long = replace(fine, body="a" * (limit + 1))
    assert adapter.check_text(fine) == []
    problems = adapter.check_text(too_long)
    assert problems and any(str(limit) in p and "erlaubt" in p for p in problems)


def test_bad_token_raises_credentials_expired(kit, sandbox) -> None:
    """check_credentials with secrets the platform does not accept raises CredentialsExpired
    with a German message."""
    adapter, creds = kit.adapter_for(sandbox)
    bad = InMemoryCredentials({k: f"falsch-{k}" for k in creds.values})
    broken = type(adapter)(adapter.account, bad)
    with pytest.raises(CredentialsExpired) as err:
        broken.check_credentials()
    assert err.value.message_de.strip()


def test_server_error_on_first_upload_request_then_upload_completes(
    kit, make_ctx, sandbox, video
) -> None:
    """A 500 on the first upload request surfaces as PlatformUnavailable (or is retried
    inside the adapter); a second upload call completes and exactly one post results."""
    adapter, creds = kit.adapter_for(sandbox)
    ctx = make_ctx(adapter.account, creds, video)
    sandbox.inject(Fault(method="*", path=".", status=500))
    try:
        adapter.upload(ctx)
        raised = False
    except PlatformUnavailable:
        raised = True
    with sandbox.lock:
        assert not sandbox.faults, "the 500 was never sent"
    assert raised or kit.fresh(ctx).remote, "neither raised nor made progress"
    adapter.upload(kit.fresh(ctx))
    ctx, _state = kit.poll_until_done(adapter, kit.fresh(ctx))
    adapter.publish(ctx)
    _confirm(kit, adapter, ctx)
    _assert_one_post(kit, sandbox, video)

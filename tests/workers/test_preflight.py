"""Pre-flight checks before a slot: each check in its own function, against real local servers
(credentials, quota) and a real database; every problem in German, stored and notified."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from episodes.capabilities.youtube import YouTubeOptions
from episodes.models import Account as AccountRow
from episodes.models import Episode, Notification, PreflightResult, QuotaUsage
from sandbox import Fault
from sandbox.mastodon import MastodonSandbox
from sandbox.youtube import YouTubeSandbox
from workers.preflight import LOCAL_CHECKS, NETWORK_CHECKS, run_preflight
from workers.publishing import DbQuota

from .world import World, make_world


@pytest.fixture
def servers() -> Iterator[tuple[MastodonSandbox, YouTubeSandbox]]:
    with MastodonSandbox() as md, YouTubeSandbox() as yt:
        yield md, yt


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          servers: tuple[MastodonSandbox, YouTubeSandbox]) -> Iterator[World]:
    md, yt = servers
    w = make_world(tmp_path, monkeypatch, {"mastodon-lup": md, "youtube-lup": yt},
                   extra={"credentials_check_seconds": 0})
    with w.rt.db.session() as s:
        ep = s.query(Episode).one()
        ep.edited_by, ep.approved_by, ep.approved_revision = "redaktion", "freigabe", ep.revision
        (tmp_path / "x.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo\n",
                                        encoding="utf-8")
    yield w
    w.rt.db.dispose()


def _episode_id(w: World) -> int:
    with w.rt.db.session() as s:
        return s.query(Episode).one().id


def test_the_checks_are_small_named_functions() -> None:
    """Pre-flight is a list of check functions, local ones first."""
    assert [c.__name__ for c in LOCAL_CHECKS] == [
        "_media_ready", "_subtitles", "_approved", "_accounts", "_renditions", "_texts"]
    assert [c.__name__ for c in NETWORK_CHECKS] == ["_credentials", "_youtube_quota"]


def test_a_ready_episode_passes_and_the_result_is_stored(world: World) -> None:
    """Verified media, subtitles, approval, renditions, texts and both accounts' credentials:
    no problem; the result is stored and nobody is notified."""
    report = run_preflight(world.rt, _episode_id(world), "48h", network=True)
    assert report.ok and report.problems == [], report.problems
    with world.rt.db.session() as s:
        assert s.query(PreflightResult).one().ok
        assert s.query(Notification).count() == 0


def test_every_local_problem_is_named_in_german(world: World) -> None:
    """Missing approval, subtitles and an unknown account are each reported (German), the run
    fails and staff are notified once."""
    with world.rt.db.session() as s:
        ep = s.query(Episode).one()
        ep.approved_by = None
        ep.subtitle_path = None
        ep.series.accounts = [*ep.series.accounts, "bluesky-lup"]
    report = run_preflight(world.rt, _episode_id(world), "2h", network=False)
    codes = {p["code"]: p["message_de"] for p in report.problems}
    assert "freigegeben" in codes["approval"]
    assert "BITV" in codes["captions"]
    assert codes["account"] == "Konto bluesky-lup ist nicht eingerichtet."
    assert not report.ok and report.notification is not None


def test_a_rate_limited_credentials_check_is_a_warning_a_revoked_token_an_error(
        world: World, servers: tuple[MastodonSandbox, YouTubeSandbox]) -> None:
    """A 429 while checking Mastodon's token cannot tell whether the token is good: a warning.
    YouTube's revoked refresh token is an error, named for its account."""
    md, yt = servers
    md.inject(Fault("GET", r"verify_credentials", status=429,
                    body={"error": "Too many requests"}))
    yt.expire_access_tokens()
    yt.revoke_refresh_tokens()
    report = run_preflight(world.rt, _episode_id(world), "2h", network=True)
    by_account = {p["account"]: p for p in report.problems if p["code"] == "credentials"}
    assert by_account["mastodon-lup"]["severity"] == "warning"
    assert by_account["youtube-lup"]["severity"] == "error"
    assert not report.ok


def test_youtube_quota_is_checked_also_when_the_token_is_fine(world: World) -> None:
    """With good credentials but the day's YouTube units nearly spent, the check says how many
    are left (it used to look only when the token check had failed)."""
    with world.rt.db.session() as s:
        row_id = s.query(AccountRow).filter_by(name="youtube-lup").one().id
    options = world.rt.settings.account("youtube-lup").options
    ledger = DbQuota(world.rt, row_id, YouTubeOptions.model_validate(dict(options)))
    ledger.spend(ledger.remaining() - 100, "test")
    report = run_preflight(world.rt, _episode_id(world), "48h", network=True)
    (quota,) = [p for p in report.problems if p["code"] == "quota"]
    assert "100 von 600 Einheiten" in quota["message_de"]
    with world.rt.db.session() as s:
        assert s.query(QuotaUsage).count() == 1


def test_a_mastodon_instance_limit_learned_once_is_kept_for_every_text_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance that allows 700 characters says so when its token is checked; the connection
    keeps it, so the pre-flight text check then measures a 600-character text against 700
    instead of Mastodon's default 500."""
    from episodes import connections
    from workers.publishing import check_account_credentials

    with MastodonSandbox(max_characters=700) as md:
        w = make_world(tmp_path, monkeypatch, {"mastodon-lup": md})
        try:
            with w.rt.db.session() as s:
                connections.record_connected(
                    s, account="mastodon-lup", platform="mastodon", actor="admin",
                    facts=connections.Facts(api_base=md.url, remote_id="1",
                                            remote_name="@landkreis"))
                ep = s.query(Episode).one()
                ep.description = "Ehrenamt " * 66  # about 600 characters
            before = run_preflight(w.rt, _episode_id(w), "48h", network=False)
            assert any(p["code"] == "text" for p in before.problems)
            assert check_account_credentials(w.rt, "mastodon-lup")["ok"]
            after = run_preflight(w.rt, _episode_id(w), "48h", network=False)
            assert not any(p["code"] == "text" for p in after.problems), after.problems
        finally:
            w.rt.db.dispose()

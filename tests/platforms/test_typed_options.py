"""The capability model is the carrier of an account's options: the adapter parses them once
(``Platform.opts``), reads typed values from it, and takes every default from it."""

from __future__ import annotations

from typing import Any

import pytest

from config import AccountSettings
from config.credentials import InMemoryCredentials
from episodes.capabilities.facebook import FacebookOptions
from episodes.capabilities.mastodon import MastodonOptions
from episodes.capabilities.tiktok import TikTokOptions
from episodes.capabilities.youtube import YouTubeOptions
from workers.platforms.base import Platform, adapter_class
from workers.platforms.mastodon import Mastodon

API = "http://127.0.0.1:9"  # nothing is ever sent: building an adapter is offline


def build(platform: str, options: dict[str, Any], **extra: Any) -> Platform:
    account = AccountSettings(name=f"{platform}-lup", platform=platform, api_base=API,
                              options=options, **extra)
    return adapter_class(platform)(account, InMemoryCredentials({}))


def test_tiktok_reads_typed_values_given_as_words_and_text():
    """``audited = "ja"`` and ``chunk_size = "6000000"`` (as an environment value gives them)
    arrive as a bool and an int; what the account leaves out is the model's default."""
    adapter: Any = build("tiktok", {"audited": "ja", "chunk_size": "6000000"})
    assert isinstance(adapter.opts, TikTokOptions)
    assert adapter.opts.audited is True
    assert adapter.opts.chunk_size == 6_000_000
    assert adapter.opts.poll_interval == TikTokOptions.model_fields["poll_interval"].default
    offered = {"privacy_level_options": ["PUBLIC_TO_EVERYONE", "SELF_ONLY"]}
    assert adapter._privacy(offered) == "PUBLIC_TO_EVERYONE"  # audited: the account's choice
    unaudited: Any = build("tiktok", {"audited": "nein"})
    assert unaudited._privacy(offered) == "SELF_ONLY"


def test_facebook_takes_defaults_from_the_model():
    adapter: Any = build("facebook", {"page_id": 1234, "chunk_size": "1048576"})
    assert adapter.page_id == "1234"  # an id written without quotes is still an id
    assert adapter.chunk_size == 1_048_576
    defaults = FacebookOptions(page_id="1")
    assert adapter.poll_interval == defaults.poll_interval
    assert adapter.web_base == defaults.web_base
    assert adapter.opts.format == defaults.format == "auto"
    assert adapter.SPEC.chunk_size == defaults.chunk_size  # the spec names the same default
    assert adapter.video_http.url("x").startswith(API)  # no video_base: api_base


def test_youtube_client_shares_the_adapters_model():
    adapter: Any = build("youtube", {"category_id": 22, "notify_subscribers": "false"})
    assert adapter.client.opts is adapter.opts
    assert adapter.opts.category_id == "22" and adapter.opts.notify_subscribers is False
    assert adapter.opts.chunk_size == YouTubeOptions().chunk_size == adapter.SPEC.chunk_size
    # a prefix, not a base: its trailing slash stays (the id is appended as it is)
    short: Any = build("youtube", {"watch_url": "https://youtu.be/"})
    assert short.opts.watch_url == "https://youtu.be/"


def test_min_schedule_lead_from_the_model_else_the_spec():
    assert build("mastodon", {"min_schedule_lead": "30"}).min_schedule_lead() == 30.0
    assert MastodonOptions().min_schedule_lead is None
    assert build("mastodon", {}).min_schedule_lead() == Mastodon.SPEC.min_schedule_lead


@pytest.mark.parametrize(("platform", "options", "expected"), [
    ("tiktok", {"chunk_size": "viel"}, "Konto tiktok-lup (TikTok), Option 'chunk_size':"),
    ("tiktok", {"audited": "vielleicht"},
     "Konto tiktok-lup (TikTok), Option 'audited': muss true oder false sein."),
    ("facebook", {}, "Konto facebook-lup (Facebook) ist noch nicht verbunden"),
    ("mastodon", {"visibility": "alle"}, "Konto mastodon-lup (Mastodon), Option 'visibility':"),
])
def test_a_bad_option_stops_the_adapter_with_the_german_problem(
        platform: str, options: dict[str, Any], expected: str):
    with pytest.raises(ValueError) as err:
        build(platform, options)
    assert expected in str(err.value)

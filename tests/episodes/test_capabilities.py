"""Platform capabilities as data: each options model mirrors what its adapter reads, and
settings that contradict a platform are listed in German naming the account and the option."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from config import AccountSettings, settings_from_dict
from episodes.capabilities import (
    capabilities,
    options_model,
    parse_options,
    validate_account,
    validate_settings,
)
from episodes.season import parse_season
from workers.platforms import youtube_client
from workers.preflight import spec_text_problems, text_problems

from .season_files import VALID, write

REPO = Path(__file__).resolve().parents[2]
PLATFORMS = ("facebook", "instagram", "youtube", "mastodon", "tiktok")
#: options read outside the adapters (workers/publishing.py, workers/preflight.py)
SHARED_READS = {"facebook": {"min_schedule_lead"}, "mastodon": set(),
                "youtube": {"playlist_id", "daily_quota_units", "quota_timezone",
                            "upload_quota_units"}}
#: ``self.opts.chunk_size``, ``o.language`` (``o = self.opts``), ``client.opts.caption_name``
_READ = re.compile(r"""\bopts\.(\w+)|\bo\.(\w+)""")
#: a raw look into the account's options dict (what adapters no longer do)
_RAW = re.compile(r"""options(?:\.get\(|\[)""")


def account(platform: str, options: dict[str, Any], **extra: Any) -> AccountSettings:
    return AccountSettings(name=f"{platform}-lup", platform=platform,
                           api_base=extra.pop("api_base", "https://api.example.org"),
                           options=options, **extra)


def adapter_sources(platform: str) -> list[Path]:
    """The adapter's module and its helpers (``youtube_client.py``, ``facebook_upload.py`` ...)."""
    return sorted((REPO / "workers" / "platforms").glob(f"{platform}*.py"))


def adapter_reads(platform: str) -> set[str]:
    """Every option name the adapter's sources read from its typed options (``self.opts.x``)."""
    return {a or b for path in adapter_sources(platform)
            for a, b in _READ.findall(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_option_an_adapter_reads_is_in_its_model(platform: str):
    """The model lists every option the adapter (and the orchestrator) reads, so the models can
    replace the adapters' own parsing without losing one."""
    fields = set(options_model(platform).model_fields)
    reads = adapter_reads(platform) | SHARED_READS.get(platform, set())
    assert reads, platform
    assert reads <= fields, sorted(reads - fields)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_adapters_read_the_typed_model_not_the_raw_options(platform: str):
    """The model is the carrier: no adapter looks into ``account.options`` with its own
    default or conversion (the defaults live in the capability model alone)."""
    for path in adapter_sources(platform):
        assert not _RAW.findall(path.read_text(encoding="utf-8")), path.name


def test_youtube_quota_costs_come_from_the_model():
    """Every method's cost is the model's ``cost_*`` option; an account's setting overrides."""
    opts = options_model("youtube")()
    assert youtube_client.quota_cost(opts, "captions.insert") == 400
    assert youtube_client.quota_cost(opts, "playlistItems.insert") == 50
    assert youtube_client.quota_cost(opts, "videos.delete") == 50
    assert youtube_client.quota_cost(opts, "unknown.method") == 1
    cheap = options_model("youtube").model_validate({"cost_captions_insert": "7"})
    assert youtube_client.quota_cost(cheap, "captions.insert") == 7


def test_the_example_settings_are_valid():
    """The five accounts of config/wtg.example.toml pass at start-up, with the default lead;
    the Facebook and Instagram ones are to be connected in the dashboard."""
    doc = tomllib.loads((REPO / "config" / "wtg.example.toml").read_text(encoding="utf-8"))
    settings = settings_from_dict({"accounts": doc["accounts"]})
    assert validate_settings(settings, allow_unconnected=True) == []
    waiting = validate_settings(settings)
    assert [p.split(" ist ")[0] for p in waiting] == [
        "Konto facebook-lup (Facebook)", "Konto instagram-lup (Instagram)"]


@pytest.mark.parametrize(("acc", "expected"), [
    (account("instagram", {"ig_user_id": "1784"}, native_scheduling=True),
     "Konto instagram-lup (Instagram), Einstellung 'native_scheduling': Instagram kann Beiträge "
     "nicht selbst zu einem Termin veröffentlichen."),
    (account("tiktok", {}, native_scheduling=True),
     "Konto tiktok-lup (TikTok), Einstellung 'native_scheduling': TikTok kann"),
    (account("youtube", {"chunk_size": 1000}),
     "Konto youtube-lup (YouTube), Option 'chunk_size': muss ein Vielfaches von 262144 sein."),
    (account("youtube", {"chunk_size": 0}),
     "Konto youtube-lup (YouTube), Option 'chunk_size': muss größer als 0 sein."),
    (account("facebook", {"video_base": "https://graph-video.facebook.com/v24.0"}),
     "Konto facebook-lup (Facebook) ist noch nicht verbunden: bitte im Dashboard unter "
     "„Konten“ verbinden (oder die Option 'page_id' setzen)."),
    (account("facebook", {"page_id": "1", "format": "quadrat"}),
     "Konto facebook-lup (Facebook), Option 'format': erlaubt sind: 'auto', 'video' oder "
     "'reels'."),
    (account("facebook", {"page_id": "1", "min_schedule_lead": -5}),
     "Konto facebook-lup (Facebook), Option 'min_schedule_lead': muss mindestens 0 sein."),
    (account("instagram", {}), "Konto instagram-lup (Instagram) ist noch nicht verbunden"),
    (account("instagram", {"ig_user_id": "1", "hashtags_max": 50}),
     "Konto instagram-lup (Instagram), Option 'hashtags_max': darf höchstens 30 sein."),
    (account("mastodon", {"visibility": "alle"}),
     "Konto mastodon-lup (Mastodon), Option 'visibility': erlaubt sind:"),
    (account("mastodon", {"min_schedule_lead": "bald"}),
     "Konto mastodon-lup (Mastodon), Option 'min_schedule_lead':"),
    (account("tiktok", {"chunk_size": 100_000_000}),
     "Konto tiktok-lup (TikTok), Option 'chunk_size': darf höchstens 64000000 sein."),
    (account("tiktok", {"chunk_size": 1_000_000}, api_base="https://open.tiktokapis.com"),
     "Konto tiktok-lup (TikTok), Option 'chunk_size': muss für TikTok zwischen 5242880 und "
     "64000000 Bytes"),
    (account("tiktok", {"audited": "vielleicht"}),
     "Konto tiktok-lup (TikTok), Option 'audited': muss true oder false sein."),
    (account("youtube", {"chunk_sise": 262144}),
     "Konto youtube-lup (YouTube), Option 'chunk_sise': unbekannte Einstellung (Tippfehler?)."),
])
def test_contradicting_options_are_named_in_german(acc: AccountSettings, expected: str):
    """Each option that contradicts the adapter or the platform gives one German sentence
    naming the account and the option."""
    problems = validate_account(acc)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]
    with pytest.raises(ValueError):
        parse_options(acc)


def test_small_tiktok_chunks_are_fine_for_the_sandbox_and_values_are_typed():
    """Chunks under 5 MB pass against a local sandbox; ids written without quotes and the
    adapters' words for true/false are read like the adapters read them."""
    assert validate_account(account("tiktok", {"chunk_size": 512 * 1024, "audited": "ja"},
                                    api_base="http://127.0.0.1:9000")) == []
    opts: Any = parse_options(account("facebook", {"page_id": 104857600000001}))
    assert opts.page_id == "104857600000001" and opts.format == "auto"
    assert parse_options(account("tiktok", {"audited": "ja"})).audited is True  # type: ignore
    with pytest.raises(Exception):  # noqa: B017 - frozen
        opts.page_id = "2"


def test_scheduling_facts():
    """Facebook, YouTube and Mastodon schedule natively (leads 10, 0 and 5 minutes); Instagram
    and TikTok do not."""
    leads = {p: (capabilities(p).native_scheduling,
                 capabilities(p).min_schedule_lead.total_seconds() / 60) for p in PLATFORMS}
    assert leads == {"facebook": (True, 10), "youtube": (True, 0), "mastodon": (True, 5),
                     "instagram": (False, 0), "tiktok": (False, 0)}


def test_native_schedule_hours_shorter_than_the_lead_is_refused():
    """Handing posts to Facebook 20 minutes ahead is too late (10 minutes lead, 30 of margin);
    2 hours is fine, and platforms without native scheduling are not asked."""
    native = [{"name": "fb", "platform": "facebook", "api_base": "https://x.example",
               "native_scheduling": True, "options": {"page_id": "1"}},
              {"name": "ig", "platform": "instagram", "api_base": "https://x.example",
               "options": {"ig_user_id": "1"}}]
    short = validate_settings(settings_from_dict({"accounts": native,
                                                  "native_schedule_hours": 1 / 3}))
    assert short == [
        "Einstellung 'native_schedule_hours' (0,33 Stunden) ist für Konto fb (Facebook) zu "
        "kurz: Facebook verlangt mindestens 10 Minuten Vorlauf, und Hochladen und Verarbeiten "
        "brauchen Zeit (30 Minuten Reserve). Bitte mindestens 0,67 Stunden einstellen."]
    assert validate_settings(settings_from_dict({"accounts": native})) == []
    too_far = validate_settings(settings_from_dict({"accounts": native,
                                                    "native_schedule_hours": 24 * 40}))
    assert "höchstens 30 Tage im Voraus" in too_far[0]


def test_text_checks_report_bad_options_instead_of_raising(tmp_path: Path):
    """The text checks of a season load list a bad account's problems once, in German, instead
    of raising the adapter's ValueError or KeyError; an account still to be connected (no page
    yet) is checked, not refused."""
    settings = settings_from_dict({"accounts": [
        {"name": "youtube-lup", "platform": "youtube", "api_base": "https://x.example",
         "options": {"chunk_size": 1000}},
        {"name": "mastodon-lup", "platform": "facebook", "api_base": "https://x.example"},
    ]})
    spec = parse_season(write(tmp_path, VALID), known_accounts={"youtube-lup", "mastodon-lup"})
    # the Facebook account without a page is still to be connected: its text is checked
    assert spec_text_problems(settings, spec) == [
        "Konto youtube-lup (YouTube), Option 'chunk_size': muss ein Vielfaches von 262144 sein.",
    ]
    series = type("S", (), {"accounts": ["youtube-lup"], "hashtags": [], "name": "x",
                            "link": "", "credits": "", "templates": {}})()
    episode = type("E", (), {"title": "t", "place": "p", "description": "d", "number": 1,
                             "hashtags": [], "text_overrides": {}})()
    assert text_problems(settings, series, episode)[0][0] == "youtube-lup"

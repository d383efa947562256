"""The season as it really comes: narrated clips in mixed formats (1080p25, 720p30, a vertical
phone MOV, 4:3, 29.97 fps, VFR, no audio; cp1252 SRT and WebVTT), published through real
processes (``wtg worker`` for media and for publishing, ``wtg scheduler`` with a compressed week,
the embedded broker) to every platform's protocol server — Facebook both as Page video and as
Reel — while the servers answer under the *other* readings of the documents than the defaults
(the contract suite proves each reading on its own, ``make demo`` the defaults), and while the
run meets 500s, connections dropped before and after the publish call, 429s, expired access
tokens, a broker restart and a publish worker killed mid-upload.

It proves: every episode is public exactly once per account with its rendition's bytes, every
YouTube and Facebook feed post carries its German caption track, nothing went out before its
slot, and nothing is left waiting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, PublishAttempt, Rendition
from sandbox import Fault, Sandbox, sandboxes
from scheduler.clock import clock_for
from tests.media.corpus import make_clip
from wtg.demo_kit import demo_profiles

from ..scheduler.procs import FIRST_SLOT, compressed
from .season_kit import account_settings

pytestmark = pytest.mark.integration

#: (number, place, video kind, audio kind, container, subtitle format)
EPISODES = [
    (0, "Landkreis", "1080p25", "narration", ".mp4", "srt-cp1252"),
    (1, "Plate", "720p30", "speech_music", ".mp4", "vtt"),
    (2, "Püttelkow", "phone_mov", "narration", ".mov", "srt"),
    (3, "Matzlow", "4_3", "peaks", ".mp4", "srt-cp1252"),
    (4, "Parchim", "ntsc", "quiet", ".mp4", "vtt"),
    (5, "Lassahn", "vfr", "narration", ".mp4", "srt"),
    (6, "Boizenburg", "1080p25", "none", ".mp4", "srt"),
]
CLIP_SECONDS = 3.4  # Reels and Instagram take 3 s at least
CUES = ("Willkommen bei „Wir tun GUTes“ aus {place}!",
        "Hier packen Nachbarinnen und Nachbarn gemeinsam an – für ein gutes Miteinander.")
#: account name -> (platform, extra settings)
ACCOUNTS = {
    "facebook-lup": ("facebook", {"options": {"format": "video"}}),
    "facebook-reels": ("facebook", {"options": {"format": "reels"},
                                    "profile": "vertical-burned"}),
    "instagram-lup": ("instagram", {}),
    "youtube-lup": ("youtube", {}),
    "mastodon-lup": ("mastodon", {}),
    "tiktok-lup": ("tiktok", {}),
}
WEEK_SECONDS = 9.0


def _other_readings(cls: type[Sandbox]) -> dict[str, str]:
    """The last listed reading of every ambiguous point (the default is the first)."""
    return {point: choices[-1] for point, choices in cls.READINGS.items()}


def _subtitles(path: Path, kind: str, place: str) -> Path:
    a, b = (c.format(place=place) for c in CUES)
    half = CLIP_SECONDS / 2
    if kind == "vtt":
        path = path.with_suffix(".vtt")
        path.write_text(f"WEBVTT\n\n00:00:00.200 --> 00:00:{half:06.3f}\n{a}\n\n"
                        f"00:00:{half:06.3f} --> 00:00:{CLIP_SECONDS - 0.2:06.3f}\n{b}\n",
                        encoding="utf-8")
        return path
    def ts(t: float) -> str:
        return f"00:00:{int(t):02d},{round((t % 1) * 1000):03d}"
    text = (f"1\r\n{ts(0.2)} --> {ts(half)}\r\n{a}\r\n\r\n"
            f"2\r\n{ts(half)} --> {ts(CLIP_SECONDS - 0.2)}\r\n{b}\r\n")
    path = path.with_suffix(".srt")
    path.write_bytes(text.encode("cp1252" if kind == "srt-cp1252" else "utf-8"))
    return path


def _write_season(root: Path, accounts: list[str]) -> Path:
    episodes = []
    for number, place, video, audio, suffix, subs in EPISODES:
        clip = make_clip(root / f"{number:02d}{suffix}", video=video, audio=audio,
                         duration=CLIP_SECONDS)
        title = "Trailer" if number == 0 else f"Folge {number}: {place}"
        episodes.append({"number": number, "title": f"Wir tun GUTes – {title}", "place": place,
                         "description": f"Ehrenamt in {place}: wer mitmacht, erzählt davon.",
                         "video": str(clip),
                         "subtitles": str(_subtitles(root / f"{number:02d}", subs, place))})
    first = FIRST_SLOT.date()
    season = {"series": {
        "slug": "wir-tun-gutes-test", "name": "Wir tun GUTes", "timezone": "Europe/Berlin",
        "weekday": "thursday", "time": "17:00", "first_date": first,
        "last_date": first.replace(month=first.month + 3), "hashtags": ["WirTunGUTes", "LUP"],
        "accounts": accounts, "link": "https://www.kreis-lup.de/wirtungutes",
        "credits": "Landkreis Ludwigslust-Parchim"}, "episodes": episodes}
    path = root / "season.toml"
    path.write_text(tomli_w.dumps(season), encoding="utf-8")
    return path


@pytest.fixture
def servers() -> Iterator[dict[str, Sandbox]]:
    """One protocol server per platform, each under the non-default readings."""
    with ExitStack() as stack:
        out = {}
        for platform in ("facebook", "instagram", "youtube", "mastodon", "tiktok"):
            cls = sandboxes()[platform]
            sb = cls()
            sb.configure(_other_readings(cls))
            out[platform] = stack.enter_context(sb)
        yield out


def _posts(stack: Any) -> list[Post]:
    with stack.db.session() as s:
        posts = s.query(Post).all()
        for p in posts:
            _ = p.account, p.episode
        s.expunge_all()
        return posts


def _no_dead_end(stack: Any) -> None:
    bad = [(p.episode.number, p.account.name, p.state, p.last_error) for p in _posts(stack)
           if p.state in ("failed", "needs_attention", "missed", "skipped", "cancelled")]
    assert not bad, bad


def test_a_narrated_season_in_mixed_formats_goes_out_exactly_once_everywhere(
        make_stack, tmp_path: Path, servers: dict[str, Sandbox]) -> None:
    """Every episode exactly once on all six accounts, with captions where the platform takes
    a caption file, never before its slot — through faults, a broker restart and a killed
    worker."""
    entries, env = [], {}
    for name, (platform, extra) in ACCOUNTS.items():
        entry, secrets = account_settings(servers[platform], name)
        entry["options"] = {**entry["options"], **extra.get("options", {})}
        entry.update({k: v for k, v in extra.items() if k != "options"})
        entries.append(entry)
        env.update(secrets)
    profiles = demo_profiles(tmp_path / "media.toml")
    stack = make_stack(accounts=entries, env=env, broker_url=None, extra=compressed(
        week_seconds=WEEK_SECONDS, lead_seconds=4.0, media_branding=False,
        media_profiles_file=str(profiles), lease_seconds=4.0, sweep_seconds=1.0,
        grace_hours=24 * 3))
    season = _write_season(tmp_path / "season", list(ACCOUNTS))
    stack.run("season", "load", str(season), timeout=300)
    stack.start_worker(queues="media", concurrency=1, name="media@test")

    def media_ready() -> bool:
        with stack.db.session() as s:
            eps = s.query(Episode).all()
            failed = [(e.number, e.media_problems) for e in eps
                      if e.media_status == MediaStatus.FAILED]
            assert not failed, failed
            return all(e.media_status == MediaStatus.VERIFIED for e in eps)
    stack.wait_for(media_ready, timeout=600, message="every episode transcoded")
    with stack.db.session() as s:
        for ep in s.query(Episode):
            ep.edited_by, ep.approved_by = "redaktion", "freigabe"
            ep.approved_revision = ep.revision

    # the faults: each answers once, wherever the run meets it first
    fb, ig, yt, md, tt = (servers[p] for p in
                          ("facebook", "instagram", "youtube", "mastodon", "tiktok"))
    fb.inject(Fault("POST", r"/videos$", status=500,
                    body={"error": {"code": 2, "message": "Service temporarily unavailable",
                                    "is_transient": True}}))
    fb.inject(Fault("POST", r"/video_reels$", reset=True))  # dropped before it arrived
    ig.inject(Fault("POST", r"/media_publish$", reset=True, after=True))  # answer lost
    reset = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    md.inject(Fault("POST", r"^/api/v2/media$", status=429, body={"error": "Too many requests"},
                    headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}))
    md.inject(Fault("POST", r"^/api/v1/statuses$", reset=True, after=True))
    tt.inject(Fault("PUT", r".", reset=True, read_bytes=4096))
    yt.expire_access_tokens()
    tt.expire_access_tokens()  # type: ignore[attr-defined]
    yt.hold_uploads_at(0)  # type: ignore[attr-defined]

    publisher = stack.start_worker(queues="publish", concurrency=2, name="publish@test")
    stack.spawn("scheduler", name="scheduler")
    clock = clock_for(stack.settings, stack.db)

    # a publish worker killed while it uploads the trailer to YouTube; a new one takes over
    stack.wait_for(lambda: yt.snapshot()["held"], timeout=120, message="a held YouTube chunk")
    stack.kill(publisher)
    yt.release_uploads()  # type: ignore[attr-defined]
    stack.start_worker(queues="publish", concurrency=2, name="publish2@test")

    # the broker restarted mid-season (its append-only file keeps the queues)
    def published_count() -> int:
        _no_dead_end(stack)
        return sum(p.state == PostState.PUBLISHED for p in _posts(stack))
    stack.wait_for(lambda: published_count() >= 12, timeout=240,
                   message="the first two episodes out")
    assert stack.broker is not None
    stack.broker.kill()
    stack.broker.start()

    total = len(EPISODES) * len(ACCOUNTS)
    stack.wait_for(lambda: published_count() == total, timeout=600,
                   message="every post published")

    # exactly once, with the rendition's bytes
    with stack.db.session() as s:
        sha = {(r.episode.number, r.profile): r.sha256 for r in s.query(Rendition)}
        sent = {}
        for p in s.query(Post):
            sent[(p.episode.number, p.account.name)] = p.rendition_sha256
            assert sha[(p.episode.number, _profile(stack, p.account.name))] == p.rendition_sha256
    for platform, accounts in (("facebook", ("facebook-lup", "facebook-reels")),
                               ("instagram", ("instagram-lup",)), ("youtube", ("youtube-lup",)),
                               ("mastodon", ("mastodon-lup",)), ("tiktok", ("tiktok-lup",))):
        public = servers[platform].snapshot()["published"]
        want = sorted(sent[(n, a)] for a in accounts for n, *_ in EPISODES)
        assert sorted(p["sha256"] for p in public) == want, platform

    # captions: every YouTube video and every Facebook feed video has its German track
    yt_snap = yt.snapshot()
    captioned = {c["videoId"] for c in yt_snap["captions"] if c["language"].startswith("de")}
    assert captioned == {v["id"] for v in yt_snap["published"]}
    assert len(yt_snap["captions"]) == len(EPISODES)
    feed = [v for v in fb.snapshot()["published"] if v["kind"] != "reel"]
    assert len(feed) == len(EPISODES)
    assert all(v["captions"] == ["de_DE"] for v in feed), feed

    # never before the slot: the irreversible call of every post came at or after its slot
    with stack.db.session() as s:
        for p in s.query(Post):
            slot = clock.to_real(p.slot_at)
            irreversible = "start" if p.account.platform == "tiktok" else "publish-start"
            first = min(a.started_at for a in s.query(PublishAttempt).filter_by(
                post_id=p.id, step=irreversible))
            assert first >= slot, (p.episode.number, p.account.name, first, slot)
    # and the run did meet every fault it was given
    for platform, sb in servers.items():
        with sb.lock:
            assert not sb.faults, (platform, sb.faults)
    assert yt_snap["held"] >= 1 and yt_snap["token_refreshes"] >= 1
    assert tt.snapshot()["rotations"] >= 1
    _no_dead_end(stack)


def _profile(stack: Any, account: str) -> str:
    from episodes.capabilities import profile_for

    return profile_for(stack.settings.account(account))


"""Every wait has a deadline, and nothing goes out before its slot: the orchestrator against real
local protocol servers, in real time (countdowns honoured as a broker would)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from episodes.lifecycle import PostState
from episodes.models import Notification, Post, Rendition, utcnow
from sandbox import Fault
from sandbox.facebook import FacebookSandbox
from sandbox.mastodon import MastodonSandbox
from sandbox.youtube import YouTubeSandbox
from workers.publishing import Outcome, run_post
from workers.waits import MAX_COUNTDOWN, next_look

from .world import World, make_world

T0 = datetime(2030, 1, 3, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(("polls", "suggested", "waited", "expect"), [
    (0, 5.0, 0.0, 5.0),  # first look: the platform's suggestion
    (1, 5.0, 5.0, 7.5),  # then growing by half each look
    (3, 5.0, 30.0, 16.875),
    (20, 5.0, 600.0, 60.0),  # capped by poll_interval_max
    (0, 0.0, 0.0, 2.0),  # never below poll_interval_min
    (5, 5.0, 3590.0, 10.01),  # the last look falls on the deadline
    (5, 5.0, 3600.0, None),  # deadline passed: staff
])
def test_next_look_backs_off_within_bounds_and_stops_at_the_deadline(
        polls: int, suggested: float, waited: float, expect: float | None) -> None:
    """The interval starts at the suggestion, grows by half, stays within [min, max] and never
    overshoots the deadline; past it there is no next look."""
    prev = None if polls == 0 else {"phase": "processing", "since": T0.isoformat(),
                                    "polls": polls}
    look = next_look(prev, "processing", T0 + timedelta(seconds=waited), deadline=3600.0,
                     suggested=suggested, lo=2.0, hi=60.0)
    assert look.again == (pytest.approx(expect) if expect is not None else None)
    assert look.record["polls"] == polls + 1 and look.record["phase"] == "processing"


def test_a_new_phase_starts_its_own_clock() -> None:
    """Moving from processing to confirm resets the start and the count of looks."""
    prev = {"phase": "processing", "since": T0.isoformat(), "polls": 9}
    look = next_look(prev, "confirm", T0 + timedelta(hours=5), deadline=60.0, suggested=1.0,
                     lo=1.0, hi=60.0)
    assert look.again == 1.0 and look.record["polls"] == 1
    assert look.record["since"] == (T0 + timedelta(hours=5)).isoformat()
    assert MAX_COUNTDOWN >= 60.0


def run_with_countdowns(w: World, name: str, *, until: float) -> list[tuple[float, Outcome]]:
    """Run the post's task as a worker would, honouring each countdown (a broker's ETA), until
    no follow-up is asked for or ``until`` real seconds have passed."""
    start = time.monotonic()
    trace: list[tuple[float, Outcome]] = []
    while True:
        out = run_post(w.rt, w.post_ids[name], "w1")
        trace.append((time.monotonic() - start, out))
        if out.again is None:
            return trace
        left = until - (time.monotonic() - start)
        if left <= 0:
            raise AssertionError(f"still waiting after {until}s: {[o.state for _, o in trace]}")
        time.sleep(min(out.again, left))  # the broker's countdown


@pytest.fixture
def mastodon() -> Iterator[MastodonSandbox]:
    with MastodonSandbox(processing_polls=1) as sb:
        yield sb


def test_processing_past_its_deadline_goes_to_staff_with_a_german_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A platform that never finishes processing is looked at with growing intervals until the
    deadline, then the post needs attention with a German explanation and a notification —
    nothing waits forever, nothing is published."""
    with MastodonSandbox(processing_polls=10**9) as sb:
        w = make_world(tmp_path, monkeypatch, {"mastodon-lup": sb},
                       extra={"poll_interval_min": 0.05, "poll_interval_max": 0.4},
                       account_extra={"options": {**sb.account()[0].options,
                                                  "processing_deadline_minutes": 0.02}})
        try:
            w.queue("mastodon-lup")
            trace = run_with_countdowns(w, "mastodon-lup", until=30)
            post = w.post("mastodon-lup")
            assert post.state == PostState.NEEDS_ATTENTION, post.last_error
            assert post.last_error["kind"] == "overdue_processing"
            assert "verarbeitet das hochgeladene Video seit" in post.last_error["message_de"]
            waits = [o.again for _, o in trace if o.again is not None]
            assert len(waits) >= 3 and max(waits) <= 0.4  # looked again, within the bounds
            assert trace[-1][0] >= 0.02 * 60 * 0.9  # it did wait until the deadline
            with w.rt.db.session() as s:
                notes = s.query(Notification).filter_by(post_id=post.id).all()
            assert len(notes) == 1 and "Plattform" in notes[0].title
            assert sb.snapshot()["published"] == []
        finally:
            w.rt.db.dispose()


def _created(sb: MastodonSandbox) -> datetime:
    with sb.lock:
        (status,) = sb.statuses.values()
        return datetime.fromisoformat(status["created_at"])


@pytest.mark.parametrize("native", [False, True], ids=["wtg-publishes", "native-lead-too-short"])
def test_nothing_is_published_before_its_slot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mastodon: MastodonSandbox,
        native: bool) -> None:
    """A post queued before its slot is uploaded at once but published only at the slot —
    also with native scheduling when the lead left is shorter than the platform's minimum
    (Mastodon: 5 minutes), where wtg must not hand it over nor publish early."""
    slot = utcnow() + timedelta(seconds=3)
    w = make_world(tmp_path, monkeypatch, {"mastodon-lup": mastodon}, slot_at=slot,
                   account_extra={"native_scheduling": native})
    try:
        w.queue("mastodon-lup")
        trace = run_with_countdowns(w, "mastodon-lup", until=30)
        post = w.post("mastodon-lup")
        assert post.state == PostState.PUBLISHED, post.last_error
        assert _created(mastodon) >= slot
        assert mastodon.snapshot()["scheduled"] == 0
        assert any(o.state == "processing" and o.again for _, o in trace)  # it waited, uploaded
        assert post.remote.get("scheduled_at") is None
    finally:
        w.rt.db.dispose()


def test_an_adapter_that_cannot_be_built_goes_to_staff_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An account whose adapter cannot even be built (here: a Facebook account without its
    page_id) puts the post in needs_attention with a notification — no crash, no endless
    re-sending by the sweep."""
    with FacebookSandbox() as fb:
        w = make_world(tmp_path, monkeypatch, {"facebook-lup": fb},
                       account_extra={"options": {}})
        try:
            w.queue("facebook-lup")
            out = run_post(w.rt, w.post_ids["facebook-lup"], "w1")
            post = w.post("facebook-lup")
            assert out.again is None and post.state == PostState.NEEDS_ATTENTION, post.last_error
            assert post.last_error["kind"] == "internal"
            assert "nicht richtig eingerichtet" in post.last_error["message_de"]
            assert out.notifications
            again = run_post(w.rt, w.post_ids["facebook-lup"], "w1")
            assert again.note == "nothing to do in this state"
            assert fb.snapshot()["published"] == []
        finally:
            w.rt.db.dispose()


# --- captions are part of the post --------------------------------------------------------------

@pytest.fixture
def youtube() -> Iterator[YouTubeSandbox]:
    with YouTubeSandbox(processing_polls=1) as sb:
        yield sb


def _with_captions(w: World, tmp_path: Path) -> None:
    srt = tmp_path / "folge-03.de.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:02,000\nWillkommen in Matzlow!\n\n",
                   encoding="utf-8")
    with w.rt.db.session() as s:
        for r in s.query(Rendition):
            r.captions_srt = str(srt)


def test_a_503_on_captions_is_retried_and_the_post_is_published_with_its_track(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, youtube: YouTubeSandbox) -> None:
    """captions.insert answering 503 once after the video went public is retried like an
    upload; the post is published only once the German caption track is accepted."""
    w = make_world(tmp_path, monkeypatch, {"youtube-lup": youtube})
    _with_captions(w, tmp_path)
    youtube.inject(Fault(method="POST", path=r"/captions", status=503,
                         body={"error": {"code": 503, "message": "backendError"}}))
    try:
        w.queue("youtube-lup")
        trace = run_with_countdowns(w, "youtube-lup", until=30)
        post = w.post("youtube-lup")
        assert post.state == PostState.PUBLISHED, post.last_error
        assert "finishing" in [o.state for _, o in trace]
        snap = youtube.snapshot()
        assert len(snap["captions"]) == 1 and len(snap["published"]) == 1
    finally:
        w.rt.db.dispose()


def test_captions_failing_past_their_deadline_need_staff_and_a_retry_sends_only_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, youtube: YouTubeSandbox) -> None:
    """Captions that keep failing leave the post in needs_attention („Video ist online,
    Untertitel fehlen“) once the finishing deadline passes; after staff retry only the caption
    track is sent: still one video, now one caption track."""
    acc = youtube.account("youtube-lup")[0]
    w = make_world(tmp_path, monkeypatch, {"youtube-lup": youtube},
                   extra={"poll_interval_min": 0.05, "poll_interval_max": 0.3},
                   account_extra={"options": {**acc.options, "finish_deadline_minutes": 0.01}})
    _with_captions(w, tmp_path)
    youtube.inject(Fault(method="POST", path=r"/captions", status=503, times=10**6,
                         body={"error": {"code": 503, "message": "backendError"}}))
    try:
        w.queue("youtube-lup")
        run_with_countdowns(w, "youtube-lup", until=30)
        post = w.post("youtube-lup")
        assert post.state == PostState.NEEDS_ATTENTION, post.last_error
        assert post.last_error["message_de"].startswith("Video ist online, Untertitel fehlen")
        assert len(youtube.snapshot()["published"]) == 1 and youtube.snapshot()["captions"] == []
        with youtube.lock:
            youtube.faults.clear()
        inits = sum(1 for m, p in youtube.requests_seen if m == "POST" and "upload" in p
                    and "videos" in p)
        w.queue("youtube-lup")  # staff: „Erneut versuchen“
        run_with_countdowns(w, "youtube-lup", until=30)
        post = w.post("youtube-lup")
        assert post.state == PostState.PUBLISHED, post.last_error
        snap = youtube.snapshot()
        assert len(snap["captions"]) == 1 and len(snap["published"]) == 1
        assert sum(1 for m, p in youtube.requests_seen if m == "POST" and "upload" in p
                   and "videos" in p) == inits  # no second upload
        with w.rt.db.session() as s:
            assert s.get(Post, post.id).remote["captions_done"] is True
    finally:
        w.rt.db.dispose()


def test_a_bug_or_an_unexpected_answer_is_an_internal_error_never_a_rejection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mastodon: MastodonSandbox,
        caplog: pytest.LogCaptureFixture) -> None:
    """An answer our code cannot handle (here: a media upload answered without an id, which
    makes the adapter raise KeyError) is logged with its traceback and puts the post in
    needs_attention as „interner Fehler“ — it is not turned into a platform rejection."""
    mastodon.inject(Fault("POST", r"^/api/v2/media$", status=202, body={"type": "video"}))
    w = make_world(tmp_path, monkeypatch, {"mastodon-lup": mastodon})
    try:
        w.queue("mastodon-lup")
        with caplog.at_level("ERROR", logger="wtg.publishing"):
            out = run_post(w.rt, w.post_ids["mastodon-lup"], "w1")
        post = w.post("mastodon-lup")
        assert post.state == PostState.NEEDS_ATTENTION and out.again is None
        assert post.last_error["kind"] == "internal"
        assert "KeyError" in post.last_error["message_de"]
        assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
    finally:
        w.rt.db.dispose()

"""The Instagram and Facebook sandboxes judge a Reel as the platforms' processing does (Reel
specification, PLATFORM-APIS 2.9 and the Facebook simulator notes), from the MP4's own boxes:
a clip ffmpeg writes by default (moov at the end, edit lists) or one under 3 s ends in ERROR,
a Reel as wtg renders it goes out."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from sandbox.mp4spec import (
    FACEBOOK_REEL,
    INSTAGRAM_REEL,
    mp4_dimensions,
    read_facts,
    reel_problem,
)
from tests.media.corpus import make_clip
from workers.platforms.base import MediaFile, ProcessingState
from workers.platforms.errors import ProcessingFailed


def _reel(src: Path, out: Path) -> Path:
    """``src`` remuxed as wtg's renditions are: moov first, no edit list."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(src), "-c", "copy",
                    "-movflags", "+faststart", "-use_editlist", "0", "-y", str(out)],
                   check=True, timeout=60)
    return out


def _media(path: Path) -> MediaFile:
    data = path.read_bytes()
    return MediaFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     width=540, height=960)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("reels")
    plain = make_clip(d / "plain.mp4", duration=3.5, size=(540, 960))
    short = make_clip(d / "short-src.mp4", duration=2.0, size=(540, 960))
    wide = make_clip(d / "wide-src.mp4", duration=3.5, size=(640, 360))
    return {"plain": plain, "good": _reel(plain, d / "good.mp4"),
            "short": _reel(short, d / "short.mp4"), "wide": _reel(wide, d / "wide.mp4")}


def test_the_judge_reads_the_boxes(clips: dict[str, Path]) -> None:
    plain = read_facts(clips["plain"])
    assert plain is not None and plain.top.index("moov") > plain.top.index("mdat")
    assert plain.edit_lists > 0 and plain.width == 540 and plain.height == 960
    good = read_facts(clips["good"])
    assert good is not None and good.top.index("moov") < good.top.index("mdat")
    assert good.edit_lists == 0 and good.duration == pytest.approx(3.5, abs=0.1)
    assert good.fps == pytest.approx(25, abs=0.5)
    assert "moov atom" in (reel_problem(clips["plain"], INSTAGRAM_REEL) or "")
    assert reel_problem(clips["good"], INSTAGRAM_REEL) is None
    assert reel_problem(clips["good"], FACEBOOK_REEL) is None
    assert "duration" in (reel_problem(clips["short"], INSTAGRAM_REEL) or "")
    assert "at least 540x960" in (reel_problem(clips["wide"], FACEBOOK_REEL) or "")
    random_bytes = clips["good"].with_name("random.mp4")
    random_bytes.write_bytes(b"\x00\x01" * 5000)
    assert reel_problem(random_bytes, INSTAGRAM_REEL) is None  # not an MP4: not judged
    cut = clips["good"].with_name("cut.mp4")
    cut.write_bytes(clips["good"].read_bytes()[:3000])  # ftyp, then half a moov
    assert reel_problem(cut, INSTAGRAM_REEL)  # refused, never a crash of the judge
    assert mp4_dimensions(clips["good"]) == (540, 960) and mp4_dimensions(random_bytes) is None


@pytest.mark.parametrize(("clip", "why"), [("good", None), ("short", "duration"),
                                           ("plain", "moov atom")])
def test_instagram_processing_refuses_what_the_spec_refuses(
        kit: Any, make_ctx: Any, start_sandbox: Any, clips: dict[str, Path], clip: str,
        why: str | None) -> None:
    ig = start_sandbox("instagram")
    adapter, creds = kit.adapter_for(ig)
    video = _media(clips[clip])
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    if why is None:
        ctx, state = kit.poll_until_done(adapter, kit.fresh(ctx))
        assert state.state is ProcessingState.READY
        adapter.publish(ctx)
        assert len(kit.published(ig)) == 1
        return
    with pytest.raises(ProcessingFailed) as err:
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert why in err.value.detail and kit.published(ig) == []


def test_facebook_reel_processing_refuses_a_landscape_clip(
        kit: Any, make_ctx: Any, start_sandbox: Any, clips: dict[str, Path]) -> None:
    fb = start_sandbox("facebook")
    adapter, creds = kit.adapter_for(fb, format="reels")
    video = _media(clips["wide"])
    ctx = make_ctx(adapter.account, creds, video)
    adapter.upload(ctx)
    with pytest.raises(ProcessingFailed) as err:
        ctx, _ = kit.poll_until_done(adapter, kit.fresh(ctx))
        adapter.publish(ctx)
        kit.poll_until_done(adapter, kit.fresh(ctx))
    assert "540x960" in err.value.detail and kit.published(fb) == []

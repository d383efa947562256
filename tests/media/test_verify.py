"""Verification and thumbnails of a whole pass with one ffmpeg process each (real ffmpeg)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from workers.media import MediaError, prepare
from workers.media.loudness import GainPlan, GainReason, measure_loudness
from workers.media.profiles import Profile
from workers.media.thumbnails import Thumbnail, write_thumbnails
from workers.media.verify import Expected, verify_rendition, verify_renditions


def _plan(expected_i: float) -> GainPlan:
    return GainPlan(gain_db=0.0, limit_db=None, expected_i=expected_i, target_i=expected_i,
                    ceiling_tp=-1.0, reason=GainReason.GAIN)


@pytest.fixture(scope="module")
def renditions(clips, small_profiles, tmp_path_factory) -> dict[str, tuple[Path, Profile]]:  # type: ignore[no-untyped-def]
    """Three renditions of the landscape clip: two with the same sound (-14 LUFS), one made
    for -18 LUFS."""
    out = tmp_path_factory.mktemp("verify")
    quiet = replace(small_profiles["landscape"], name="landscape-quiet", loudness_lufs=-18.0)
    profiles = [small_profiles["landscape"], small_profiles["square-burned"], quiet]
    media = prepare(clips["landscape"], None, profiles, out, title="F", branding=False)
    assert media.verified
    return {r.profile: (Path(r.path), p) for r, p in zip(media.renditions, profiles,
                                                          strict=True)}


def _expected(path: Path, profile: Profile, gain: GainPlan) -> Expected:
    return Expected(path=path, profile=profile, duration=2.0, fps=30.0, gain=gain)


def test_one_process_verifies_a_pass_like_one_by_one(renditions, ffmpeg_runs) -> None:  # type: ignore[no-untyped-def]
    """verify_renditions checks two renditions with one ffmpeg process and gets the same
    probe facts, loudness and problems as verifying each file on its own (two processes
    each); their identical sound is decoded once."""
    wanted = [_expected(*renditions[name], _plan(-14.0))
              for name in ("landscape", "square-burned")]
    ffmpeg_runs.clear()
    together = verify_renditions(wanted)
    assert len(ffmpeg_runs) == 1
    assert ffmpeg_runs[0].count("ebur128@") == 1  # one audio decode for the same sound
    alone = [verify_rendition(w.path, w.profile, expected_duration=w.duration,
                              expected_fps=w.fps, gain=w.gain) for w in wanted]
    assert len(ffmpeg_runs) == 1 + 2 * len(wanted)
    for a, b in zip(together, alone, strict=True):
        assert a.ok and a.info == b.info and a.problems == b.problems
        assert a.loudness is not None and b.loudness is not None
        assert (a.loudness.input_i, a.loudness.input_tp) == (b.loudness.input_i,
                                                             b.loudness.input_tp)


def test_a_different_sound_in_the_same_group_is_measured_itself(renditions, ffmpeg_runs) -> None:  # type: ignore[no-untyped-def]
    """Two renditions claimed to carry the same planned sound but with different audio
    packets: the second is measured on its own (not given the first's loudness) and its
    miss of the plan is reported."""
    gain = _plan(-14.0)
    wanted = [_expected(*renditions["landscape"], gain),
              _expected(*renditions["landscape-quiet"], gain)]
    ffmpeg_runs.clear()
    loud, quiet = verify_renditions(wanted)
    assert len(ffmpeg_runs) == 2
    assert loud.loudness is not None and quiet.loudness is not None
    assert loud.loudness.input_i == pytest.approx(-14.0, abs=1.0)
    assert quiet.loudness.input_i == measure_loudness(wanted[1].path).input_i
    assert quiet.loudness.input_i == pytest.approx(-18.0, abs=1.0)
    assert [p.code for p in quiet.problems] == ["loudness"] and quiet.ok


def test_a_broken_rendition_in_a_pass_is_named(renditions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """If one file of the pass is cut short, the shared run fails and the file-by-file
    fallback names exactly that rendition."""
    path, profile = renditions["square-burned"]
    broken = tmp_path / "square-kaputt.mp4"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    wanted = [_expected(*renditions["landscape"], _plan(-14.0)),
              _expected(broken, profile, _plan(-14.0))]
    with pytest.raises(MediaError) as err:
        verify_renditions(wanted)
    assert err.value.code == "verify_failed" and "square-kaputt.mp4" in err.value.message_de


def test_thumbnails_of_a_pass_in_one_process_and_under_the_size_limit(  # type: ignore[no-untyped-def]
    renditions, ffmpeg_runs, tmp_path
) -> None:
    """write_thumbnails cuts every rendition's JPEG with one ffmpeg process at its size; a
    JPEG over its byte limit is cut again at a lower quality until it fits."""
    land, square = renditions["landscape"][0], renditions["square-burned"][0]
    jobs = [Thumbnail(rendition=land, output=tmp_path / "a.jpg", at=1.0, width=320,
                      height=180, max_bytes=2_000_000),
            Thumbnail(rendition=square, output=tmp_path / "b.jpg", at=1.0, width=180,
                      height=180, max_bytes=2_000_000)]
    ffmpeg_runs.clear()
    paths = write_thumbnails(jobs)
    assert len(ffmpeg_runs) == 1
    for path, job in zip(paths, jobs, strict=True):
        with Image.open(path) as image:
            assert (image.format, image.size) == ("JPEG", (job.width, job.height))
    limit = paths[0].stat().st_size - 1
    smaller = write_thumbnails([replace(jobs[0], output=tmp_path / "c.jpg", max_bytes=limit)])
    assert smaller[0].stat().st_size <= limit and len(ffmpeg_runs) >= 3

"""prepare() end to end with the real ffmpeg: renditions, subtitles, cards, cache, errors."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from workers.media import FitOptions, MediaError, prepare, probe
from workers.media.profiles import Profile
from workers.media.run import ffmpeg_exe

SMALL = ("landscape", "vertical-burned", "square-burned")
ALL = (*SMALL, "landscape-burned")


def frame(path: Path, at: float, width: int, height: int) -> np.ndarray:
    """Decode one RGB frame (test helper; raw pixels through a pipe)."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{at}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True, timeout=60,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16)


def pick(profiles: dict[str, Profile], *names: str) -> list[Profile]:
    return [profiles[n] for n in names]


@pytest.mark.parametrize(
    ("clip", "fit"),
    [
        ("vertical", FitOptions(mode="crop", focal_y=0.3)),
        ("four_three", FitOptions(mode="pad")),
        ("vfr", FitOptions(mode="crop")),
        ("no_audio", FitOptions(mode="pad")),
        ("ten_bit", FitOptions(mode="crop")),
        ("rotated", FitOptions(mode="pad")),
        ("hdr", FitOptions(mode="crop")),
    ],
)
def test_every_source_shape_gives_verified_renditions(  # type: ignore[no-untyped-def]
    clips, small_profiles, tmp_path, clip: str, fit: FitOptions
) -> None:
    """Vertical, 4:3 at 29.97 fps, VFR, silent, 10-bit, rotated and HLG HDR sources all become
    H.264 High yuv420p constant-rate renditions of the profile size (29.97 kept, VFR made
    30 fps) with AAC 48 kHz stereo near -14 LUFS."""
    source = clips[clip]
    before = source.read_bytes()
    media = prepare(source, None, pick(small_profiles, *ALL), tmp_path, title="Folge 1",
                    fit=fit, branding=False)
    assert source.read_bytes() == before
    assert media.verified
    src = probe(source)
    for r in media.renditions:
        out = probe(Path(r.path))
        profile = small_profiles[r.profile]
        assert (out.width, out.height) == (profile.width, profile.height)
        assert (out.video_codec, out.video_profile, out.pix_fmt) == ("h264", "High", "yuv420p")
        expected_fps = 29.97 if clip == "four_three" else 30.0  # VFR (avg 22.5) -> 30
        assert (out.fps, out.vfr, out.rotation) == (expected_fps, False, 0)
        assert (out.audio_codec, out.audio_rate, out.audio_channels) == ("aac", 48000, 2)
        assert abs(out.duration - src.duration) <= 0.1
        if clip == "no_audio":
            assert r.loudness_lufs is None
        else:
            assert r.loudness_lufs == pytest.approx(-14.0, abs=1.0)
        assert r.sha256 == out.sha256 and r.size_bytes == out.size_bytes
        assert Path(r.thumbnail).stat().st_size > 0
        if clip == "hdr":
            assert out.color_transfer == "bt709" and not out.hdr
    if clip == "no_audio":
        assert "no_audio" in [p.code for p in media.problems]
    if clip == "hdr":
        assert "hdr_converted" in [p.code for p in media.problems]


def test_burned_subtitles_really_appear(clips, small_profiles, tmp_path, srt_file) -> None:  # type: ignore[no-untyped-def]
    """At a cue's time the burned rendition differs from the plain one in the subtitle band
    above the Reels/TikTok safe margin, and not where no text can be."""
    vertical = small_profiles["vertical-burned"]
    with_subs = prepare(clips["landscape"], srt_file, [vertical], tmp_path / "a",
                        title="Folge 3", branding=False).rendition("vertical-burned")
    without = prepare(clips["landscape"], None, [vertical], tmp_path / "b", title="Folge 3",
                      branding=False).rendition("vertical-burned")
    w, h = vertical.width, vertical.height
    diff = np.abs(frame(Path(with_subs.path), 0.8, w, h) - frame(Path(without.path), 0.8, w, h))
    safe = round(h * vertical.subtitle_safe_bottom)
    band = diff[h // 2: h - safe + 2].mean()
    below = diff[h - safe + 4:].mean()
    top = diff[: h // 3].mean()
    assert band > 8 * max(1.0, top)
    assert below < 2.0 and top < 2.0


def test_sidecar_subtitles_are_shifted_past_the_intro(  # type: ignore[no-untyped-def]
    clips, small_profiles, tmp_path, srt_file
) -> None:
    """With branding, the landscape rendition is card+episode+card long and its sidecar SRT
    and WebVTT keep umlauts and start after the intro card."""
    landscape = replace(small_profiles["landscape"], card_seconds=0.5)
    media = prepare(clips["landscape"], srt_file, [landscape], tmp_path, title="Folge 3: Matzlow",
                    branding=True)
    r = media.rendition("landscape")
    assert r.verified and r.duration == pytest.approx(3.0, abs=0.1)
    srt = Path(r.srt).read_text(encoding="utf-8")
    assert "00:00:00,700 --> 00:00:02,000\nGrüße aus Matzlow – Straßenfest" in srt
    vtt = Path(r.vtt).read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "Ärger? Nö!" in vtt
    assert "00:00:02.100 --> 00:00:02.500" in vtt  # the cue past the clip end is clipped
    intro = frame(Path(r.path), 0.25, landscape.width, landscape.height)
    assert abs(intro[..., 2].mean() - 128) < 25 and intro[..., 0].mean() < 40  # the blue card


def test_same_inputs_hit_the_cache(clips, small_profiles, tmp_path, srt_file) -> None:  # type: ignore[no-untyped-def]
    """A second prepare() with the same inputs returns the verified files without transcoding;
    changing the fit options makes a new rendition."""
    profiles = pick(small_profiles, "landscape", "square-burned")
    first = prepare(clips["landscape"], srt_file, profiles, tmp_path, title="F", branding=False)
    mtimes = [Path(r.path).stat().st_mtime_ns for r in first.renditions]
    again = prepare(clips["landscape"], srt_file, profiles, tmp_path, title="F", branding=False)
    assert [r.cached for r in again.renditions] == [True, True]
    assert json.loads(json.dumps(again.to_dict()))["renditions"][1]["cached"] is True
    assert [r.path for r in again.renditions] == [r.path for r in first.renditions]
    assert [Path(r.path).stat().st_mtime_ns for r in again.renditions] == mtimes
    other = prepare(clips["landscape"], srt_file, profiles, tmp_path, title="F", branding=False,
                    fit=FitOptions(mode="crop", focal_x=0.1))
    assert other.rendition("square-burned").path != first.rendition("square-burned").path
    assert other.rendition("landscape").cached  # same shape as the source: fit does not apply


def test_automatic_thumbnail_skips_black_frames(clips, small_profiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The chosen thumbnail is not black although the clip starts black, and has the
    thumbnail size of the profile."""
    landscape = small_profiles["landscape"]
    r = prepare(clips["black_start"], None, [landscape], tmp_path, title="F",
                branding=False).rendition("landscape")
    thumb = probe_image(Path(r.thumbnail))
    assert thumb.shape[:2] == (landscape.thumbnail_height, landscape.thumbnail_width)
    assert thumb.mean() > 40


def probe_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "JPEG"
        return np.asarray(image.convert("RGB"))


def test_real_1080_profiles_from_odd_source(clips, real_profiles, tmp_path, srt_file) -> None:  # type: ignore[no-untyped-def]
    """The shipped profiles turn a 1918x1078 clip into 1920x1080, 1080x1920 and 1080x1080
    renditions with cards, captions and a 1280x720 JPEG under 2 MB for YouTube."""
    profiles = [real_profiles[n] for n in SMALL]
    progress: list[float] = []
    media = prepare(clips["odd_1080"], srt_file, profiles, tmp_path, title="Folge 3: Matzlow",
                    branding=True, thumbnail_at=1.0, thumbnail_title=True,
                    progress=lambda p, eta: progress.append(p))
    assert media.verified, [r.problems for r in media.renditions]
    dims = {r.profile: (r.width, r.height) for r in media.renditions}
    assert dims == {"landscape": (1920, 1080), "vertical-burned": (1080, 1920),
                    "square-burned": (1080, 1080)}
    for r in media.renditions:
        assert r.duration == pytest.approx(6.0, abs=0.1)
        assert r.loudness_lufs == pytest.approx(-14.0, abs=1.0)
        assert (r.srt is not None) == (r.profile == "landscape")
    thumb = media.rendition("landscape").thumbnail
    assert probe_image(Path(thumb)).shape == (720, 1280, 3)
    assert Path(thumb).stat().st_size < 2_000_000
    assert progress[-1] == 100.0 and progress == sorted(progress)
    assert media.to_dict()["renditions"][0]["verified"] is True


def test_bad_source_raises_and_writes_nothing(clips, small_profiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A corrupt upload stops prepare() with a German MediaError; no output is written."""
    out = tmp_path / "out"
    with pytest.raises(MediaError) as err:
        prepare(clips["truncated"], None, pick(small_profiles, *SMALL), out, title="F")
    assert err.value.code == "truncated" and "erneut hochladen" in err.value.message_de
    assert not out.exists()


def test_empty_subtitles_rejected_before_transcoding(clips, small_profiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An empty subtitle file stops prepare() with a German error before anything is encoded."""
    empty = tmp_path / "leer.srt"
    empty.write_bytes(b"")
    with pytest.raises(MediaError) as err:
        prepare(clips["landscape"], empty, pick(small_profiles, "landscape"), tmp_path / "o",
                title="F")
    assert err.value.code == "subtitles_empty"
    assert not list((tmp_path / "o").glob("*.mp4"))


def test_special_characters_in_paths_and_title(clips, small_profiles, tmp_path, srt_file) -> None:  # type: ignore[no-untyped-def]
    """Paths and titles with colons, apostrophes, commas, brackets and umlauts survive the
    filter graph escaping (burned subtitles, cards, thumbnail title)."""
    out = tmp_path / "Folge 3: Matz'low, [Grüße]; neu"
    media = prepare(clips["landscape"], srt_file, [small_profiles["vertical-burned"]], out,
                    title="Folge 3: Matz'low, 100% [neu]", branding=False, thumbnail_title=True)
    assert media.verified


@pytest.mark.parametrize(
    ("kind", "shown", "fps"),
    [("1080p25", (1920, 1080), 25.0), ("720p30", (1280, 720), 30.0),
     ("phone_mov", (720, 1280), 30.0), ("4_3", (640, 480), 25.0),
     ("ntsc", (640, 360), 29.97), ("vfr", (640, 360), 30.0)],
)
def test_realistic_camera_and_phone_sources(  # type: ignore[no-untyped-def]
    corpus, small_profiles, tmp_path, kind: str, shown: tuple[int, int], fps: float
) -> None:
    """The corpus's 1080p25, 720p30, rotated phone MOV, 4:3, 29.97 fps and VFR clips with
    German narration or speech under music become verified constant-rate renditions near
    -14 LUFS (25 and 29.97 fps kept, VFR made 30 fps)."""
    source = corpus(kind)
    src = probe(source)
    assert (src.width, src.height) == shown and src.vfr == (kind == "vfr")
    media = prepare(source, None, pick(small_profiles, "landscape", "vertical-burned"), tmp_path,
                    title="Folge 4", fit=FitOptions(mode="crop"), branding=False,
                    thumbnail_at=1.0)
    assert media.verified, [p.message_de for r in media.renditions for p in r.problems]
    for r in media.renditions:
        out = probe(Path(r.path))
        assert (out.fps, out.vfr, out.rotation) == (fps, False, 0)
        assert abs(out.duration - src.duration) <= 0.1
        assert r.loudness_lufs == pytest.approx(-14.0, abs=1.0)


def test_prepare_decodes_once_per_step(clips, small_profiles, tmp_path, srt_file,  # type: ignore[no-untyped-def]
                                       ffmpeg_runs) -> None:
    """prepare() of three branded renditions starts five ffmpeg processes: the demux-only
    probe, the audio-only loudness measurement, the one transcode pass (cards are PNG stills
    joined inside it), then one verification of all renditions (demux + one decode of their
    common sound) beside one process cutting all thumbnails; it reports each step's time."""
    media = prepare(clips["landscape"], srt_file, pick(small_profiles, *SMALL), tmp_path,
                    title="Folge 3", branding=True)
    assert media.verified
    assert len(ffmpeg_runs) == 5, ffmpeg_runs
    probe_run, loudness_run, transcode, *checks = ffmpeg_runs  # the last two run side by side
    verify_run, thumbs = sorted(checks, key=lambda argv: "mjpeg" in argv)
    assert "framecrc" in probe_run and probe_run.count(" -i ") == 1
    assert "ebur128@src" in loudness_run and "-vn" in loudness_run
    assert transcode.count("libx264") == 3 and transcode.count(".png") == 6
    assert verify_run.count(" -i ") == 3 and verify_run.count("ebur128@") == 1
    assert thumbs.count("mjpeg") == 3 and thumbs.count(" -ss ") == 3
    assert set(media.stages) == {"probe", "loudness", "cards", "transcode",
                                 "verify+thumbnails"}
    assert all(s["wall"] >= 0 for s in media.stages.values())

"""Probing and queue-time validation with the real ffmpeg on generated clips."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from workers.media.probe import parse_probe, probe, validate
from workers.media.problems import MediaError, Severity
from workers.media.profiles import PlatformLimits, Profile


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "width", "height", "fps", "vfr", "rotation", "depth", "audio"),
    [
        ("landscape", 320, 180, 30.0, False, 0, 8, True),
        ("vertical", 180, 320, 30.0, False, 0, 8, True),
        ("four_three", 320, 240, 29.97, False, 0, 8, True),
        ("vfr", 320, 180, 22.5, True, 0, 8, True),
        ("no_audio", 320, 180, 30.0, False, 0, 8, False),
        ("ten_bit", 320, 180, 30.0, False, 0, 10, True),
        ("odd_1080", 1918, 1078, 30.0, False, 0, 8, True),
        ("rotated", 180, 320, 30.0, False, 90, 8, True),
        ("hdr", 320, 180, 30.0, False, 0, 10, True),
    ],
)
def test_probe_reports_shape_rate_depth_audio(  # type: ignore[no-untyped-def]
    clips, name, width, height, fps, vfr, rotation, depth, audio
) -> None:
    """probe() reports displayed size after rotation, fps, VFR, bit depth, audio and sha256."""
    info = probe(clips[name])
    assert (info.width, info.height, info.rotation) == (width, height, rotation)
    assert info.fps == pytest.approx(fps, abs=0.02)
    assert (info.vfr, info.bit_depth, info.has_audio) == (vfr, depth, audio)
    assert info.video_codec == "h264"
    assert info.sha256 == _digest(clips[name])
    assert info.duration == pytest.approx(3.0 if name == "odd_1080" else 2.0, abs=0.05)
    assert info.to_dict()["width"] == width
    assert info.hdr == (name == "hdr")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("zero", "empty_file"),
        ("text", "not_a_video"),
        ("random", "not_a_video"),
        ("audio_only", "no_video_stream"),
        ("truncated", "truncated"),
        ("truncated_late", "truncated"),
        ("moov_missing", "truncated"),
    ],
)
def test_bad_inputs_get_codes_and_stay_untouched(clips, name: str, code: str) -> None:  # type: ignore[no-untyped-def]
    """Broken uploads raise MediaError with the right code and a German message; the file is
    left byte-for-byte unchanged."""
    path = clips[name]
    before = path.read_bytes()
    with pytest.raises(MediaError) as err:
        probe(path)
    assert err.value.code == code
    assert f"„{path.name}“" in err.value.message_de and "Bitte" in err.value.message_de
    assert path.read_bytes() == before


def test_missing_file_is_reported(tmp_path: Path) -> None:
    """A path that does not exist gives missing_file, not a crash."""
    with pytest.raises(MediaError) as err:
        probe(tmp_path / "fehlt.mp4")
    assert err.value.code == "missing_file"


def _profile(*limits: PlatformLimits) -> Profile:
    return Profile(name="t", width=320, height=180, platforms=limits)


def test_validate_duration_no_platform_accepts(clips) -> None:  # type: ignore[no-untyped-def]
    """A 2 s clip for platforms needing at least 3 s is an error naming the bounds."""
    info = probe(clips["landscape"])
    reels = PlatformLimits(name="facebook_reels", min_seconds=3, max_seconds=90)
    problems = validate(info, [_profile(reels)])
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert [p.code for p in errors] == ["duration_unsupported"]
    assert "facebook_reels: 3–90 s" in errors[0].message_de
    assert validate(info, [_profile(reels)], added_seconds=3.0) == []


def test_validate_some_platforms_and_missing_audio_are_warnings(clips) -> None:  # type: ignore[no-untyped-def]
    """Missing audio and a duration only some platforms accept are warnings, not errors."""
    info = probe(clips["no_audio"])
    ok = PlatformLimits(name="youtube", min_seconds=1, max_seconds=600)
    short = PlatformLimits(name="instagram", min_seconds=3, max_seconds=900)
    problems = validate(info, [_profile(ok, short)])
    assert {p.code: p.severity for p in problems} == {
        "no_audio": Severity.WARNING, "duration_some_platforms": Severity.WARNING,
    }
    assert all(p.message_de for p in problems)


def test_validate_warns_on_low_resolution(clips, real_profiles) -> None:  # type: ignore[no-untyped-def]
    """A 180x320 clip for Reels (min 540x960) draws a low-resolution warning."""
    info = replace(probe(clips["vertical"]), duration=10.0)
    codes = [p.code for p in validate(info, [real_profiles["vertical-burned"]])]
    assert codes == ["low_resolution"]


def test_parse_probe_detects_vfr_from_packet_table() -> None:
    """Irregular packet durations mark a clip as variable frame rate (pure parser)."""
    stderr = ("Input #0, mov,mp4, from 'x.mp4':\n  Duration: 00:00:00.20, start: 0.0\n"
              "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, "
              "bt709, progressive), 640x360 [SAR 1:1 DAR 16:9], 30 fps, 30 tbr, 90k tbn\n")
    packets = "#tb 0: 1/90000\n" + "\n".join(
        f"0, {t}, {t}, 3000, 100, 0x0" for t in (0, 3000, 6000, 12000, 15000, 18000))
    fields = parse_probe(stderr, packets)
    assert fields["vfr"] is True and fields["frame_count"] == 6
    assert (fields["width"], fields["height"], fields["pix_fmt"]) == (640, 360, "yuv420p")
    assert fields["duration"] == pytest.approx(0.2333, abs=1e-3)


def test_preflight_collects_every_problem_without_raising(clips, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """preflight() reports a corrupt clip and an empty subtitle file together, as data."""
    from workers.media import preflight

    empty = tmp_path / "leer.srt"
    empty.write_bytes(b"")
    check = preflight(clips["text"], empty, [_profile(LENIENT_LIMITS)])
    assert not check.ok and check.probe is None
    assert [p.code for p in check.problems] == ["not_a_video", "subtitles_empty"]
    assert check.to_dict()["ok"] is False


def test_preflight_passes_a_good_clip_with_warnings(clips, srt_file) -> None:  # type: ignore[no-untyped-def]
    """A readable clip with subtitles passes; cues past the end are a warning, not an error."""
    from workers.media import preflight

    check = preflight(clips["landscape"], srt_file, [_profile(LENIENT_LIMITS)], branding=False)
    assert check.ok and check.probe is not None and check.probe.width == 320
    assert [p.severity for p in check.problems] == [Severity.WARNING]


LENIENT_LIMITS = PlatformLimits(name="test", min_seconds=0.5, max_seconds=600)

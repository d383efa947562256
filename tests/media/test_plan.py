"""Pure planner, filter pieces, escaping and profiles (tables; no processes)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from workers.media.filters import CropBox, crop_box, escape_value, fit_filters
from workers.media.loudness import Loudness
from workers.media.plan import RenditionJob, plan_transcode
from workers.media.probe import ProbeInfo
from workers.media.problems import MediaError
from workers.media.profiles import FitMode, FitOptions, Profile, load_profiles

PROFILES = load_profiles()


def info(width: int = 1920, height: int = 1080, **kw: object) -> ProbeInfo:
    base = dict(
        path="/in/src.mp4", size_bytes=1, sha256="0" * 64, container="mov", duration=3.0,
        width=width, height=height, coded_width=width, coded_height=height, rotation=0,
        sar=1.0, fps=30.0, vfr=False, frame_count=90, video_codec="h264",
        video_profile="High", pix_fmt="yuv420p", bit_depth=8, has_audio=True,
        audio_codec="aac", audio_rate=48000, audio_channels=2,
    )
    return ProbeInfo(**{**base, **kw})  # type: ignore[arg-type]


LOUD = Loudness(input_i=-20.5, input_tp=-9.2, input_lra=4.1, input_thresh=-30.7)  # plain gain


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("/tmp/a.ass", "/tmp/a.ass"),
        ("C:/x", "C\\\\:/x"),
        ("Folge 3: Matz'low", "Folge 3\\\\: Matz\\\\\\'low"),
        ("a,b;c[d]", "a\\,b\\;c\\[d\\]"),
        ("back\\slash", "back\\\\\\\\slash"),
        ("Grüße", "Grüße"),
    ],
)
def test_escape_value_table(value: str, escaped: str) -> None:
    """Paths and text are escaped for both ffmpeg parsing levels (option, then graph)."""
    assert escape_value(value) == escaped


@pytest.mark.parametrize(
    ("src", "aspect", "focal", "box"),
    [
        ((1920, 1080), 9 / 16, (0.5, 0.5), CropBox(608, 1080, 656, 0)),
        ((1920, 1080), 9 / 16, (0.0, 0.5), CropBox(608, 1080, 0, 0)),
        ((1920, 1080), 9 / 16, (1.0, 0.5), CropBox(608, 1080, 1312, 0)),
        ((1920, 1080), 1.0, (0.25, 0.5), CropBox(1080, 1080, 0, 0)),
        ((1080, 1920), 16 / 9, (0.5, 0.2), CropBox(1080, 608, 0, 80)),
        ((1918, 1078), 16 / 9, (0.5, 0.5), CropBox(1916, 1078, 1, 0)),
    ],
)
def test_crop_box_follows_focal_point(src, aspect, focal, box) -> None:  # type: ignore[no-untyped-def]
    """The crop box has the target shape, centres the focal point and stays inside the frame."""
    assert crop_box(*src, aspect, *focal) == box


def test_fit_same_shape_only_scales() -> None:
    """A source within 1 % of the target shape (1918x1078 -> 1920x1080) is only scaled."""
    chains = fit_filters(1918, 1078, PROFILES["landscape"], FitOptions(), "v0", "f0")
    assert chains == ["[v0]scale=1920:1080,setsar=1[f0]"]


def test_fit_crop_and_pad_graphs() -> None:
    """Crop mode cuts then scales; pad mode overlays the scaled picture on a blurred copy."""
    vertical = PROFILES["vertical-burned"]
    crop = fit_filters(1920, 1080, vertical, FitOptions(mode=FitMode.CROP, focal_x=0.25),
                       "v1", "f1")
    assert crop == ["[v1]crop=608:1080:176:0,scale=1080:1920,setsar=1[f1]"]
    pad = "\n".join(fit_filters(1920, 1080, vertical, FitOptions(mode=FitMode.PAD), "v1", "f1"))
    assert "boxblur" in pad and "scale=1080:608" in pad
    assert "overlay=(1080-1080)/2:(1920-608)/2" in pad


def test_fit_options_reject_focal_outside_frame() -> None:
    """A focal point outside 0..1 is refused on construction."""
    with pytest.raises(ValueError):
        FitOptions(mode="crop", focal_x=1.5)


def _jobs(*names: str, **kw: object) -> list[RenditionJob]:
    return [RenditionJob(profile=PROFILES[n], output=Path(f"/out/{n}.mp4"), **kw)  # type: ignore[arg-type]
            for n in names]


def test_one_decode_split_into_every_rendition() -> None:
    """The source video is read once and split into one branch per rendition."""
    plan = plan_transcode(info(), _jobs("landscape", "vertical-burned", "square-burned"),
                          fit=FitOptions(), loudness=LOUD, fonts_dir=Path("/fonts"))
    assert plan.args.count("-i") == 1
    assert plan.filtergraph.count("[0:v:0]") == 1
    assert "[0:v:0]fps=30,split=3[v0][v1][v2]" in plan.filtergraph
    assert plan.filtergraph.count("[0:a:0]") == 1
    assert "asplit=3[a0][a1][a2]" in plan.filtergraph
    assert plan.filtergraph.count("volume=") == 1  # one gain for all three
    assert plan.outputs == tuple(Path(f"/out/{n}.mp4") for n in
                                 ("landscape", "vertical-burned", "square-burned"))
    assert plan.expected_seconds == 3.0


def test_encoder_arguments_per_output() -> None:
    """Each output is H.264 High yuv420p CFR with capped bitrate, AAC 48 kHz, faststart."""
    plan = plan_transcode(info(), _jobs("landscape"), fit=FitOptions(), loudness=LOUD,
                          fonts_dir=Path("/fonts"))
    args = list(plan.args)
    tail = args[args.index("-map"):]
    expected = ["-map", "[vout0]", "-map", "[aenc0]", "-c:v", "libx264", "-preset", "veryfast",
                "-crf", "23", "-maxrate", "8000k", "-bufsize", "16000k", "-profile:v", "high",
                "-pix_fmt", "yuv420p", "-g", "60", "-fps_mode", "cfr", "-c:a", "aac",
                "-aac_coder", "fast", "-b:a", "128k", "-ar", "48000", "-ac", "2",
                "-map_metadata", "-1", "-map_chapters", "-1",
                "-movflags", "+faststart+negative_cts_offsets", "-use_editlist", "0",
                "-f", "mp4", "/out/landscape.mp4"]
    assert tail == expected


def test_audio_gets_the_planned_gain_and_no_encoder_delay() -> None:
    """The audio is converted to 48 kHz stereo, gets the planned gain (no limiter when the
    peaks stay under it), is padded to the clip length and loses the AAC priming samples."""
    plan = plan_transcode(info(), _jobs("landscape"), fit=FitOptions(), loudness=LOUD,
                          fonts_dir=Path("/fonts"))
    assert ("[0:a:0]aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:"
            "channel_layouts=stereo,volume=6.5dB,apad,atrim=end=3.0,asetpts=N/SR/TB[a0]"
            ) in plan.filtergraph
    assert "[a0]atrim=start_sample=1024,asetpts=N/SR/TB[aenc0]" in plan.filtergraph
    assert plan.gains[0] is not None and plan.gains[0].expected_i == -14.0


def test_loud_peaks_get_the_oversampled_limiter() -> None:
    """When the gain would push peaks over the ceiling, the sound is low-passed at the AAC
    encoder's cutoff, limited at 192 kHz 1 dB under the ceiling and returns to 48 kHz."""
    loud = Loudness(input_i=-20.6, input_tp=-0.4, input_lra=3.0, input_thresh=-31.0,
                    limit_db=-2.0, limited=((3.0, -18.0), (6.0, -15.0), (9.0, -12.0)))
    plan = plan_transcode(info(), _jobs("landscape"), fit=FitOptions(), loudness=loud,
                          fonts_dir=Path("/fonts"))
    assert ("volume=7dB,lowpass=f=16000:poles=2,lowpass=f=16000:poles=2,aresample=192000,"
            "alimiter=limit=0.79433:level=false:latency=true,aresample=48000,aformat="
            ) in plan.filtergraph


def test_missing_audio_becomes_silence() -> None:
    """A clip without audio gets a silent 48 kHz stereo track of the clip's length."""
    plan = plan_transcode(info(has_audio=False, audio_codec=None), _jobs("landscape"),
                          fit=FitOptions(), loudness=None, fonts_dir=Path("/fonts"))
    assert "[0:a:0]" not in plan.filtergraph
    assert "anullsrc=r=48000:cl=stereo,atrim=end=3.0" in plan.filtergraph


def test_burned_subtitles_and_cards_are_in_the_graph() -> None:
    """Burned subtitles use the bundled fonts dir; cards are concatenated around the episode."""
    jobs = _jobs("vertical-burned", ass_path=Path("/w/v.ass"), intro=Path("/c/i.mp4"),
                 outro=Path("/c/o.mp4"), card_seconds=1.5)
    plan = plan_transcode(info(), jobs, fit=FitOptions(), loudness=LOUD,
                          fonts_dir=Path("/f/fonts"))
    g = plan.filtergraph
    assert "subtitles=filename=/w/v.ass:fontsdir=/f/fonts" in g
    assert "[ci0][cia0][m0][a0][co0][coa0]concat=n=3:v=1:a=1[vout0][aout0]" in g
    assert list(plan.args).count("-i") == 3
    assert plan.expected_seconds == 6.0


def test_sar_and_mixed_fps_handled() -> None:
    """Non-square pixels are squared before splitting; differing fps move to each branch."""
    jobs = [RenditionJob(profile=PROFILES["landscape"], output=Path("/o/a.mp4")),
            RenditionJob(profile=replace(PROFILES["square-burned"], fps=25,
                                         follow_source_fps=False),
                         output=Path("/o/b.mp4"))]
    plan = plan_transcode(info(width=1440, sar=4 / 3), jobs, fit=FitOptions(), loudness=LOUD,
                          fonts_dir=Path("/f"))
    assert plan.filtergraph.startswith("[0:v:0]scale=trunc(iw*sar/2)*2:ih,setsar=1,split=2")
    assert "fps=25," in plan.filtergraph and "fps=30," in plan.filtergraph


def test_real_profiles_match_platform_specs() -> None:
    """config/media.toml holds the documented frames, codecs and platform duration bounds."""
    assert (PROFILES["landscape"].width, PROFILES["landscape"].height) == (1920, 1080)
    vertical = PROFILES["vertical-burned"]
    assert (vertical.width, vertical.height, vertical.burned) == (1080, 1920, True)
    assert {p.name for p in vertical.platforms} == {"instagram", "tiktok", "facebook_reels"}
    reels = next(p for p in vertical.platforms if p.name == "facebook_reels")
    assert (reels.min_seconds, reels.max_seconds) == (3.0, 90.0)
    assert not PROFILES["landscape"].burned
    assert all(p.loudness_lufs == -14.0 and p.audio_rate == 48000 for p in PROFILES.values())


def test_broken_profile_file_gives_german_error(tmp_path: Path) -> None:
    """A profile file with an odd width is refused with a German message naming the file."""
    path = tmp_path / "media.toml"
    path.write_text("[profiles.x]\nwidth = 1081\nheight = 1920\n", encoding="utf-8")
    with pytest.raises(MediaError) as err:
        load_profiles(path)
    assert err.value.code == "profile_config" and "fehlerhaft" in err.value.message_de


def test_scaled_profile_keeps_even_dimensions() -> None:
    """Scaled test profiles keep even dimensions and the same shape."""
    small = PROFILES["vertical-burned"].scaled(1 / 6)
    assert (small.width, small.height) == (180, 320)
    assert isinstance(small, Profile)


@pytest.mark.parametrize(
    ("fps", "vfr", "rate", "gop"),
    [(25.0, False, "fps=25,", "50"), (29.97, False, "fps=30000/1001,", "60"),
     (59.94, False, "fps=60000/1001,", "120"), (22.5, True, "fps=30,", "60"),
     (120.0, False, "fps=30,", "60"), (25.0, True, "fps=30,", "60")],
)
def test_output_rate_follows_standard_cfr_sources(fps, vfr, rate, gop) -> None:  # type: ignore[no-untyped-def]
    """A constant 25/29.97/59.94 fps source keeps its rate (GOP stays 2 s); VFR or unusual
    rates become the profile's constant 30 fps."""
    plan = plan_transcode(info(fps=fps, vfr=vfr), _jobs("landscape"), fit=FitOptions(),
                          loudness=LOUD, fonts_dir=Path("/f"))
    assert f"[0:v:0]{rate}" in plan.filtergraph
    assert plan.args[plan.args.index("-g") + 1] == gop


def test_hdr_source_is_tone_mapped_once_before_the_split() -> None:
    """An HLG/PQ source is converted to SDR BT.709 in the trunk, before the split."""
    plan = plan_transcode(info(hdr=True, color_transfer="arib-std-b67",
                               pix_fmt="yuv420p10le", bit_depth=10),
                          _jobs("landscape", "square-burned"), fit=FitOptions(), loudness=LOUD,
                          fonts_dir=Path("/f"))
    trunk = plan.filtergraph.split(";")[0]
    assert "tonemap=tonemap=hable" in trunk and trunk.endswith("split=2[v0][v1]")
    assert plan.filtergraph.count("tonemap=hable") == 1

"""Generated media fixtures (ffmpeg lavfi and ``tests.media.corpus``, nothing committed) and
small test profiles."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.media.corpus import make_audio, make_corpus, write_wav
from workers.media.profiles import PlatformLimits, Profile, load_profiles
from workers.media.run import ffmpeg_exe

CORPUS_SECONDS = 4.0

FAST = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]


def make_clip(path: Path, *args: str) -> Path:
    """Run ffmpeg to create a fixture file (argv list, no shell)."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args, str(path)],
                   check=True, timeout=120)
    return path


def video(size: str, d: float = 2, rate: str = "30", src: str = "testsrc2") -> list[str]:
    return ["-f", "lavfi", "-i", f"{src}=size={size}:rate={rate}:duration={d}"]


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every source shape the pipeline must handle, generated once per test session."""
    d = tmp_path_factory.mktemp("clips")
    speech = write_wav(d / "speech.wav", make_audio("narration", 3.0, 44100, d), 44100, 2)

    def tone(seconds: float = 2) -> list[str]:  # German narration (44.1 kHz), cut by -shortest
        return ["-i", str(speech)]

    c: dict[str, Path] = {}
    c["landscape"] = make_clip(d / "landscape.mp4", *video("320x180"), *tone(), *FAST,
                               "-shortest")
    c["vertical"] = make_clip(d / "vertical.mp4", *video("180x320"), *tone(), *FAST,
                              "-shortest")
    c["four_three"] = make_clip(d / "four_three.mp4", *video("320x240", rate="30000/1001"),
                                *tone(), *FAST, "-shortest")
    c["vfr"] = make_clip(d / "vfr.mp4", *video("320x180"), *tone(), "-vf",
                         "select='not(eq(mod(n\\,4)\\,2))'", "-fps_mode", "vfr", *FAST,
                         "-shortest")
    c["no_audio"] = make_clip(d / "no_audio.mp4", *video("320x180"), *FAST)
    c["ten_bit"] = make_clip(d / "ten_bit.mp4", *video("320x180"), *tone(), *FAST,
                             "-pix_fmt", "yuv420p10le", "-shortest")
    c["odd_1080"] = make_clip(d / "odd_1080.mp4", *video("1918x1078", d=3), *tone(3), *FAST,
                              "-shortest")
    # iPhone-style HDR: 10-bit HLG, BT.2020.
    c["hdr"] = make_clip(d / "hdr.mp4", *video("320x180"), *tone(), "-vf",
                         "setparams=color_primaries=bt2020:color_trc=arib-std-b67:"
                         "colorspace=bt2020nc:range=tv,format=yuv420p10le",
                         "-c:v", "libx264", "-preset", "superfast", "-c:a", "aac", "-shortest")
    # A phone that recorded landscape pixels with a 90° display rotation: shows 180x320.
    make_clip(d / "unrotated.mp4", *video("320x180"), *tone(), *FAST, "-shortest")
    c["rotated"] = make_clip(d / "rotated.mp4", "-display_rotation", "90", "-i",
                             str(d / "unrotated.mp4"), "-c", "copy")
    # Black for the first second, then a picture: the automatic thumbnail must skip black.
    c["black_start"] = make_clip(
        d / "black_start.mp4", *video("320x180", d=3), *tone(3), "-vf",
        "drawbox=c=black:t=fill:enable='lt(t\\,1.2)'", *FAST, "-shortest")
    # Broken inputs.
    c["zero"] = d / "zero.mp4"
    c["zero"].write_bytes(b"")
    c["text"] = d / "text.mp4"
    c["text"].write_text("Das ist kein Video, nur Text.\n", encoding="utf-8")
    c["audio_only"] = make_clip(d / "audio_only.mp4", *tone(), "-c:a", "aac")
    faststart = make_clip(d / "faststart.mp4", "-i", str(c["landscape"]), "-c", "copy",
                          "-movflags", "+faststart")
    data = faststart.read_bytes()
    c["truncated"] = d / "truncated.mp4"
    c["truncated"].write_bytes(data[: len(data) // 3])
    c["moov_missing"] = d / "moov_missing.mp4"
    c["moov_missing"].write_bytes(c["landscape"].read_bytes()[: len(data) // 2])
    return c


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``corpus(name)``: the ``tests.media.corpus.CLIP_TYPES`` clip ``name`` (4 s), made on
    first use and shared by the whole session."""
    directory = tmp_path_factory.mktemp("corpus")

    def get(name: str) -> Path:
        return make_corpus(directory, (name,), duration=CORPUS_SECONDS)[name]

    return get


@pytest.fixture(scope="session")
def real_profiles() -> dict[str, Profile]:
    return load_profiles()


LENIENT = PlatformLimits(name="test", min_seconds=0.5, max_seconds=600, max_bytes=10**9)


@pytest.fixture(scope="session")
def small_profiles(real_profiles: dict[str, Profile]) -> dict[str, Profile]:
    """The real profiles at 1/6 size (320x180, 180x320, 180x180), fast preset, lenient bounds."""
    return {
        name: replace(p.scaled(1 / 6), preset="superfast", platforms=(LENIENT,))
        for name, p in real_profiles.items()
    }


SRT_TEXT = (
    "1\n00:00:00,200 --> 00:00:01,500\nGrüße aus Matzlow – Straßenfest\n\n"
    "2\n00:00:01,600 --> 00:00:05,000\nÄrger? Nö!\n"
)


@pytest.fixture
def srt_file(tmp_path: Path) -> Path:
    path = tmp_path / "folge3.de.srt"
    path.write_bytes(SRT_TEXT.encode("cp1252"))
    return path

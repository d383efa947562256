"""Source shapes and broken uploads, made by ffmpeg at test time (nothing committed).

``make_shapes(directory)`` returns ``{name: path}``: small clips of every shape the pipeline
must handle (landscape, vertical, 4:3 at 29.97 fps, VFR, no audio, 10-bit, odd 1918x1078,
HLG HDR, a phone clip stored with a 90° display rotation, a clip that starts black) and the
broken inputs staff upload by mistake (empty file, text, audio only, a photo, random bytes,
an upload cut at a third / at 85 %, a file whose index is missing). Used by the media tests'
``clips`` fixture and by ``bench/probe_compare.py``. Files already in ``directory`` are made
again (cheap: 2-3 s clips at 320x180).
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

from tests.media.corpus import make_audio, write_wav
from workers.media.run import ffmpeg_exe

FAST = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]


def ffmpeg_file(path: Path, *args: str) -> Path:
    """Run ffmpeg to create a fixture file (argv list, no shell)."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args, str(path)],
                   check=True, timeout=120)
    return path


def video(size: str, d: float = 2, rate: str = "30", src: str = "testsrc2") -> list[str]:
    return ["-f", "lavfi", "-i", f"{src}=size={size}:rate={rate}:duration={d}"]


def make_shapes(d: Path) -> dict[str, Path]:
    """Every source shape and broken upload, in directory ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    speech = write_wav(d / "speech.wav", make_audio("narration", 3.0, 44100, d), 44100, 2)
    tone = ["-i", str(speech)]  # German narration (44.1 kHz), cut by -shortest
    c: dict[str, Path] = {}
    c["landscape"] = ffmpeg_file(d / "landscape.mp4", *video("320x180"), *tone, *FAST,
                                 "-shortest")
    c["vertical"] = ffmpeg_file(d / "vertical.mp4", *video("180x320"), *tone, *FAST,
                                "-shortest")
    c["four_three"] = ffmpeg_file(d / "four_three.mp4", *video("320x240", rate="30000/1001"),
                                  *tone, *FAST, "-shortest")
    c["vfr"] = ffmpeg_file(d / "vfr.mp4", *video("320x180"), *tone, "-vf",
                           "select='not(eq(mod(n\\,4)\\,2))'", "-fps_mode", "vfr", *FAST,
                           "-shortest")
    c["no_audio"] = ffmpeg_file(d / "no_audio.mp4", *video("320x180"), *FAST)
    c["ten_bit"] = ffmpeg_file(d / "ten_bit.mp4", *video("320x180"), *tone, *FAST,
                               "-pix_fmt", "yuv420p10le", "-shortest")
    c["odd_1080"] = ffmpeg_file(d / "odd_1080.mp4", *video("1918x1078", d=3), *tone, *FAST,
                                "-shortest")
    # iPhone-style HDR: 10-bit HLG, BT.2020.
    c["hdr"] = ffmpeg_file(d / "hdr.mp4", *video("320x180"), *tone, "-vf",
                           "setparams=color_primaries=bt2020:color_trc=arib-std-b67:"
                           "colorspace=bt2020nc:range=tv,format=yuv420p10le",
                           "-c:v", "libx264", "-preset", "superfast", "-c:a", "aac", "-shortest")
    # A phone that recorded landscape pixels with a 90° display rotation: shows 180x320.
    ffmpeg_file(d / "unrotated.mp4", *video("320x180"), *tone, *FAST, "-shortest")
    c["rotated"] = ffmpeg_file(d / "rotated.mp4", "-display_rotation", "90", "-i",
                               str(d / "unrotated.mp4"), "-c", "copy")
    # Black for the first second, then a picture: the automatic thumbnail must skip black.
    c["black_start"] = ffmpeg_file(
        d / "black_start.mp4", *video("320x180", d=3), *tone, "-vf",
        "drawbox=c=black:t=fill:enable='lt(t\\,1.2)'", *FAST, "-shortest")
    # Broken inputs.
    c["zero"] = d / "zero.mp4"
    c["zero"].write_bytes(b"")
    c["text"] = d / "text.mp4"
    c["text"].write_text("Das ist kein Video, nur Text.\n", encoding="utf-8")
    c["random"] = d / "random.mp4"
    c["random"].write_bytes(random.Random(3).randbytes(200_000))
    c["photo"] = ffmpeg_file(d / "photo.mp4", *video("320x180", d=0.04), "-frames:v", "1",
                             "-c:v", "mjpeg", "-f", "image2")
    c["audio_only"] = ffmpeg_file(d / "audio_only.mp4", *tone, "-c:a", "aac")
    faststart = ffmpeg_file(d / "faststart.mp4", "-i", str(c["landscape"]), "-c", "copy",
                            "-movflags", "+faststart")
    data = faststart.read_bytes()
    c["truncated"] = d / "truncated.mp4"
    c["truncated"].write_bytes(data[: len(data) // 3])
    c["truncated_late"] = d / "truncated_late.mp4"
    c["truncated_late"].write_bytes(data[: len(data) * 85 // 100])
    c["moov_missing"] = d / "moov_missing.mp4"
    c["moov_missing"].write_bytes(c["landscape"].read_bytes()[: len(data) // 2])
    return c

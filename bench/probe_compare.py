"""Probe robustness and speed: our probe (ffmpeg's header dump + a demux-only framecrc table,
parsed with regular expressions) against the same facts read with PyAV (in-process libav*).

PyAV is not a dependency; install it aside for this measurement only:

    .venv/bin/pip install --target /tmp/avlib av
    PYTHONPATH=/tmp/avlib .venv/bin/python bench/probe_compare.py [--runs 5]

Inputs: ``tests.media.shapes`` (every source shape and the broken uploads), the phone MOV /
VFR / 1080p25 clips of ``tests.media.corpus`` and the 20 s 1080p clip of ``media_bench.py``
(182 MB: where speed matters). For each file: what it really is, what each probe says (the
``ProbeInfo`` facts or the German error code), and the median time of ``--runs`` calls (file
hash included in both, computed in a thread while demuxing).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.media_bench import RESULTS, make_clip  # noqa: E402
from tests.media.corpus import make_corpus  # noqa: E402
from tests.media.shapes import make_shapes  # noqa: E402
from workers.media.probe import HDR_TRANSFERS, probe, sha256_file  # noqa: E402
from workers.media.problems import MediaError  # noqa: E402

FACTS = ("width", "height", "rotation", "fps", "vfr", "bit_depth", "has_audio", "hdr",
         "duration")
# Ground truth: what each file is (facts) or which error staff must get. "photo" is a JPEG
# renamed .mp4: a one-frame "video" of 0.04 s is as right as an error (validate rejects it).
TRUTH: dict[str, dict[str, Any] | str] = {
    "landscape": dict(width=320, height=180, rotation=0, fps=30, vfr=False, bit_depth=8,
                      has_audio=True, hdr=False, duration=2.0),
    "vertical": dict(width=180, height=320, rotation=0, fps=30, vfr=False, bit_depth=8,
                     has_audio=True, hdr=False, duration=2.0),
    "four_three": dict(width=320, height=240, rotation=0, fps=29.97, vfr=False, bit_depth=8,
                       has_audio=True, hdr=False, duration=2.0),
    "vfr": dict(width=320, height=180, rotation=0, fps=22.5, vfr=True, bit_depth=8,
                has_audio=True, hdr=False, duration=2.0),
    "no_audio": dict(width=320, height=180, rotation=0, fps=30, vfr=False, bit_depth=8,
                     has_audio=False, hdr=False, duration=2.0),
    "ten_bit": dict(width=320, height=180, rotation=0, fps=30, vfr=False, bit_depth=10,
                    has_audio=True, hdr=False, duration=2.0),
    "odd_1080": dict(width=1918, height=1078, rotation=0, fps=30, vfr=False, bit_depth=8,
                     has_audio=True, hdr=False, duration=3.0),
    "hdr": dict(width=320, height=180, rotation=0, fps=30, vfr=False, bit_depth=10,
                has_audio=True, hdr=True, duration=2.0),
    "rotated": dict(width=180, height=320, rotation=90, fps=30, vfr=False, bit_depth=8,
                    has_audio=True, hdr=False, duration=2.0),
    "corpus_phone_mov": dict(width=720, height=1280, rotation=90, fps=30, vfr=False,
                             bit_depth=8, has_audio=True, hdr=False, duration=4.0),
    "corpus_vfr": dict(width=640, height=360, rotation=0, vfr=True, bit_depth=8,
                       has_audio=True, hdr=False, duration=4.0),
    "corpus_1080p25": dict(width=1920, height=1080, rotation=0, fps=25, vfr=False,
                           bit_depth=8, has_audio=True, hdr=False, duration=4.0),
    "bench_20s_1080p": dict(width=1920, height=1080, rotation=0, fps=30, vfr=False,
                            bit_depth=8, has_audio=True, hdr=False, duration=20.0),
    "zero": "empty_file",
    "text": "not_a_video",
    "random": "not_a_video",
    "photo": "not_a_video",
    "audio_only": "no_video_stream",
    "truncated": "truncated",
    "truncated_late": "truncated",
    "moov_missing": "truncated",
}
# FFmpeg's AVColorTransferCharacteristic numbers of the HDR transfers we tone-map.
AV_TRC = {16: "smpte2084", 18: "arib-std-b67"}


def ours(path: Path) -> dict[str, Any]:
    info = probe(path)
    return {k: getattr(info, k) for k in FACTS}


def pyav(path: Path) -> dict[str, Any]:
    """The same facts and error codes with PyAV: open, demux the video packets (no decoding)
    and decode the first frame only for the display rotation (PyAV 18 exposes no stream side
    data); "moov atom not found" (cut upload) is only in libav's log, captured."""
    import av

    if path.stat().st_size == 0:
        raise MediaError("empty_file", "")
    with ThreadPoolExecutor(1) as pool:
        pool.submit(sha256_file, path)
        av.logging.set_level(av.logging.ERROR)  # PyAV silences libav's log by default
        try:
            with av.logging.Capture() as logs:  # the reason is only in libav's log
                container = av.open(str(path))
        except av.FFmpegError as exc:
            if any("moov atom not found" in str(line) for line in logs):
                raise MediaError("truncated", str(exc)) from exc
            raise MediaError("not_a_video", str(exc)) from exc
        finally:
            av.logging.set_level(None)
        with container:
            streams = [s for s in container.streams.video
                       if not s.disposition & av.stream.Disposition.attached_pic]
            if not streams:
                raise MediaError("no_video_stream", "")
            stream = streams[0]
            cc = stream.codec_context
            rows: list[tuple[int, int]] = []
            rotation, decoded = 0, False
            try:
                for packet in container.demux(stream):
                    if packet.pts is None:
                        continue
                    if packet.is_corrupt:
                        raise MediaError("truncated", "corrupt packet")
                    if not decoded:  # the first frame (decoder delay: maybe later)
                        for frame in packet.decode():
                            rotation, decoded = round(frame.rotation) % 360, True
                    rows.append((packet.pts, packet.duration or 0))
            except av.FFmpegError as exc:
                raise MediaError("truncated", str(exc)) from exc
            if not rows:
                raise MediaError("truncated", "no packets")
            tb = float(stream.time_base)
            pts = sorted(p for p, _ in rows)
            deltas = [b - a for a, b in pairwise(pts) if b > a]
            duration = (pts[-1] + (dict(rows)[pts[-1]] or deltas[-1]) - pts[0]) * tb
            header = (container.duration or 0) / 1e6
            if header and duration < header - max(0.5, 0.1 * header):
                raise MediaError("truncated", "short")
            typical = sorted(deltas)[len(deltas) // 2] if deltas else 0
            w, h = cc.width, cc.height
            rotated = rotation in (90, 270)
            fmt = cc.format
            depth = max((c.bits for c in fmt.components), default=8) if fmt else 8
            return {"width": h if rotated else w, "height": w if rotated else h,
                    "rotation": rotation, "fps": round(len(pts) / duration, 3),
                    "vfr": any(abs(d - typical) > 0.1 * typical for d in deltas),
                    "bit_depth": depth, "has_audio": bool(container.streams.audio),
                    "hdr": AV_TRC.get(int(cc.color_trc or 0), "") in HDR_TRANSFERS,
                    "duration": round(duration, 3)}


def verdict(name: str, result: dict[str, Any] | str) -> bool:
    truth = TRUTH[name]
    if name == "photo" and isinstance(result, dict):
        return result["duration"] < 0.5  # validate() rejects it as too short
    if isinstance(truth, str) or isinstance(result, str):
        return truth == result
    return all(verdict_key(name, k, result) for k in truth)


def run(fn: Callable[[Path], dict[str, Any]], path: Path, runs: int) -> tuple[Any, float]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        try:
            result = fn(path)
        except MediaError as exc:
            result = exc.code
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    import av

    with tempfile.TemporaryDirectory() as tmp:
        files = make_shapes(Path(tmp) / "shapes")
        corpus = make_corpus(Path(tmp) / "corpus", ("phone_mov", "vfr", "1080p25"),
                             duration=4.0)
        files.update({f"corpus_{k}": v for k, v in corpus.items()})
        files["bench_20s_1080p"] = make_clip(20)[0]
        rows = []
        print(f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info}); ours: ffmpeg CLI")
        print(f"{'file':<18}{'truth':<16}{'ours':<20}{'PyAV':<20}{'ours ms':>9}{'PyAV ms':>9}")
        for name in TRUTH:
            a, ta = run(ours, files[name], opts.runs)
            b, tb = run(pyav, files[name], opts.runs)
            ok_a, ok_b = verdict(name, a), verdict(name, b)

            truth = TRUTH[name] if isinstance(TRUTH[name], str) else "video"
            print(f"{name:<18}{truth:<16}{show(name, a, ok_a):<20}{show(name, b, ok_b):<20}"
                  f"{ta * 1000:9.1f}{tb * 1000:9.1f}")
            rows.append({"file": name, "ours": a, "pyav": b, "ours_ok": ok_a, "pyav_ok": ok_b,
                         "ours_ms": round(ta * 1000, 1), "pyav_ms": round(tb * 1000, 1)})
    print(f"right: ours {sum(r['ours_ok'] for r in rows)}/{len(rows)}, "
          f"PyAV {sum(r['pyav_ok'] for r in rows)}/{len(rows)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"probe_compare-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"pyav": av.__version__, "rows": rows}, indent=2, default=str),
                   encoding="utf-8")
    print(f"wrote {out}")


def show(name: str, result: Any, ok: bool) -> str:
    if isinstance(result, str):
        return result if ok else f"WRONG {result}"
    if ok:
        return f"{result['width']}x{result['height']} ok"
    return "WRONG " + str({k: result[k] for k in FACTS if not verdict_key(name, k, result)})


def verdict_key(name: str, key: str, result: dict[str, Any]) -> bool:
    truth = TRUTH[name]
    if not isinstance(truth, dict) or key not in truth:
        return True
    v = truth[key]
    if isinstance(v, float | int) and not isinstance(v, bool):
        return abs(result[key] - v) <= (0.05 if key in ("fps", "duration") else 0)
    return result[key] == v


if __name__ == "__main__":
    main()

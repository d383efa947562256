"""Loudness benchmark (not a test): every sound of the test corpus through the real pipeline.

    .venv/bin/python bench/loudness.py                  # corpus clips of 8 s, ours only
    .venv/bin/python bench/loudness.py --compare        # + loudnorm linear/dynamic, one-shot
    .venv/bin/python bench/loudness.py --timing 300     # + cost of the measurement pass

For each ``tests.media.corpus`` sound (German espeak-ng narration with a mic pop, speech under
music, loud music, a clap in quiet speech, quiet and faint recordings, room tone, mono,
44.1 kHz) ``prepare()`` renders the real ``landscape`` profile's audio (-14 LUFS, -1 dBTP,
AAC 128 kbps; the picture at 1/6 size, which does not touch the sound) and the table shows the
source, the decision of ``loudness.plan_gain``, and what the finished MP4 measures (EBU R128,
ffmpeg ``ebur128``). ``--compare`` renders the same sources with the alternatives that were
considered, audio only, same encoder. JSON goes to ``bench/results/loudness.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.media.corpus import AUDIO_TYPES, make_clip, make_corpus  # noqa: E402
from workers.media import load_profiles, prepare  # noqa: E402
from workers.media.filters import audio_format, gain_filters  # noqa: E402
from workers.media.loudness import (  # noqa: E402
    Loudness,
    limiter_chain,
    limiter_threshold,
    measure_loudness,
    plan_gain,
)
from workers.media.profiles import PlatformLimits, Profile  # noqa: E402
from workers.media.run import ffmpeg_exe  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def _profile() -> Profile:
    real = load_profiles()["landscape"]
    lenient = PlatformLimits(name="bench", min_seconds=0.5, max_seconds=3600, max_bytes=10**10)
    return replace(real.scaled(1 / 6), preset="superfast", platforms=(lenient,))


def ours(clips: dict[str, Path], out: Path) -> list[dict[str, object]]:
    profile = _profile()
    rows = []
    for name, path in clips.items():
        started = time.monotonic()
        media = prepare(path, None, [profile], out / name, title="Bench", branding=False,
                        thumbnail_at=1.0)
        r = media.renditions[0]
        src = media.source_loudness
        plan = plan_gain(src, target_i=profile.loudness_lufs,
                         ceiling_tp=profile.true_peak_db) if src else None
        rows.append({
            "clip": name,
            "source_i": src.input_i if src else None, "source_tp": src.input_tp if src else None,
            "reason": str(plan.reason) if plan else "no audio",
            "gain_db": plan.gain_db if plan else None,
            "limiter": plan.limit_db is not None if plan else False,
            "expected_i": plan.expected_i if plan else None,
            "out_i": r.loudness_lufs, "out_tp": r.true_peak_db,
            "error_lu": round(r.loudness_lufs - profile.loudness_lufs, 2)
            if r.loudness_lufs is not None else None,
            "verified": r.verified,
            "notes": sorted({p.code for p in (*media.problems, *r.problems)
                             if p.code in ("loudness", "no_audio")}),
            "seconds": round(time.monotonic() - started, 2),
        })
    return rows


def _render_audio(source: Path, chain: str, out: Path, coder: str = "fast") -> Loudness:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-vn", "-af", chain,
         "-c:a", "aac", "-aac_coder", coder, "-b:a", "128k", "-ar", "48000", "-ac", "2", str(out)],
        check=True, timeout=600)
    return measure_loudness(out)


def compare(clips: dict[str, Path], out: Path) -> list[dict[str, object]]:
    """The alternatives, audio only: loudnorm linear (the old pipeline), loudnorm dynamic,
    gain + limiter without the measured curve, ours with the default AAC coder, and ours
    before the encoder (PCM: what the limiter guarantees)."""
    profile = _profile()
    fmt = audio_format(profile)
    limit = limiter_threshold(profile.true_peak_db)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, path in clips.items():
        if name in ("no_audio",):
            continue
        m = measure_loudness(path, audio_format=fmt, limit_db=limit)
        first = _loudnorm_first_pass(path, fmt)
        chains = {
            "loudnorm linear": f"{fmt},loudnorm=I=-14:TP=-1:LRA=11:measured_I={first['input_i']}:"
            f"measured_TP={first['input_tp']}:measured_LRA={first['input_lra']}:"
            f"measured_thresh={first['input_thresh']}:offset={first['target_offset']}:"
            f"linear=true,{fmt}",
            "loudnorm dynamic": f"{fmt},loudnorm=I=-14:TP=-1:LRA=11,{fmt}",
            "gain+limiter one-shot": f"{fmt},volume={-14 - m.input_i:.2f}dB,"
            f"{limiter_chain(limit)},{fmt}" if not m.silent else fmt,
        }
        plan = plan_gain(m, target_i=-14.0, ceiling_tp=-1.0)
        ours_chain = ",".join([fmt, *gain_filters(plan, profile)])
        row: dict[str, object] = {"clip": name}
        for label, chain in chains.items():
            got = _render_audio(path, chain, out / f"{name}-{label.replace(' ', '_')}.m4a")
            row[label] = (got.input_i, got.input_tp)
        got = _render_audio(path, ours_chain, out / f"{name}-twoloop.m4a", coder="twoloop")
        row["ours, AAC twoloop"] = (got.input_i, got.input_tp)
        pcm = out / f"{name}-pcm.wav"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-vn",
                        "-af", ours_chain, "-c:a", "pcm_f32le", str(pcm)], check=True, timeout=600)
        got = measure_loudness(pcm)
        row["ours, PCM before AAC"] = (got.input_i, got.input_tp)
        rows.append(row)
    return rows


def _loudnorm_first_pass(path: Path, fmt: str) -> dict[str, float]:
    err = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path), "-vn",
         "-af", f"{fmt},loudnorm=I=-14:TP=-1:LRA=11:print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=600).stderr
    data = json.loads(err[err.rfind("{"):err.rfind("}") + 1])
    return {k: float(v) for k, v in data.items() if k.startswith(("input", "target"))}


def timing(seconds: float, out: Path) -> dict[str, float]:
    """Wall seconds of the measurement pass on a long speech-under-music episode."""
    clip = make_clip(out / "long.mp4", audio="speech_music", duration=seconds)
    fmt = audio_format(_profile())
    result: dict[str, float] = {"episode_seconds": seconds}
    for label, kwargs in (("ebur128 only", {"audio_format": fmt}),
                          ("ebur128 + 8 limiter candidates",
                           {"audio_format": fmt, "limit_db": -2.0})):
        started = time.monotonic()
        measure_loudness(clip, **kwargs)  # type: ignore[arg-type]
        result[label] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    _loudnorm_first_pass(clip, fmt)
    result["loudnorm first pass (old)"] = round(time.monotonic() - started, 2)
    return result


def _fmt(v: object, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--timing", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"seconds": args.seconds}
    with tempfile.TemporaryDirectory(prefix="wtg-loudness-") as tmp:
        work = Path(tmp)
        clips = make_corpus(work / "corpus", AUDIO_TYPES, duration=args.seconds)
        rows = ours(clips, work / "out")
        report["ours"] = rows
        print(f"\nTarget -14 LUFS, ceiling -1 dBTP, tolerance ±1 LU; clips of {args.seconds:g} s\n")
        print("| clip | source LUFS / dBTP | decision | planned LUFS | rendition LUFS | "
              "error LU | true peak dBTP | verified | notes |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            decision = r["reason"] if r["gain_db"] is None else (
                f"{r['reason']} {r['gain_db']:+.1f} dB" + (" + limiter" if r["limiter"] else ""))
            print(f"| {r['clip']} | {_fmt(r['source_i'])} / {_fmt(r['source_tp'])} | {decision} "
                  f"| {_fmt(r['expected_i'])} | {_fmt(r['out_i'])} | {_fmt(r['error_lu'])} "
                  f"| {_fmt(r['out_tp'])} | "
                  f"{'yes' if r['verified'] else 'NO'} | {', '.join(r['notes']) or '–'} |")
        if args.compare:
            cmp_rows = compare(clips, work / "cmp")
            report["compare"] = cmp_rows
            labels = [k for k in cmp_rows[0] if k != "clip"]
            print("\nAlternatives (LUFS / dBTP after AAC 128 kbps):\n")
            print("| clip | " + " | ".join(labels) + " |")
            print("|---" * (len(labels) + 1) + "|")
            for row in cmp_rows:
                cells = [f"{_fmt(row[k][0])} / {_fmt(row[k][1])}" for k in labels]
                print(f"| {row['clip']} | " + " | ".join(cells) + " |")
        if args.timing:
            report["timing"] = t = timing(args.timing, work)
            print(f"\nMeasurement pass on a {args.timing:g} s episode (wall seconds): "
                  + ", ".join(f"{k}: {v}" for k, v in t.items() if k != "episode_seconds"))
    (RESULTS / "loudness.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    bad = [r["clip"] for r in rows if not r["verified"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

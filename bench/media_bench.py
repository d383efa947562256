"""Media pipeline benchmarks (not tests). Prints tables, writes JSON to bench/results/.

    .venv/bin/python bench/media_bench.py                 # all: speed, moviepy, memory, quality
    .venv/bin/python bench/media_bench.py --only quality --crf 21 23 --preset veryfast

The clip is generated once (lavfi testsrc2 + camera-like grain, sine tones + noise; nothing to
install) and cached in bench/results/. Renditions: landscape, vertical-burned, square-burned
(the real 1080-line profiles from config/media.toml).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import psutil

from workers.media import FitOptions, load_profiles, prepare, probe
from workers.media.cards import FONTS_DIR
from workers.media.filters import fit_filters
from workers.media.run import ffmpeg_exe

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ("landscape", "landscape-burned", "vertical-burned", "square-burned")
FIT = FitOptions(mode="pad")  # blurred-background pad: the realistic case for phone clips
SRT = "".join(
    f"{i + 1}\n00:00:{2 * i:02d},000 --> 00:00:{2 * i + 1:02d},800\nUntertitel {i + 1}: "
    "Grüße aus Matzlow, schöne Straße\n\n" for i in range(12)
)


def make_clip(seconds: int) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    clip = RESULTS / f"media_clip_{seconds}s_1080p.mp4"
    srt = RESULTS / "media_clip.de.srt"
    srt.write_text(SRT, encoding="utf-8")
    if not clip.exists():
        subprocess.run([
            ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}",
            "-f", "lavfi", "-i", f"anoisesrc=amplitude=0.03:duration={seconds}",
            "-filter_complex", "[0:v]noise=alls=3:allf=t[v];[1:a][2:a]amix=inputs=2[a]",
            "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "fast", "-crf", "14",
            "-c:a", "aac", "-b:a", "192k", str(clip),
        ], check=True)
    return clip, srt


def profiles(preset: str | None = None, crf: int | None = None, names=NAMES) -> list:  # type: ignore[no-untyped-def]
    loaded = load_profiles()
    chosen = [loaded[n] for n in names]
    if preset or crf is not None:
        chosen = [replace(p, preset=preset or p.preset, crf=p.crf if crf is None else crf)
                  for p in chosen]
    return chosen


def cpu_seconds() -> float:
    """User+system CPU of this process and its finished children (ffmpeg does the work)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measured(fn, *args) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds incl. children) of one call."""
    return timed(fn, *args)[:2]


def timed(fn, *args) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds incl. children, result) of one call."""
    wall, cpu = time.monotonic(), cpu_seconds()
    result = fn(*args)
    return time.monotonic() - wall, cpu_seconds() - cpu, result


def speed(clip: Path, srt: Path, profs: list, work: Path, rounds: int,  # type: ignore[type-arg]
          arms: list[str]) -> dict:  # type: ignore[type-arg]
    """prepare() against the hand-written command, interleaved: every round runs each arm
    once (A B A B ...), so both see the same load; per-round ratios, median and spread."""
    assert [p.name for p in profs] == list(NAMES), "the reference makes exactly NAMES"
    runs: list[dict[str, list[float]]] = []
    stages: list[dict[str, dict[str, float]]] = []
    for n in range(rounds):
        row: dict[str, list[float]] = {}
        for arm in arms:
            out = work / f"{arm}{n}"
            if arm == "pipeline":
                wall, cpu, media = timed(run_pipeline, clip, srt, profs, out)
                stages.append(media.stages)  # type: ignore[attr-defined]
            else:
                audio = LOUDNORM if arm == "hand" else VOLUME
                wall, cpu, _ = timed(hand_written, clip, srt, out, audio)
            shutil.rmtree(out, ignore_errors=True)
            row[arm] = [round(wall, 2), round(cpu, 2)]
        runs.append(row)
        print(f"round {n + 1}: " + "  ".join(f"{a} {w:.2f} s / {c:.2f} s CPU"
                                              for a, (w, c) in row.items()), flush=True)
    out: dict = {"rounds": runs, "stages": stages}  # type: ignore[type-arg]
    for other in [a for a in arms if a != "pipeline"]:
        for i, what in enumerate(("wall", "cpu")):
            ratios = sorted(r["pipeline"][i] / r[other][i] for r in runs)
            out[f"{what}_ratio_vs_{other}"] = {
                "median": round(statistics.median(ratios), 3), "min": round(ratios[0], 3),
                "max": round(ratios[-1], 3), "all": [round(x, 3) for x in ratios]}
            print(f"pipeline / {other} {what}: median {statistics.median(ratios):.3f} "
                  f"(min {ratios[0]:.3f}, max {ratios[-1]:.3f}, {len(ratios)} rounds)")
    names = sorted({k for st in stages for k in st})
    out["stage_median"] = {k: {m: round(statistics.median(st.get(k, {}).get(m, 0.0)
                                                         for st in stages), 3)
                               for m in ("wall", "cpu")} for k in names}
    print("prepare() stages, median wall / CPU s: " + ", ".join(
        f"{k} {v['wall']:.2f}/{v['cpu']:.2f}" for k, v in out["stage_median"].items()))
    return out


def run_pipeline(clip: Path, srt: Path | None, profs: list, out: Path):  # type: ignore[no-untyped-def]
    media = prepare(clip, srt, profs, out, title="Folge 3: Matzlow", fit=FIT, branding=False)
    assert media.verified, [r.problems for r in media.renditions]
    return media


# The reference: one ffmpeg command typed by hand, NOT generated by workers.media.plan. The
# same four renditions of the 1920x1080 30 fps bench clip with the same operations (blurred
# pad computed at 1/8 size, subtitles burned with libass and the bundled font, Reels-safe
# margins) and the same encoder and muxer settings; sound normalised the way one command
# can: one-pass loudnorm. No probe, no loudness measurement, no verification, no thumbnails.
REFERENCE_GRAPH = (
    "[0:v]split=4[l][m][v][s];"
    "[l]scale=1920:1080,format=yuv420p[lo];"
    "[m]scale=1280:720,subtitles=filename={srt}:fontsdir={fonts}:force_style='{style}',"
    "format=yuv420p[mo];"
    "[v]split[vb][vf];"
    "[vb]crop=608:1080,scale=136:240,boxblur=17:2,scale=1080:1920,setsar=1[vbg];"
    "[vf]scale=1080:608[vfg];"
    "[vbg][vfg]overlay=0:656,subtitles=filename={srt}:fontsdir={fonts}:force_style='{tall}',"
    "format=yuv420p[vo];"
    "[s]split[sb][sf];"
    "[sb]crop=1080:1080,scale=136:136,boxblur=17:2,scale=1080:1080,setsar=1[sbg];"
    "[sf]scale=1080:608[sfg];"
    "[sbg][sfg]overlay=0:236,subtitles=filename={srt}:fontsdir={fonts}:force_style='{style}',"
    "format=yuv420p[so];"
    "[0:a]{audio},asplit=4[a0][a1][a2][a3]"
)
STYLE = "FontName=DejaVu Sans,FontSize=14,BorderStyle=3,MarginV=20"
TALL = "FontName=DejaVu Sans,FontSize=9,BorderStyle=3,MarginV=70,MarginR=46,MarginL=17"
LOUDNORM = "loudnorm=I=-14:TP=-1:LRA=11,aresample=48000"
# Variant "hand_volume": the reference with the cheapest possible sound step instead, the
# plain gain prepare() applies to this clip (read from its log): a lower bound for any
# one-command normalisation.
VOLUME = "aresample=48000,volume=13.6dB"
REFERENCE_OUTPUTS = """
-map [lo] -map [a0] -c:v libx264 -preset veryfast -crf 23 -maxrate 8000k -bufsize 16000k
  -profile:v high -pix_fmt yuv420p -g 60 -c:a aac -aac_coder fast -b:a 128k -ar 48000 -ac 2
  -movflags +faststart+negative_cts_offsets -use_editlist 0 {out}/landscape.mp4
-map [mo] -map [a1] -c:v libx264 -preset veryfast -crf 23 -maxrate 3000k -bufsize 6000k
  -profile:v high -pix_fmt yuv420p -g 60 -c:a aac -aac_coder fast -b:a 128k -ar 48000 -ac 2
  -movflags +faststart+negative_cts_offsets -use_editlist 0 {out}/landscape-burned.mp4
-map [vo] -map [a2] -c:v libx264 -preset veryfast -crf 23 -maxrate 8000k -bufsize 16000k
  -profile:v high -pix_fmt yuv420p -g 60 -c:a aac -aac_coder fast -b:a 128k -ar 48000 -ac 2
  -movflags +faststart+negative_cts_offsets -use_editlist 0 {out}/vertical-burned.mp4
-map [so] -map [a3] -c:v libx264 -preset veryfast -crf 23 -maxrate 6000k -bufsize 12000k
  -profile:v high -pix_fmt yuv420p -g 60 -c:a aac -aac_coder fast -b:a 128k -ar 48000 -ac 2
  -movflags +faststart+negative_cts_offsets -use_editlist 0 {out}/square-burned.mp4
"""


def reference_argv(clip: Path, srt: Path, out: Path, audio: str = LOUDNORM) -> list[str]:
    """The hand-written command as an argv list (paths filled in, nothing else)."""
    graph = REFERENCE_GRAPH.format(srt=srt, fonts=FONTS_DIR, style=STYLE, tall=TALL,
                                   audio=audio)
    return [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-i", str(clip),
            "-filter_complex", graph, *REFERENCE_OUTPUTS.format(out=out).split()]


def hand_written(clip: Path, srt: Path, out: Path, audio: str = LOUDNORM) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(reference_argv(clip, srt, out, audio), check=True)


def naive_moviepy(clip: Path, srt: Path, profs: list, out: Path) -> None:
    """What one would write without the pipeline: per rendition, decode the clip with moviepy,
    composite a blurred background, the fitted picture and subtitle TextClips, and encode
    with the same x264 settings (no loudness, no verification)."""
    import numpy as np
    from moviepy import CompositeVideoClip, TextClip, VideoFileClip
    from PIL import Image, ImageFilter

    from episodes.subtitles import load_subtitles
    from workers.media.cards import FONT_REGULAR

    def blur(frame: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(frame).filter(ImageFilter.GaussianBlur(24)))

    for i, p in enumerate(profs):
        with VideoFileClip(str(clip)) as source:
            w, h = source.size
            track = load_subtitles(srt, duration=source.duration)
            if abs(w / h - p.aspect) <= 0.01:
                layers = [source.resized((p.width, p.height))]
            else:
                cover = max(p.width / w, p.height / h)
                fit = min(p.width / w, p.height / h)
                layers = [source.resized(cover).image_transform(blur).with_position("center"),
                          source.resized(fit).with_position("center")]
            if p.burned:
                y = round(p.height * (1 - p.subtitle_safe_bottom)) - 120
                layers += [
                    TextClip(font=str(FONT_REGULAR), text=cue.text, font_size=40, color="white",
                             bg_color="black", margin=(10, 6))
                    .with_start(cue.start).with_duration(cue.end - cue.start)
                    .with_position(("center", y))
                    for cue in track.cues
                ]
            CompositeVideoClip(layers, size=(p.width, p.height)).write_videofile(
                str(out / f"mp{i}.mp4"), fps=p.fps, codec="libx264", preset=p.preset,
                audio_codec="aac", logger=None, ffmpeg_params=["-crf", str(p.crf)],
            )


def peak_memory(clip: Path, srt: Path, profs: list, out: Path) -> dict[str, float]:
    """Sample the RSS of this process plus all its children every 20 ms during prepare()."""
    me = psutil.Process()
    peak = {"tree_mb": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            peak["tree_mb"] = max(peak["tree_mb"], total / 2**20)
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        run_pipeline(clip, srt, profs, out)
    finally:
        stop.set()
        thread.join()
    peak["python_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak["largest_child_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {k: round(v, 1) for k, v in peak.items()}


def vmaf(clip: Path, profs: list, out: Path, subsample: int) -> list[dict]:
    """VMAF of each rendition against the source fitted the same way (no subtitles, no cards)."""
    prepare(clip, None, profs, out, title="Q", fit=FIT, branding=False)
    info = probe(clip)
    rows = []
    for p in profs:
        rendition = next(out.glob(f"{p.name}-*.mp4"))
        fitted = ";".join(fit_filters(info.width, info.height, p, FIT, "refin", "reffit"))
        graph = (f"[1:v]fps=30[refin];{fitted};[reffit]format=yuv420p[ref];"
                 f"[0:v]format=yuv420p[dist];[dist][ref]libvmaf=n_threads=2:n_subsample={subsample}")
        done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(rendition), "-i", str(clip),
                               "-filter_complex", graph, "-f", "null", "-"],
                              capture_output=True, text=True, check=True)
        score = float(done.stderr.rsplit("VMAF score:", 1)[1].split()[0])
        size = rendition.stat().st_size
        kbps = size * 8 / 1000 / probe(rendition).duration
        rows.append({"profile": p.name, "preset": p.preset, "crf": p.crf,
                     "maxrate_kbps": p.maxrate_kbps, "vmaf": round(score, 2),
                     "kbps": round(kbps), "bytes": size})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*",
                        default=["speed", "moviepy", "memory", "quality", "demo"])
    parser.add_argument("--seconds", type=int, default=25)
    parser.add_argument("--crf", type=int, nargs="*", default=[None])
    parser.add_argument("--preset", default=None)
    parser.add_argument("--subsample", type=int, default=3, help="libvmaf n_subsample")
    parser.add_argument("--rounds", type=int, default=5,
                        help="speed: interleaved rounds (each runs every arm once)")
    parser.add_argument("--arms", nargs="*", default=["pipeline", "hand"],
                        choices=["pipeline", "hand", "hand_volume"])
    parser.add_argument("--profiles", nargs="*", default=list(NAMES))
    opts = parser.parse_args()
    clip, srt = make_clip(opts.seconds)
    results: dict = {"clip": str(clip.name), "seconds": opts.seconds, "cores": psutil.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        profs = profiles(opts.preset, None, opts.profiles)
        if "speed" in opts.only:
            results["speed"] = speed(clip, srt, profs, work, opts.rounds, opts.arms)
        if "moviepy" in opts.only:
            pw, pc = measured(run_pipeline, clip, srt, profs, work / "mp-pipeline")
            mw, mc = measured(naive_moviepy, clip, srt, profs, work)
            results["moviepy"] = {"pipeline": [round(pw, 2), round(pc, 2)],
                                  "moviepy": [round(mw, 2), round(mc, 2)],
                                  "wall_speedup": round(mw / pw, 2),
                                  "cpu_speedup": round(mc / pc, 2)}
            print(f"moviepy / pipeline (goal >=4): wall {mw / pw:.2f}x, CPU {mc / pc:.2f}x")
        if "demo" in opts.only:
            # One episode as the demo runs it: real profiles, 3 renditions, fresh output dir.
            demo = {}
            for branding in (False, True):
                wall, _ = measured(lambda b=branding: prepare(
                    clip, srt, profs, work / f"demo{b}", title="Folge 3: Matzlow", fit=FIT,
                    branding=b))
                demo[f"branding_{branding}".lower()] = round(wall, 2)
            results["demo"] = demo
            print(f"\none {opts.seconds} s episode, 3 renditions (s):", demo)
        if "memory" in opts.only:
            results["memory"] = peak_memory(clip, srt, profs, work / "mem")
            print("\npeak memory (MB):", results["memory"])
        if "quality" in opts.only:
            rows = []
            for crf in opts.crf:
                rows += vmaf(clip, profiles(opts.preset, crf, opts.profiles), work / f"q{crf}",
                             opts.subsample)
            results["quality"] = rows
            print(f"\n{'profile':<18}{'preset':<10}{'crf':>4}{'maxrate':>9}{'VMAF':>8}{'kbps':>8}")
            for r in rows:
                print(f"{r['profile']:<18}{r['preset']:<10}{r['crf']:>4}{r['maxrate_kbps']:>9}"
                      f"{r['vmaf']:>8.2f}{r['kbps']:>8}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"media_bench-{stamp}.json"
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()

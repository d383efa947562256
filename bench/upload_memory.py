"""Peak memory of a process uploading a large file through the YouTube adapter (not a test).

    .venv/bin/python bench/upload_memory.py                      # 2 GiB, sparse file
    .venv/bin/python bench/upload_memory.py --size-mb 512 --random --chunk-mb 16

Three processes: this driver, the YouTube sandbox (``python -m sandbox serve youtube``) and the
uploader (this file with ``--uploader``), which runs upload -> poll -> publish. The driver samples
the uploader's resident memory from ``/proc/<pid>/status`` every 20 ms (and the uploader reports
its own ``ru_maxrss``), checks that the sandbox holds exactly one public video whose sha256 is the
file's, prints a table and writes JSON to ``bench/results/``. The file is deleted afterwards.
Goal: < 150 MB peak RSS for the uploader, whatever the file size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOAL_MB = 150.0
MB = 1024 * 1024


def _status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class Sampler(threading.Thread):
    """Highest VmRSS / VmHWM seen for a process, sampled until it exits."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss_kb = self.hwm_kb = self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            rss = _status_kb(self.pid, "VmRSS")
            if rss is None:
                return
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.hwm_kb = max(self.hwm_kb, _status_kb(self.pid, "VmHWM") or 0)
            self.samples += 1
            self.done.wait(self.interval)


def make_file(path: Path, size: int, random_bytes: bool) -> str:
    """Create the test file (sparse unless ``random_bytes``) and return its sha256."""
    digest = hashlib.sha256()
    if random_bytes:
        with path.open("wb") as fh:
            left = size
            while left:
                block = os.urandom(min(left, 4 * MB))
                fh.write(block)
                digest.update(block)
                left -= len(block)
        return digest.hexdigest()
    with path.open("wb") as fh:
        fh.truncate(size)
    with path.open("rb") as fh:
        while block := fh.read(4 * MB):
            digest.update(block)
    return digest.hexdigest()


def uploader(spec_path: str) -> None:
    """Child: upload, poll, publish; print one JSON line with timings and ru_maxrss."""
    from config.credentials import InMemoryCredentials
    from episodes.captions import PostText
    from workers.platforms.base import Account, MediaFile, PostContext, ProcessingState
    from workers.platforms.youtube import YouTube

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    account = Account(**spec["account"])
    yt = YouTube(account, InMemoryCredentials(spec["secrets"]))
    remote: dict[str, Any] = {}
    video = MediaFile(path=Path(spec["file"]), size=spec["size"], sha256=spec["sha256"])
    text = PostText(body="Benchmark-Upload", title="wtg Benchmark", hashtags=())

    def ctx() -> PostContext:
        return PostContext(post_id=1, episode_number=0, account=account,
                           credentials=yt.credentials, video=video, text=text,
                           marker="wtg-bench", idempotency_key="wtg-bench", remote=dict(remote),
                           record=remote.update)

    started = time.monotonic()
    yt.upload(ctx())
    uploaded = time.monotonic()
    for _ in range(50):
        if yt.poll(ctx()).state is not ProcessingState.PENDING:
            break
    result = yt.publish(ctx())
    print(json.dumps({"upload_s": uploaded - started, "total_s": time.monotonic() - started,
                      "video_id": result.remote_id,
                      "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--chunk-mb", type=int, default=8, help="adapter chunk_size in MiB")
    parser.add_argument("--random", action="store_true", help="random bytes instead of sparse")
    parser.add_argument("--uploader", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.uploader:
        uploader(args.uploader)
        return 0

    size = args.size_mb * MB
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([py, "-m", "sandbox", "serve", "youtube", "--port", "0"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    tmp = Path(tempfile.mkdtemp(prefix="wtg-bench-"))
    try:
        server.stdout.readline()  # type: ignore[union-attr]  # SANDBOX_URL ...
        served = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        server_sampler = Sampler(server.pid)
        server_sampler.start()
        t0 = time.monotonic()
        path = tmp / "episode.mp4"
        sha = make_file(path, size, args.random)
        create_s = time.monotonic() - t0
        served["account"]["options"]["chunk_size"] = args.chunk_mb * MB
        spec = tmp / "spec.json"
        spec.write_text(json.dumps({**served, "file": str(path), "size": size, "sha256": sha}),
                        encoding="utf-8")
        child = subprocess.Popen([py, __file__, "--uploader", str(spec)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, text=True)
        sampler = Sampler(child.pid)
        sampler.start()
        out, _ = child.communicate(timeout=3600)
        sampler.done.set()
        if child.returncode != 0:
            print(f"uploader failed with exit code {child.returncode}", file=sys.stderr)
            return 1
        report = json.loads(out.strip().splitlines()[-1])
        base = served["account"]["api_base"].split("/youtube/v3")[0]
        state = json.loads(_get(base + "/__sandbox/state"))
        server_sampler.done.set()
        posts = state["published"]
        correct = len(posts) == 1 and posts[0]["sha256"] == sha and posts[0]["size"] == size
    finally:
        server.terminate()
        server.wait(10)
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()

    peak_mb = max(sampler.peak_rss_kb, sampler.hwm_kb, report["ru_maxrss_kb"]) / 1024
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "size_bytes": size,
        "file": "random" if args.random else "sparse", "chunk_bytes": args.chunk_mb * MB,
        "create_s": round(create_s, 2), "upload_s": round(report["upload_s"], 2),
        "total_s": round(report["total_s"], 2),
        "throughput_mb_s": round(size / MB / report["upload_s"], 1),
        "uploader_peak_rss_mb": round(peak_mb, 1),
        "uploader_samples": sampler.samples,
        "sandbox_peak_rss_mb": round(max(server_sampler.peak_rss_kb,
                                         server_sampler.hwm_kb) / 1024, 1),
        "one_public_video_with_same_sha256": correct, "goal_mb": GOAL_MB,
        "python": sys.version.split()[0],
    }
    rows = [("file", f"{args.size_mb} MiB {result['file']}"),
            ("chunk size", f"{args.chunk_mb} MiB"),
            ("upload time", f"{result['upload_s']} s ({result['throughput_mb_s']} MiB/s)"),
            ("uploader peak RSS", f"{result['uploader_peak_rss_mb']} MB (goal < {GOAL_MB:.0f})"),
            ("sandbox peak RSS", f"{result['sandbox_peak_rss_mb']} MB"),
            ("one public video, same sha256", str(correct))]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out_dir / f"upload_memory-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if correct and peak_mb < GOAL_MB else 2


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as resp:  # local sandbox only
        return resp.read().decode()


if __name__ == "__main__":
    sys.exit(main())

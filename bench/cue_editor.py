"""Benchmark: the subtitle cue editor page on a long but legal track.

A track at the queue-time limit (``episodes.subtitle_check.MAX_CUES`` cues on a video long
enough to allow them) is opened in the cue editor over real HTTP (uvicorn on 127.0.0.1, logged
in as an editor, Jinja rendering included). Goal: page 1 under 200 KB and under 500 ms at the
95th percentile on the 2-core development machine. SQLite in a temp directory.

    .venv/bin/python bench/cue_editor.py [--cues 3000] [--requests 20]

Prints bytes and p50/p95 and writes JSON to ``bench/results/cue_editor-<UTC time>.json``;
exits 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import uvicorn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import settings_from_dict  # noqa: E402
from dashboard import create_app  # noqa: E402
from episodes.db import Database  # noqa: E402
from episodes.models import Episode, Series  # noqa: E402
from episodes.subtitle_check import MAX_CUES  # noqa: E402
from episodes.subtitles import stamp  # noqa: E402
from episodes.users import create_user  # noqa: E402
from workers.broker import free_port  # noqa: E402

GOAL_BYTES = 200_000
GOAL_MS = 500.0
PASSWORD = "bench-passwort-123"


def seed(db: Database, srt: Path, cues: int) -> int:
    srt.write_text("".join(
        f"{i + 1}\n{stamp(i)} --> {stamp(i + 0.9)}\nSatz {i + 1}: Wir tun GUTes in Lübz, "
        "gemeinsam im Dorf.\n\n" for i in range(cues)), encoding="utf-8")
    with db.session() as s:
        series = Series(slug="bench", name="Bench", weekday=3, time_of_day="17:00",
                        first_date=date(2026, 11, 5), last_date=date(2027, 1, 28))
        episode = Episode(number=1, title="Lange Folge", place="Lübz", description="",
                          hashtags=[], subtitle_path=str(srt), probe={"duration": float(cues)})
        series.episodes.append(episode)
        s.add(series)
        create_user(s, "bench", PASSWORD, role="editor", actor="bench")
        s.flush()
        return episode.id


def measure(app: object, episode_id: int, n: int) -> dict[str, float]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            page = client.get("/login").text
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            client.post("/login", data={"username": "bench", "password": PASSWORD,
                                        "csrf": csrf, "next": "/"})
            client.get(f"/episodes/{episode_id}/cues").raise_for_status()  # warm up
            samples, size = [], 0
            for _ in range(n):
                started = time.perf_counter()
                resp = client.get(f"/episodes/{episode_id}/cues")
                samples.append((time.perf_counter() - started) * 1000)
                resp.raise_for_status()
                size = len(resp.content)
    finally:
        server.should_exit = True
        thread.join(15)
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": n, "bytes": size, "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(p95, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cues", type=int, default=MAX_CUES)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'wtg.db'}"
        db = Database(url)
        db.migrate()
        episode_id = seed(db, Path(tmp) / "lang.srt", args.cues)
        settings = settings_from_dict({
            "database_url": url, "broker_url": "redis://127.0.0.1:6379/15",
            "media_root": str(Path(tmp) / "media"),
            "dashboard": {"secret_key": "bench-" + "k" * 40, "secure_cookies": False},
        })
        app = create_app(settings, db=db)
        try:
            page = measure(app, episode_id, args.requests)
        finally:
            app.state.wtg.celery.close()
            db.dispose()
    ok = page["bytes"] < GOAL_BYTES and page["p95_ms"] < GOAL_MS
    result = {"benchmark": "cue_editor", "at": datetime.now(UTC).isoformat(timespec="seconds"),
              "cues": args.cues, "page": page, "goal_bytes": GOAL_BYTES, "goal_p95_ms": GOAL_MS,
              "ok": ok, "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"cue_editor-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"cue editor, {args.cues} cues: {page['bytes']} bytes, p50={page['p50_ms']:.1f} ms, "
          f"p95={page['p95_ms']:.1f} ms  goal < {GOAL_BYTES} B and p95 < {GOAL_MS:.0f} ms: "
          f"{'erreicht' if ok else 'VERFEHLT'}  ({path})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

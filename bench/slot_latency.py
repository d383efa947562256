"""Slot-to-upload latency over a compressed season, through real processes.

Runs ``wtg scheduler`` and one ``wtg worker`` (publish queue) against two Mastodon protocol
servers and an embedded Redis-protocol broker, with a week compressed to ``--week`` real
seconds, and measures for every post (slot converted to real time with the scheduler's clock):

    queued  = Post.queued_at         - slot      (the scheduler's part)
    upload  = Post.upload_started_at - slot      (plus the broker and a worker picking it up)

Prints a table with median and worst, writes JSON to ``bench/results/slot_latency.json``.

    .venv/bin/python -m bench.slot_latency [--episodes 8] [--week 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from episodes.models import Post  # noqa: E402
from sandbox import sandboxes  # noqa: E402
from tests.harness import Stack  # noqa: E402
from tests.integration.season_kit import account_settings  # noqa: E402
from tests.scheduler.procs import (  # noqa: E402
    all_published,
    clock,
    compressed,
    load_ready_season,
    published_once,
)


def run(episodes: int, week: float) -> dict[str, object]:
    cls = sandboxes()["mastodon"]
    with cls() as a, cls() as b, tempfile.TemporaryDirectory() as tmp:
        entries, env = [], {}
        for name, sb in (("mastodon-a", a), ("mastodon-b", b)):
            entry, secrets = account_settings(sb, name)
            entries.append(entry)
            env.update(secrets)
        stack = Stack(Path(tmp) / "stack", broker_url=None, accounts=entries, env=env,
                      extra=compressed(week_seconds=week, lead_seconds=3.0, log_level="WARNING"))
        try:
            load_ready_season(stack, Path(tmp) / "season", ["mastodon-a", "mastodon-b"],
                              episodes)
            stack.start_worker(queues="publish", concurrency=2)
            started = time.monotonic()
            stack.spawn("scheduler", name="scheduler")
            stack.wait_for(lambda: all_published(stack, 2 * episodes),
                           timeout=episodes * week + 60, message="season published")
            wall = time.monotonic() - started
            published_once((a, b), episodes)
            clk = clock(stack)
            rows = []
            with stack.db.session() as s:
                for p in s.query(Post).order_by(Post.slot_at, Post.id):
                    slot = clk.to_real(p.slot_at)
                    rows.append({
                        "episode": p.episode.number, "account": p.account.name,
                        "queued_s": (p.queued_at - slot).total_seconds(),
                        "upload_s": (p.upload_started_at - slot).total_seconds(),
                        "published_s": (p.published_at - slot).total_seconds(),
                    })
        finally:
            stack.stop()
    summary = {k: {"median": statistics.median(r[k] for r in rows),
                   "worst": max(r[k] for r in rows)}
               for k in ("queued_s", "upload_s", "published_s")}
    return {"when": datetime.now(UTC).isoformat(), "episodes": episodes, "accounts": 2,
            "week_seconds": week, "wall_seconds": round(wall, 1), "posts": rows,
            "summary": summary}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=8)
    ap.add_argument("--week", type=float, default=3.0, help="real seconds per week")
    args = ap.parse_args()
    result = run(args.episodes, args.week)
    print(f"{'Folge':>5} {'Konto':12} {'queued s':>9} {'upload s':>9} {'published s':>12}")
    for r in result["posts"]:  # type: ignore[union-attr]
        print(f"{r['episode']:>5} {r['account']:12} {r['queued_s']:9.3f} {r['upload_s']:9.3f} "
              f"{r['published_s']:12.3f}")
    for k, v in result["summary"].items():  # type: ignore[union-attr]
        print(f"{k:12} median {v['median']:.3f} s   worst {v['worst']:.3f} s")
    out = REPO / "bench" / "results" / "slot_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"JSON: {out}  (season wall time {result['wall_seconds']} s)")


if __name__ == "__main__":
    main()

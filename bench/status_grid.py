"""Benchmark: the status grid and the calendar with 40 series x 11 episodes x 6 accounts in
PostgreSQL.

Goal: each answers in under 100 ms at the 95th percentile. Measured: the grid query alone
(``episodes.store.status_grid``), the grid page, the calendar's month view (a month with three to
five episodes of the series, each with its six account states) and its week view over real HTTP
(uvicorn on 127.0.0.1, logged in, Jinja rendering included). A scratch database is created on
the server and dropped after.

    .venv/bin/python bench/status_grid.py [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                          [--requests 300]

Prints p50/p95/max and writes JSON to ``bench/results/status_grid-<UTC time>.json``; exits 1 if
a p95 is over the goal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import settings_from_dict  # noqa: E402
from dashboard import create_app  # noqa: E402
from episodes import store  # noqa: E402
from episodes.db import Database  # noqa: E402
from episodes.models import Episode, Series  # noqa: E402
from episodes.users import create_user  # noqa: E402
from workers.broker import free_port  # noqa: E402

GOAL_MS = 100.0
SERIES, EPISODES = 40, 11
ACCOUNTS = [
    {"name": "facebook-lup", "platform": "facebook"},
    {"name": "instagram-lup", "platform": "instagram"},
    {"name": "youtube-lup", "platform": "youtube"},
    {"name": "mastodon-lup", "platform": "mastodon"},
    {"name": "tiktok-lup", "platform": "tiktok"},
    {"name": "mastodon-kultur", "platform": "mastodon"},
]
STATES = ["pending", "ready", "queued", "uploading", "published", "failed", "scheduled"]


def seed(db: Database, settings: object) -> list[str]:
    rng = random.Random(7)
    slugs = []
    with db.session() as s:
        accounts = store.sync_accounts(s, settings.accounts)  # type: ignore[attr-defined]
        for n in range(SERIES):
            first = date(2026, 11, 6) + timedelta(days=n)
            series = Series(slug=f"serie-{n:02d}", name=f"Serie {n}", weekday=first.weekday(),
                            time_of_day="17:00", first_date=first,
                            last_date=first + timedelta(weeks=12), hashtags=["WirTunGUTes"],
                            accounts=[a["name"] for a in ACCOUNTS])
            for e in range(EPISODES):
                series.episodes.append(Episode(
                    number=e, title=f"Folge {e} der Serie {n}", place="Hagenow",
                    description="Text " * 40, hashtags=["Ehrenamt"],
                    slot_at=datetime(2026, 11, 6, 16, tzinfo=UTC) + timedelta(days=n, weeks=e),
                ))
            s.add(series)
            s.flush()
            store.ensure_posts(s, series, accounts)
            for ep in series.episodes:
                for post in ep.posts:
                    post.state = rng.choice(STATES)
                    if post.state == "published":
                        post.public_url = f"https://example.org/p/{ep.id}/{post.account_id}"
                    if post.state == "failed":
                        post.last_error = {"code": "x", "message_de": "Abgelehnt: zu lang."}
            slugs.append(series.slug)
        create_user(s, "bench", "bench-passwort-123", role="viewer", actor="bench")
    return slugs


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(p95, 2), "max_ms": round(ordered[-1], 2)}


def bench_query(db: Database, slugs: list[str], n: int) -> dict[str, float]:
    with db.session() as s:
        ids = [store.get_series(s, slug).id for slug in slugs]  # type: ignore[union-attr]
    samples = []
    for i in range(n):
        started = time.perf_counter()
        with db.session() as s:
            rows = store.status_grid(s, ids[i % len(ids)])
        samples.append((time.perf_counter() - started) * 1000)
        assert len(rows) == EPISODES and all(len(r.cells) == len(ACCOUNTS) for r in rows)
    return percentiles(samples)


PAGES = {  # label: (path, query of a series, what every answer must contain)
    "grid page over HTTP": ("/", {}, ("data-post=", EPISODES * len(ACCOUNTS))),
    "calendar month view": ("/calendar", {"at": "2026-12-01"}, ("data-episode=", 3)),
    "calendar week view": ("/calendar", {"at": "2026-12-17", "view": "week"},
                           ("data-episode=", 1)),
}


def bench_http(app: object, slugs: list[str], n: int) -> dict[str, dict[str, float]]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            page = client.get("/login").text
            csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            client.post("/login", data={"username": "bench", "password": "bench-passwort-123",
                                        "csrf": csrf, "next": "/"})
            out = {}
            for label, (path, query, (marker, least)) in PAGES.items():
                for slug in slugs[:5]:  # warm up
                    client.get(path, params={"series": slug, **query}).raise_for_status()
                samples = []
                for i in range(n):
                    started = time.perf_counter()
                    resp = client.get(path, params={"series": slugs[i % len(slugs)], **query})
                    samples.append((time.perf_counter() - started) * 1000)
                    resp.raise_for_status()
                    assert resp.text.count(marker) >= least, (label, resp.text[-500:])
                out[label] = percentiles(samples)
    finally:
        server.should_exit = True
        thread.join(15)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    name = f"wtg_bench_grid_{os.getpid()}"
    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    try:
        db.migrate()
        settings = settings_from_dict({
            "database_url": url, "broker_url": "redis://127.0.0.1:6379/15",
            "accounts": [{**a, "api_base": "http://127.0.0.1:9"} for a in ACCOUNTS],
            "dashboard": {"secret_key": "bench-" + "k" * 40, "secure_cookies": False},
        })
        t0 = time.perf_counter()
        slugs = seed(db, settings)
        seeded_s = time.perf_counter() - t0
        query = bench_query(db, slugs, args.requests)
        app = create_app(settings, db=db)
        pages = bench_http(app, slugs, args.requests)
        app.state.wtg.celery.close()
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    result = {
        "benchmark": "status_grid", "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "shape": {"series": SERIES, "episodes": EPISODES, "accounts": len(ACCOUNTS),
                  "posts": SERIES * EPISODES * len(ACCOUNTS)},
        "database": "postgresql", "goal_p95_ms": GOAL_MS, "seed_seconds": round(seeded_s, 2),
        "query": query, "http_page": pages["grid page over HTTP"], "http": pages,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    ok = query["p95_ms"] < GOAL_MS and all(p["p95_ms"] < GOAL_MS for p in pages.values())
    result["ok"] = ok
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"status_grid-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    for label, r in (("status_grid query", query), *pages.items()):
        print(f"{label:22s} n={r['n']}  p50={r['p50_ms']:.1f} ms  p95={r['p95_ms']:.1f} ms  "
              f"max={r['max_ms']:.1f} ms")
    print(f"goal p95 < {GOAL_MS:.0f} ms: {'erreicht' if ok else 'VERFEHLT'}  ({path})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

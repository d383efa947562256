"""Fixtures for the dashboard: a migrated SQLite database with one season, four staff users,
the app served by a real uvicorn on a free port of 127.0.0.1, and HTTP clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from config import Settings, settings_from_dict
from dashboard import create_app
from episodes import store
from episodes.db import Database
from episodes.models import Episode, Series
from episodes.users import create_user, issue_token
from workers.broker import free_port

PASSWORD = "richtig-langes-passwort"
SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
USERS = {"vera": "viewer", "erika": "editor", "anton": "approver", "ada": "admin"}
ACCOUNTS = [
    {"name": "mastodon-lup", "platform": "mastodon", "api_base": "http://127.0.0.1:9"},
    {"name": "youtube-lup", "platform": "youtube", "api_base": "http://127.0.0.1:9"},
]


@pytest.fixture
def dash_settings(tmp_path: Path, redis_url: str) -> Settings:
    return settings_from_dict({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "broker_url": redis_url,
        "var_dir": str(tmp_path / "var"),
        "media_root": str(tmp_path / "var" / "media"),
        "secrets_dir": str(tmp_path / "var" / "secrets"),
        "accounts": ACCOUNTS,
        "dashboard": {"secret_key": SECRET, "secure_cookies": False},
    })


def seed(db: Database, settings: Settings, *, episodes: int = 3) -> dict[str, int]:
    """One series with a trailer and episodes, a post per account, and the staff users."""
    ids: dict[str, int] = {}
    first = datetime(2026, 11, 6, 16, 0, tzinfo=UTC)  # Fridays 17:00 in Berlin
    with db.session() as s:
        accounts = store.sync_accounts(s, settings.accounts)
        series = Series(slug="wtg-2026", name="Wir tun GUTes 2026", weekday=4,
                        time_of_day="17:00", first_date=date(2026, 11, 6),
                        last_date=date(2027, 1, 29), hashtags=["WirTunGUTes"],
                        accounts=[a["name"] for a in ACCOUNTS], link="https://www.kreis-lup.de",
                        credits="Landkreis Ludwigslust-Parchim")
        s.add(series)
        for n in range(episodes):
            series.episodes.append(Episode(
                number=n, title=f"Titel {n}", place="Hagenow",
                description=f"Beschreibung der Folge {n}.", hashtags=["Ehrenamt"],
                slot_at=first + timedelta(weeks=n),
            ))
        s.flush()
        store.ensure_posts(s, series, accounts)
        ids["series"] = series.id
        for ep in series.episodes:
            ids[f"ep{ep.number}"] = ep.id
            for p in ep.posts:
                ids[f"post{ep.number}-{p.account.platform}"] = p.id
        for name, role in USERS.items():
            ids[name] = create_user(s, name, PASSWORD, role=role, actor="test").id
    return ids


@dataclass
class Live:
    url: str
    db: Database
    settings: Settings
    ids: dict[str, int]
    tokens: dict[str, str]

    def client(self, user: str | None = None) -> httpx.Client:
        """An HTTP client, logged in through the real login form when ``user`` is given."""
        client = httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)
        if user:
            login(client, user)
        return client

    def api(self, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.tokens[user]}"})


def csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def login(client: httpx.Client, user: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    return client.post("/login", data={"username": user, "password": password,
                                       "csrf": csrf_of(page.text), "next": "/"})


class Server:
    """uvicorn in a thread on a free port of 127.0.0.1; ``stop`` ends it."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def live(dash_settings: Settings) -> Iterator[Live]:
    """The dashboard on real HTTP with a seeded database; API tokens for every user."""
    db = Database(dash_settings.database_url)
    db.migrate()
    ids = seed(db, dash_settings)
    tokens = {}
    with db.session() as s:
        from episodes.users import get_user

        for name in USERS:
            tokens[name] = issue_token(s, get_user(s, name), actor="test")
    app = create_app(dash_settings, db=db)
    server = Server(app)
    yield Live(url=server.url, db=db, settings=dash_settings, ids=ids, tokens=tokens)
    server.stop()
    app.state.wtg.celery.close()
    db.dispose()

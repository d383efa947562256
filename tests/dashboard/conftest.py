"""Fixtures for the dashboard: a migrated SQLite database with one season, four staff users,
the app served by a real uvicorn on a free port of 127.0.0.1, and HTTP clients."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
import uvicorn
from imageio_ffmpeg import get_ffmpeg_exe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from config import Settings, settings_from_dict
from dashboard import create_app
from episodes import store
from episodes.db import Database
from episodes.models import Episode, Series
from episodes.users import create_user, get_user, issue_token
from workers.broker import EmbeddedBroker, free_port

PASSWORD = "richtig-langes-passwort"
SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
NOTIFY_URL = "mailtos://wtg:mail-geheimnis-42@mail.example.org"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
USERS = {"vera": "viewer", "erika": "editor", "anton": "approver", "ada": "admin"}
ACCOUNTS = [
    {"name": "mastodon-lup", "platform": "mastodon", "api_base": "http://127.0.0.1:9"},
    {"name": "youtube-lup", "platform": "youtube", "api_base": "http://127.0.0.1:9"},
]


@pytest.fixture(scope="session")
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis-protocol server of our own: the machine's Redis is shared with other test runs,
    and these tests count the messages on the media and publish queues."""
    broker = EmbeddedBroker(tmp_path_factory.mktemp("broker"), free_port(), appendonly=False)
    url = broker.start()
    yield url.rsplit("/", 1)[0]
    broker.stop()


@pytest.fixture
def redis_url(private_broker: str) -> str:
    """A flushed database of the private broker (overrides the shared one for these tests)."""
    url = f"{private_broker}/1"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def dash_settings(tmp_path: Path, redis_url: str) -> Settings:
    return settings_from_dict({
        "database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
        "broker_url": redis_url,
        "var_dir": str(tmp_path / "var"),
        "media_root": str(tmp_path / "var" / "media"),
        "secrets_dir": str(tmp_path / "var" / "secrets"),
        "accounts": ACCOUNTS,
        "notify_urls": NOTIFY_URL,
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

    @contextmanager
    def client(self, user: str | None = None) -> Iterator[httpx.Client]:
        """An HTTP client, logged in through the real login form when ``user`` is given."""
        with httpx.Client(base_url=self.url, timeout=30, follow_redirects=False) as client:
            if user:
                assert login(client, user).status_code == 303
            yield client

    @contextmanager
    def api(self, user: str) -> Iterator[httpx.Client]:
        """An HTTP client sending ``user``'s API token."""
        with httpx.Client(base_url=self.url, timeout=30,
                          headers={"Authorization": f"Bearer {self.tokens[user]}"}) as client:
            yield client


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


@dataclass(frozen=True)
class Template:
    path: Path
    ids: dict[str, int]
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """A migrated, seeded SQLite file made once (argon2 hashing is slow on purpose); each test
    works on its own copy."""
    path = tmp_path_factory.mktemp("template") / "wtg.db"
    settings = settings_from_dict({"database_url": f"sqlite:///{path}", "accounts": ACCOUNTS})
    db = Database(settings.database_url)
    db.migrate()
    ids = seed(db, settings)
    tokens = {}
    with db.session() as s:
        for name in USERS:
            tokens[name] = issue_token(s, get_user(s, name), actor="test")
    with db.engine.connect() as conn:  # fold the WAL into the file before copying it
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return Template(path=path, ids=ids, tokens=tokens)


@pytest.fixture
def live(dash_settings: Settings, template_db: Template) -> Iterator[Live]:
    """The dashboard on real HTTP with a seeded database; API tokens for every user."""
    target = Path(dash_settings.database_url.split("///", 1)[1])
    shutil.copyfile(template_db.path, target)
    db = Database(dash_settings.database_url)
    app = create_app(dash_settings, db=db)
    server = Server(app)
    yield Live(url=server.url, db=db, settings=dash_settings, ids=dict(template_db.ids),
               tokens=dict(template_db.tokens))
    server.stop()
    app.state.wtg.celery.close()
    db.dispose()


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-second H.264/AAC clip made with ffmpeg's lavfi sources."""
    out = tmp_path_factory.mktemp("clip") / "Folge 1 – Tafel.mp4"
    subprocess.run(
        [get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)],
        check=True, timeout=60,
    )
    return out


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (apt-get install chromium), closed after the session."""
    expect.set_options(timeout=20_000)  # a loaded 2-core machine; passing checks return at once
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def screenshot(page: Page, name: str) -> None:
    """Keep a full-page screenshot under test-artifacts/dashboard/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login_page(page: Page, base_url: str, user: str) -> None:
    """Log in through the form in the browser and land on the grid."""
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login?next=%2F")
    page.get_by_label("Benutzername").fill(user)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wir tun GUTes 2026")

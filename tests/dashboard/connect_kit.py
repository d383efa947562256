"""A dashboard whose five accounts point at the five sandboxes (their OAuth servers included),
wtg's OAuth apps set up as secret files, and a driver for the sandboxes' consent pages."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from config import Settings, settings_from_dict
from dashboard import create_app
from episodes.db import Database
from sandbox import Sandbox, sandboxes
from sandbox.oauth_platforms import META_APP

from .conftest import NOTIFY_URL, SECRET, Live, Server, Template

NAMES = {"youtube": "youtube-lup", "mastodon": "mastodon-lup", "facebook": "facebook-lup",
         "instagram": "instagram-lup", "tiktok": "tiktok-lup"}


def accounts_for(sbs: dict[str, Sandbox]) -> list[dict[str, Any]]:
    """Accounts as an installer writes them: name, platform, API base, and the consent page
    of the test server (the real platforms' are the defaults); no page ids, no tokens."""
    yt, fb, ig = sbs["youtube"], sbs["facebook"], sbs["instagram"]
    return [
        {"name": NAMES["youtube"], "platform": "youtube", "api_base": f"{yt.url}/youtube/v3",
         "options": {"token_url": f"{yt.url}/token", "upload_base": f"{yt.url}/upload/youtube/v3",
                     "authorize_url": f"{yt.url}/o/oauth2/v2/auth"}},
        {"name": NAMES["mastodon"], "platform": "mastodon", "api_base": "https://mastodon.invalid",
         "options": {"visibility": "public"}},
        {"name": NAMES["facebook"], "platform": "facebook", "api_base": f"{fb.url}/graph/v24.0",
         "options": {"web_base": fb.url, "authorize_url": f"{fb.url}/v24.0/dialog/oauth"}},
        {"name": NAMES["instagram"], "platform": "instagram",
         "api_base": f"{ig.url}/graph/v24.0",
         "options": {"rupload_base": f"{ig.url}/rupload",
                     "authorize_url": f"{ig.url}/v24.0/dialog/oauth"}},
        {"name": NAMES["tiktok"], "platform": "tiktok", "api_base": sbs["tiktok"].url,
         "options": {"authorize_url": f"{sbs['tiktok'].url}/v2/auth/authorize/"}},
    ]


def write_apps(secrets_dir: Path, sbs: dict[str, Sandbox]) -> None:
    """wtg's OAuth apps as secret files (``<secrets_dir>/_oauth/<app>/<key>``, 0600)."""
    yt, tt = sbs["youtube"], sbs["tiktok"]
    apps = {"google": {"client_id": yt.client_id, "client_secret": yt.client_secret},  # type: ignore[attr-defined]
            "meta": {"client_id": META_APP[0], "client_secret": META_APP[1]},
            "tiktok": {"client_key": tt.client[0], "client_secret": tt.client[1]}}  # type: ignore[attr-defined]
    for app, keys in apps.items():
        folder = secrets_dir / "_oauth" / app
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for key, value in keys.items():
            (folder / key).write_text(value + "\n", encoding="utf-8")
            (folder / key).chmod(0o600)


@dataclass
class World:
    live: Live
    sbs: dict[str, Sandbox]
    deps: Any  # the running dashboard's ``Wtg``

    @property
    def settings(self) -> Settings:
        return self.deps.settings  # type: ignore[no-any-return]

    @property
    def secrets_dir(self) -> Path:
        return self.settings.secrets_dir


@pytest.fixture
def world(tmp_path: Path, redis_url: str, template_db: Template) -> Iterator[World]:
    """The five sandboxes, the dashboard on real HTTP with their accounts (not connected yet)
    and the seeded staff; the sandboxes accept the dashboard's callback."""
    with ExitStack() as stack:
        sbs = {name: stack.enter_context(cls()) for name, cls in sandboxes().items()}
        settings = settings_from_dict({
            "database_url": f"sqlite:///{tmp_path / 'wtg.db'}", "broker_url": redis_url,
            "var_dir": str(tmp_path / "var"), "media_root": str(tmp_path / "var" / "media"),
            "secrets_dir": str(tmp_path / "var" / "secrets"), "accounts": accounts_for(sbs),
            "notify_urls": NOTIFY_URL,
            "dashboard": {"secret_key": SECRET, "secure_cookies": False,
                          "public_url": "http://127.0.0.1:1"},  # set below, once the port is known
        })
        shutil.copyfile(template_db.path, tmp_path / "wtg.db")
        db = Database(settings.database_url)
        write_apps(settings.secrets_dir, sbs)
        app = create_app(settings, db=db)
        server = Server(app)
        deps = app.state.wtg
        deps.settings = settings.model_copy(update={"dashboard": settings.dashboard.model_copy(
            update={"public_url": server.url})})
        for sb in sbs.values():
            sb.allow_redirect(f"{server.url}/connect/callback")  # type: ignore[attr-defined]
        live = Live(url=server.url, db=db, settings=deps.settings, ids=dict(template_db.ids),
                    tokens=dict(template_db.tokens))
        try:
            yield World(live=live, sbs=sbs, deps=deps)
        finally:
            server.stop()
            deps.celery.close()
            db.dispose()


_INPUT = re.compile(r'<input type="(hidden|checkbox)" name="([^"]+)" value="([^"]*)"')


def consent(url: str, *, grant: list[str] | None = None, decision: str = "allow") -> str:
    """Open a sandbox's consent page (as the browser would) and answer it; returns the URL the
    platform sends the browser back to. ``grant``: the scopes left ticked (default: all)."""
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        fields: list[tuple[str, str]] = []
        for kind, name, value in _INPUT.findall(page.text):
            value = unescape(value)
            if kind == "checkbox" and grant is not None and value not in grant:
                continue
            fields.append((name, value))
        fields.append(("decision", decision))
        answer = browser.post(url.split("?", 1)[0], content=urlencode(fields),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]


def scopes_on(url: str) -> list[str]:
    """The scope checkboxes a consent page offers."""
    with httpx.Client(timeout=30) as browser:
        return [unescape(v) for k, _, v in _INPUT.findall(browser.get(url).text)
                if k == "checkbox"]


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def connect(client: httpx.Client, name: str, *, grant: list[str] | None = None,
            instance: str | None = None, decision: str = "allow") -> httpx.Response:
    """The whole flow for one account, as the admin's browser does it; the callback's answer."""
    if instance is not None:
        form = client.get(f"/accounts/{name}/connect")
        start = client.post(f"/accounts/{name}/connect",
                            data={"instance": instance, "csrf": csrf(form.text)})
    else:
        start = client.get(f"/accounts/{name}/connect")
    assert start.status_code == 303, start.text
    back = consent(start.headers["location"], grant=grant, decision=decision)
    return client.get(back)


def choose(client: httpx.Client, page: httpx.Response, choice: str | None = None) -> httpx.Response:
    """Submit the choice page (the first offer unless ``choice``)."""
    action = re.search(r'action="(/connect/\d+/choose)"', page.text)
    assert action, page.text[:2000]
    offered = re.findall(r'name="choice" value="([^"]+)"', page.text)
    return client.post(action.group(1), data={"csrf": csrf(page.text),
                                              "choice": choice or offered[0]})

"""Staff notifications leave the outbox through apprise to a real (local) webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from config import settings_from_dict
from episodes import store
from episodes.db import Database
from episodes.models import Notification
from workers.notify import deliver
from workers.runtime import Runtime


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def _runtime(tmp_path: Path, urls: list[str]) -> Runtime:
    settings = settings_from_dict({"database_url": f"sqlite:///{tmp_path / 'wtg.db'}",
                                   "notify_urls": urls})
    db = Database(settings.database_url)
    db.migrate()
    return Runtime(settings=settings, db=db)


def test_failure_notification_reaches_the_webhook_once(tmp_path: Path, webhook) -> None:  # type: ignore[no-untyped-def]
    """A notification is delivered to the configured apprise URL and marked sent; delivering
    it again sends nothing."""
    url, received = webhook
    rt = _runtime(tmp_path, [url])
    with rt.db.session() as s:
        note = store.notify(s, "error", "Folge 3 auf youtube-lup: Zugang abgelaufen",
                            "Bitte das Zugangstoken erneuern.")
    assert deliver(rt, note)["sent"] is True
    assert deliver(rt, note)["sent"] is False
    assert len(received) == 1
    assert "Zugang abgelaufen" in str(received[0]["title"])
    with rt.db.session() as s:
        assert s.get(Notification, note).sent_at is not None  # type: ignore[union-attr]
    rt.db.dispose()


def test_without_notify_urls_the_notification_stays_in_the_outbox(tmp_path: Path) -> None:
    """With no URLs configured nothing is sent and the notification stays unsent for the
    dashboard and `wtg status`."""
    rt = _runtime(tmp_path, [])
    with rt.db.session() as s:
        note = store.notify(s, "warning", "Vorabprüfung nicht bestanden")
    result = deliver(rt, note)
    assert result["sent"] is False and result["reason"] == "no notify_urls"
    with rt.db.session() as s:
        assert s.get(Notification, note).sent_at is None  # type: ignore[union-attr]
    rt.db.dispose()

"""Request sizes over real HTTP (uvicorn on a port, raw sockets): who asks and how much they may
send is decided before the body is read; anonymous callers cannot make the server read (or
write) anything big, every route stops at its maximum and leaves no partial file."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from config import Settings
from dashboard import create_app
from dashboard.gate import ANONYMOUS_MAX, MULTIPART_SLACK
from episodes.db import Database

from .conftest import Live, Server, Template, csrf_of, login, login_page
from .rawhttp import BodyCounter, chunked, multipart, multipart_size, push, zeros

MB = 1024 * 1024
GB = 1024 * MB
VIDEO_MB = 2  # dashboard.max_video_mb in these tests
# bytes the kernel may hold between the two ends (both socket buffers) while the server reads
# nothing: a server that stopped reading lets the client get at most this far ahead
BUFFERS = 32 * MB
BOUNDARY = "wtg-test-boundary-7f3a"
# uvicorn hands the body over in the pieces it read from the socket (asyncio reads up to
# 256 KiB at a time): the application sees at most its limit plus one such piece
PIECE = 256 * 1024


@dataclass
class Limited(Live):
    counter: BodyCounter
    spool: Path


@pytest.fixture
def limited(dash_settings: Settings, template_db: Template, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Limited]:
    """The dashboard with ``max_video_mb`` = 2, every request's body bytes counted, and the
    process's temporary folder redirected to an empty folder we can watch."""
    settings = dash_settings.model_copy(update={"dashboard": dash_settings.dashboard.model_copy(
        update={"max_video_mb": VIDEO_MB})})
    target = Path(settings.database_url.split("///", 1)[1])
    shutil.copyfile(template_db.path, target)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    db = Database(settings.database_url)
    app = create_app(settings, db=db)
    counter = BodyCounter(app)
    server = Server(counter)
    yield Limited(url=server.url, db=db, settings=settings, ids=dict(template_db.ids),
                  tokens=dict(template_db.tokens), counter=counter, spool=spool)
    server.stop()
    app.state.wtg.celery.close()
    db.dispose()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _healthy(url: str) -> None:
    resp = httpx.get(url + "/healthz", timeout=10)
    assert resp.status_code == 200, resp.text


def _editor(live: Live) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a fresh editor session."""
    with httpx.Client(base_url=live.url, timeout=30) as client:
        assert login(client, "erika").status_code == 303
        token = csrf_of(client.get(f"/episodes/{live.ids['ep1']}").text)
        return f"wtg_session={client.cookies['wtg_session']}", token


def test_anonymous_upload_of_2_gb_is_refused_before_one_body_byte(limited: Limited) -> None:
    """Without a login, a 2 GB upload gets 401 right after its head: the server reads no body
    byte, writes nothing, and keeps answering /healthz."""
    path = f"/episodes/{limited.ids['ep1']}/source"
    size = multipart_size(BOUNDARY, {"csrf": "x"}, "gross.mp4", 2 * GB)
    got = push(limited.url, "POST", path, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(size)},
        body=multipart(BOUNDARY, {"csrf": "x"}, "gross.mp4", zeros(2 * GB)),
        give_up_after=BUFFERS + 64 * MB, head_wait=5.0)
    print(f"anonymous 2 GB upload: {got.status} after {got.seconds:.2f} s, client sent "
          f"{got.sent} body bytes, server read {limited.counter.read.get(path)}")
    assert got.status == 401, got
    assert got.sent == 0 and limited.counter.read.get(path, 0) == 0
    assert got.headers.get("connection") == "close"
    assert _files(limited.settings.media_root) == [] and _files(limited.spool) == []
    _healthy(limited.url)


def test_anonymous_login_body_is_capped_at_a_few_kb(limited: Limited) -> None:
    """POST /login with a declared 1 GB multipart body is refused with 413 before any body
    byte; sent without a length (chunked), the server stops after ANONYMOUS_MAX bytes."""
    declared = push(limited.url, "POST", "/login", headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(multipart_size(BOUNDARY, {}, "x.bin", GB))},
        body=multipart(BOUNDARY, {}, "x.bin", zeros(GB)), give_up_after=BUFFERS + 64 * MB,
        head_wait=5.0)
    print(f"anonymous 1 GB login (Content-Length): {declared.status}, client sent "
          f"{declared.sent}, server read {limited.counter.read.get('/login')}")
    assert declared.status == 413 and declared.sent == 0
    assert limited.counter.read.get("/login", 0) == 0
    limited.counter.read.clear()
    endless = push(limited.url, "POST", "/login", headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Transfer-Encoding": "chunked"},
        body=chunked(multipart(BOUNDARY, {}, "x.bin", zeros(GB))), give_up_after=BUFFERS + 64 * MB)
    read = limited.counter.read.get("/login", 0)
    print(f"anonymous 1 GB login (chunked): {endless.status}, client sent {endless.sent}, "
          f"server read {read}")
    assert endless.status == 413, endless
    assert "zu groß" in endless.text
    assert read <= ANONYMOUS_MAX + PIECE
    assert endless.sent < BUFFERS
    assert _files(limited.spool) == []
    _healthy(limited.url)


def test_video_over_the_limit_stops_at_the_limit_and_leaves_no_file(limited: Limited) -> None:
    """An editor's source clip larger than dashboard.max_video_mb: with a declared length it is
    refused before the body; streamed without one, reading stops at the limit, the partial
    file is removed, and the page says „zu groß (höchstens 2 MB)“."""
    cookie, token = _editor(limited)
    path = f"/episodes/{limited.ids['ep1']}/source"
    form = {"csrf": token}
    declared = push(limited.url, "POST", path, headers={
        "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(multipart_size(BOUNDARY, form, "gross.mp4", 2 * GB))},
        body=multipart(BOUNDARY, form, "gross.mp4", zeros(2 * GB)),
        give_up_after=BUFFERS + 64 * MB, head_wait=5.0)
    assert declared.status == 413 and declared.sent == 0, declared
    assert "2 MB" in declared.text
    limited.counter.read.clear()
    streamed = push(limited.url, "POST", path, headers={
        "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Transfer-Encoding": "chunked"},
        body=chunked(multipart(BOUNDARY, form, "gross.mp4", zeros(2 * GB))),
        give_up_after=BUFFERS + 64 * MB)
    read = limited.counter.read.get(path, 0)
    print(f"editor 2 GB video, limit {VIDEO_MB} MB (chunked): {streamed.status}, client sent "
          f"{streamed.sent}, server read {read}")
    assert streamed.status == 413, streamed
    assert "„gross.mp4“ ist zu groß (höchstens 2 MB)" in streamed.text
    assert read <= VIDEO_MB * MB + MULTIPART_SLACK + PIECE
    assert streamed.sent < read + BUFFERS
    assert _files(limited.settings.media_root) == [] and _files(limited.spool) == []
    _healthy(limited.url)


def test_subtitle_file_over_5_mb_is_not_read_whole(limited: Limited) -> None:
    """A 1 GB „subtitle“ is refused after at most 5 MB (plus the form around it) with
    „zu groß (höchstens 5 MB)“; nothing is stored."""
    cookie, token = _editor(limited)
    path = f"/episodes/{limited.ids['ep1']}/subtitles"
    got = push(limited.url, "POST", path, headers={
        "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Transfer-Encoding": "chunked"},
        body=chunked(multipart(BOUNDARY, {"csrf": token}, "riesig.srt", zeros(GB))),
        give_up_after=BUFFERS + 64 * MB)
    read = limited.counter.read.get(path, 0)
    print(f"editor 1 GB subtitles (chunked): {got.status}, client sent {got.sent}, "
          f"server read {read}")
    assert got.status == 413, got
    assert "„riesig.srt“ ist zu groß (höchstens 5 MB)" in got.text
    assert read <= 5 * MB + MULTIPART_SLACK + PIECE
    assert _files(limited.settings.media_root) == [] and _files(limited.spool) == []


def test_upload_with_a_wrong_csrf_token_is_refused_before_the_file(limited: Limited) -> None:
    """The CSRF token is the first form field and is checked before any byte of the file is
    read: a wrong token or a file before the token ends the upload with 403 at once."""
    cookie, _ = _editor(limited)
    path = f"/episodes/{limited.ids['ep1']}/source"
    for fields in ({"csrf": "falsch"}, {}):
        limited.counter.read.clear()
        got = push(limited.url, "POST", path, headers={
            "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Transfer-Encoding": "chunked"},
            body=chunked(multipart(BOUNDARY, fields, "clip.mp4", zeros(GB))),
            give_up_after=BUFFERS + 64 * MB)
        read = limited.counter.read.get(path, 0)
        assert got.status == 403, (fields, got)
        assert "CSRF" in got.text
        assert read <= PIECE, read
    assert _files(limited.settings.media_root) == []


def test_upload_is_refused_when_the_disk_would_fill(limited: Limited) -> None:
    """When less than dashboard.min_free_disk_mb would stay free, the upload is refused with
    507 and a German message before its body is read."""
    app = create_app(limited.settings.model_copy(update={"dashboard": (
        limited.settings.dashboard.model_copy(update={"min_free_disk_mb": 1 << 40}))}),
        db=limited.db)
    counter = BodyCounter(app)
    server = Server(counter)
    try:
        cookie, token = _editor(Live(url=server.url, db=limited.db, settings=limited.settings,
                                     ids=limited.ids, tokens=limited.tokens))
        path = f"/episodes/{limited.ids['ep1']}/source"
        got = push(server.url, "POST", path, headers={
            "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(multipart_size(BOUNDARY, {"csrf": token}, "c.mp4", MB))},
            body=multipart(BOUNDARY, {"csrf": token}, "c.mp4", zeros(MB)),
            give_up_after=BUFFERS, head_wait=5.0)
        assert got.status == 507, got
        assert "nicht genug Speicherplatz" in got.text
        assert got.sent == 0 and counter.read.get(path, 0) == 0
        assert _files(limited.settings.media_root) == []
    finally:
        server.stop()
        app.state.wtg.celery.close()


def test_healthz_answers_while_an_upload_is_in_flight(limited: Limited, clip: Path) -> None:
    """A slow upload (half sent, then waiting) does not hold the server: /healthz and pages
    answer meanwhile, and the finished upload is stored whole with mode 0600."""
    cookie, token = _editor(limited)
    path = f"/episodes/{limited.ids['ep1']}/source"
    content = clip.read_bytes()
    half = threading.Event()
    resume = threading.Event()

    def slow() -> Iterator[bytes]:
        yield content[: len(content) // 2]
        half.set()
        assert resume.wait(30)
        yield content[len(content) // 2:]

    result: list[object] = []
    sender = threading.Thread(target=lambda: result.append(push(
        limited.url, "POST", path, headers={
            "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(multipart_size(BOUNDARY, {"csrf": token}, clip.name,
                                                 len(content)))},
        body=multipart(BOUNDARY, {"csrf": token}, clip.name, slow()),
        give_up_after=len(content) + MB)))
    sender.start()
    assert half.wait(30)
    for _ in range(3):
        _healthy(limited.url)
    with httpx.Client(base_url=limited.url, timeout=10) as client:
        assert login(client, "vera").status_code == 303
        assert client.get("/").status_code == 200
    resume.set()
    sender.join(60)
    got = result[0]
    assert got.status == 303, got  # type: ignore[attr-defined]
    stored = [p for p in _files(limited.settings.media_root) if p.name.startswith("source-")]
    assert len(stored) == 1 and stored[0].read_bytes() == content
    assert stored[0].stat().st_mode & 0o777 == 0o600
    assert stored[0].parent.stat().st_mode & 0o777 == 0o700


def test_form_from_another_site_is_refused_before_its_body(limited: Limited) -> None:
    """A logged-in browser's form post whose Origin is another site gets 403 without the body
    being read (SameSite cookies aside, a second line against cross-site requests)."""
    cookie, token = _editor(limited)
    path = f"/episodes/{limited.ids['ep1']}"
    body = f"csrf={token}&title=Gekapert".encode()
    got = push(limited.url, "POST", path, headers={
        "Cookie": cookie, "Origin": "https://evil.example",
        "Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(body))},
        body=[body], give_up_after=len(body), head_wait=5.0)
    assert got.status == 403 and got.sent == 0, got
    assert limited.counter.read.get(path, 0) == 0


@pytest.mark.browser
def test_browser_refuses_a_too_big_file_before_sending_it(
    limited: Limited, browser: Browser, tmp_path: Path
) -> None:
    """In the browser, a clip over dashboard.max_video_mb is refused on the page in German and
    not a byte is sent."""
    big = tmp_path / "Dreh Rohfassung.mp4"
    with big.open("wb") as out:
        out.truncate(VIDEO_MB * MB + 1)
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    try:
        login_page(page, limited.url, "erika")
        page.goto(f"{limited.url}/episodes/{limited.ids['ep1']}")
        page.get_by_test_id("source-file").set_input_files(str(big))
        page.get_by_role("button", name="Video hochladen").click()
        expect(page.get_by_role("alert")).to_have_text(
            "Die Datei „Dreh Rohfassung.mp4“ ist zu groß (höchstens 2 MB). Bitte eine kleinere "
            "Fassung hochladen.")
        assert limited.counter.read.get(f"/episodes/{limited.ids['ep1']}/source") is None
    finally:
        context.close()

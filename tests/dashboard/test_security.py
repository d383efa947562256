"""Security of the dashboard over real HTTP: anonymous callers, CSRF, escaping, uploads that try
to leave the media root, four eyes, cookies, tokens, secrets (sessions and login throttling:
test_sessions.py; request sizes: test_limits.py)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import routing

from config import settings_from_dict
from dashboard import DashboardConfigError, create_app
from dashboard.media_files import inside
from dashboard.uploads import client_name
from episodes.models import Account, Episode, User
from episodes.users import create_user, issue_token, set_password

from .conftest import PASSWORD, SECRET, Live, Server, csrf_of, login

PUBLIC = {"/login", "/healthz", "/set-password/1"}  # and a one-time password link's form


def _routes(app: object) -> list[tuple[str, str]]:
    """(method, path with parameters filled in) for every route, included routers flattened;
    the /static mount (stylesheet, live.js) is public on purpose and has no methods."""
    out = []
    for route in routing.iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, re.sub(r"\{[^}]+\}", "1", route.path)))
    return out


def test_every_route_refuses_anonymous_callers(live: Live) -> None:
    """Every page, API and monitoring route except /login, /healthz and a password link
    refuses a caller without session or token: pages redirect to the login form, the rest
    answer 401 (the connect callback, without a flow of this browser, too)."""
    app = create_app(live.settings, db=live.db)
    routes = _routes(app)
    app.state.wtg.celery.close()
    assert len(routes) >= 25
    assert sum(path.startswith("/api/v1/") for _, path in routes) >= 9
    checked = 0
    with live.client() as client:
        for method, path in routes:
            if path in PUBLIC:
                continue
            resp = client.request(method, path, data={"csrf": "x"} if method != "GET" else None)
            if method == "GET" and not path.startswith(("/api/", "/metrics", "/live/")):
                assert resp.status_code == 303, (method, path, resp.status_code)
                assert resp.headers["location"].startswith("/login?next="), path
            else:
                assert resp.status_code == 401, (method, path, resp.status_code, resp.text)
            checked += 1
    # GET and POST /login, GET /healthz, GET and POST /set-password/{token}
    assert checked == len(routes) - 5
    with live.client() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/login").status_code == 200


def test_post_without_csrf_token_is_refused(live: Live) -> None:
    """A logged-in form POST without the session's CSRF token is refused and changes nothing."""
    ep = live.ids["ep1"]
    with live.client("erika") as client:
        resp = client.post(f"/episodes/{ep}", data={"title": "Gekapert", "place": "x"})
        assert resp.status_code == 403
        assert "CSRF" in resp.text
        wrong = client.post(f"/episodes/{ep}", data={"title": "Gekapert", "csrf": "falsch"})
        assert wrong.status_code == 403
    with live.db.session() as s:
        assert s.get(Episode, ep).title == "Titel 1"


def test_script_in_title_is_shown_as_text(live: Live) -> None:
    """A title containing <script> is escaped on the grid and the episode page."""
    ep = live.ids["ep1"]
    title = '<script>alert("x")</script> & Co'
    with live.api("erika") as api:
        assert api.patch(f"/api/v1/episodes/{ep}", json={"title": title}).status_code == 200
    with live.client("vera") as client:
        for page in (f"/episodes/{ep}", "/", "/calendar"):
            html = client.get(page).text
            assert "<script>alert" not in html, page
            assert "&lt;script&gt;alert(" in html, page


def test_upload_names_cannot_escape_the_media_root(live: Live, tmp_path: Path) -> None:
    """Client file names with ../ or absolute paths are ignored: files land under
    media_root/uploads/<series>/<episode>/ with generated names, and /media/ serves nothing
    outside the media root."""
    ep = live.ids["ep1"]
    srt = b"1\n00:00:00,000 --> 00:00:00,800\nHallo\n"
    names = ["../../../../evil.srt", "/etc/passwd.srt", "..\\..\\win.srt"]
    with live.client("erika") as client:
        page = client.get(f"/episodes/{ep}").text
        for name in names:
            resp = client.post(f"/episodes/{ep}/subtitles", data={"csrf": csrf_of(page)},
                               files={"file": (name, srt, "application/x-subrip")})
            assert resp.status_code == 303, resp.text
        root = live.settings.media_root.resolve()
        stored = sorted(p for p in root.rglob("*") if p.is_file())
        assert len(stored) == 3
        assert all(p.parent == root / "uploads" / "wtg-2026" / "01" for p in stored)
        assert all(re.fullmatch(r"subtitles-\d{8}T\d{6}Z-[0-9a-f]{8}\.srt", p.name)
                   for p in stored)
        assert not any(tmp_path.parent.rglob("evil.srt"))
        outside = tmp_path / "geheim.txt"
        outside.write_text("geheim")
        for probe in ("/media/%2e%2e/%2e%2e/geheim.txt", "/media/..%2F..%2Fgeheim.txt",
                      f"/media/{outside}"):
            resp = client.get(probe)
            assert resp.status_code == 404, probe
            assert "geheim" not in resp.text
        rel = stored[0].relative_to(root).as_posix()
        assert client.get(f"/media/{rel}").text.startswith("1\n00:00:00,000")
    assert inside(root, "../geheim.txt") is None
    assert client_name("../../x/../evil.mp4") == "evil.mp4"
    assert client_name("C:\\Users\\a\\clip.mp4") == "clip.mp4"


def test_nobody_approves_their_own_edit(live: Live) -> None:
    """Four eyes: an editor may not approve at all, an approver or admin not their own edit --
    not even after a colleague edited last; an approver who did not edit can, and a later edit
    voids the approval."""
    ep = live.ids["ep2"]
    for user in ("erika", "anton", "ada"):
        with live.api(user) as api:
            edited = api.patch(f"/api/v1/episodes/{ep}", json={"place": f"Ort von {user}"})
            assert edited.status_code == 200
            rev = edited.json()["revision"]
            refused = api.post(f"/api/v1/episodes/{ep}/approve", json={"revision": rev})
            assert refused.status_code == 403, (user, refused.text)
            assert refused.json()["detail"]
    with live.api("anton") as api:  # ada edited last, but anton edited since the last approval
        own = api.post(f"/api/v1/episodes/{ep}/approve", json={"revision": rev})
        assert own.status_code == 403 and "seit der letzten Freigabe" in own.json()["detail"]
    with live.db.session() as s:
        bernd = create_user(s, "bernd", PASSWORD, role="approver", actor="test")
        live.tokens["bernd"] = issue_token(s, bernd, actor="test")
    with live.api("bernd") as api:
        ok = api.post(f"/api/v1/episodes/{ep}/approve", json={"revision": rev})
        assert ok.status_code == 200 and ok.json()["approved"] is True
        assert ok.json()["approved_by"] == "bernd"
    with live.api("erika") as api:
        again = api.patch(f"/api/v1/episodes/{ep}", json={"description": "Neu."}).json()
        assert again["approved"] is False and again["revision"] == rev + 1
    with live.api("anton") as api:
        stale = api.post(f"/api/v1/episodes/{ep}/approve", json={"revision": rev})
        assert stale.status_code == 409


def test_session_cookie_is_httponly_strict_and_secure_per_setting(
    live: Live, tmp_path: Path
) -> None:
    """The session cookie is HttpOnly and SameSite=Strict (Secure when configured); a forged
    cookie is not a session."""
    with live.client() as client:
        resp = login(client, "vera")
        cookie = resp.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
        value = client.cookies["wtg_session"]
    with live.client() as forged:
        forged.cookies.set("wtg_session", value[:-3] + "abc")
        assert forged.get("/").status_code == 303
    secure = settings_from_dict({**_settings_dict(live), "dashboard": {
        "secret_key": SECRET, "secure_cookies": True}})
    app = create_app(secure, db=live.db)
    server = Server(app)
    try:
        resp = httpx.get(server.url + "/login", timeout=30)
        assert "; secure" in resp.headers["set-cookie"].lower()
    finally:
        server.stop()
        app.state.wtg.celery.close()


def _settings_dict(live: Live) -> dict[str, object]:
    s = live.settings
    return {"database_url": s.database_url, "broker_url": s.broker_url,
            "media_root": str(s.media_root), "var_dir": str(s.var_dir)}


def test_refuses_to_start_without_secret_key(live: Live) -> None:
    """Without dashboard.secret_key the app factory stops with a German message."""
    bare = settings_from_dict(_settings_dict(live))
    with pytest.raises(DashboardConfigError, match="WTG_DASHBOARD__SECRET_KEY"):
        create_app(bare, db=live.db)


def test_api_tokens_are_stored_hashed_and_checked(live: Live) -> None:
    """A wrong bearer token gets 401; the database holds only the token's hash."""
    token = live.tokens["vera"]
    with live.api("vera") as api:
        assert api.get("/api/v1/me").json() == {"username": "vera", "role": "viewer"}
        bad = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token[:-2]}xx"})
        assert bad.status_code == 401
        assert api.patch(f"/api/v1/episodes/{live.ids['ep1']}",
                         json={"title": "x"}).status_code == 403
    with live.db.session() as s:
        stored = [u.api_token_hash for u in s.query(User)]
    assert token not in stored and all(h and len(h) == 64 for h in stored)


def test_pages_never_show_secrets(live: Live) -> None:
    """Neither the session secret nor the settings' notification URLs appear on any page; the
    accounts page says only whether credentials were accepted."""
    with live.db.session() as s:
        s.query(Account).filter_by(name="youtube-lup").one().credentials_ok = False
    with live.client("ada") as client:
        accounts = client.get("/accounts").text
        assert "abgelehnt – bitte erneuern" in accounts and "noch nicht geprüft" in accounts
        pages = ["/", "/calendar", "/audit", "/notifications", "/accounts",
                 f"/episodes/{live.ids['ep1']}", f"/posts/{live.ids['post1-mastodon']}"]
        for page in pages:
            html = client.get(page).text
            assert SECRET not in html and PASSWORD not in html
            assert "mail-geheimnis-42" not in html
            assert live.tokens["ada"] not in html


def test_a_new_password_ends_older_sessions(live: Live) -> None:
    """A session cookie stops working once the user's password is changed."""
    with live.client("erika") as client:
        assert client.get("/").status_code == 200
        with live.db.session() as s:
            set_password(s, s.query(User).filter_by(username="erika").one(), "ein-neues-passwort")
        assert client.get("/").status_code == 303
        assert login(client, "erika", "ein-neues-passwort").status_code == 303
        assert client.get("/").status_code == 200

"""Sessions on the server and throttled logins, over real HTTP: the cookie is only a random id,
every way of ending a session ends it at once, failed logins slow down instead of locking
anyone out, and a failed login says and costs the same whatever the reason."""

from __future__ import annotations

import base64
import hashlib
import statistics
import time
from datetime import timedelta

import httpx

from episodes import logins
from episodes.models import AuditEntry, LoginThrottle, StaffSession, User, utcnow
from episodes.users import LOGIN_FAILED, authenticate, set_active, set_password

from .conftest import PASSWORD, Live, csrf_of, login


def _form_csrf(client: httpx.Client) -> str:
    return csrf_of(client.get("/").text)


def test_cookie_holds_only_a_random_session_id(live: Live) -> None:
    """The session cookie is 256 random bits: no user id, no CSRF token, nothing decodable;
    the database keeps only its SHA-256."""
    with live.client("erika") as client:
        value = client.cookies["wtg_session"]
        csrf = _form_csrf(client)
    assert len(value) >= 43 and "." not in value and csrf not in value
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert len(raw) == 32 and b"erika" not in raw and b'"u"' not in raw
    with live.db.session() as s:
        rows = s.query(StaffSession).all()
        assert [r.token_hash for r in rows] == [hashlib.sha256(value.encode()).hexdigest()]
        assert value not in {r.csrf for r in rows}


def test_logout_ends_the_session_at_once(live: Live) -> None:
    """After „Abmelden“ a copy of the old cookie no longer opens any page."""
    with live.client("erika") as client:
        stolen = client.cookies["wtg_session"]
        assert client.post("/logout", data={"csrf": _form_csrf(client)}).status_code == 303
    with httpx.Client(base_url=live.url, timeout=30, cookies={"wtg_session": stolen}) as copy:
        resp = copy.get("/")
        assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    with live.db.session() as s:
        assert s.query(StaffSession).count() == 0


def test_logout_everywhere_ends_every_session_of_that_person(live: Live) -> None:
    """„Überall abmelden“ on one device ends the person's sessions on every device, and
    nobody else's."""
    with live.client("erika") as laptop, live.client("erika") as phone, \
            live.client("vera") as other:
        assert phone.get("/").status_code == 200
        assert laptop.post("/logout/all", data={"csrf": _form_csrf(laptop)}).status_code == 303
        assert phone.get("/").status_code == 303
        assert laptop.get("/").status_code == 303
        assert other.get("/").status_code == 200
    with live.db.session() as s:
        entry = s.query(AuditEntry).filter_by(action="user.logout_all").one()
        assert entry.actor == "erika" and entry.details["sessions"] == 2


def test_deactivation_and_admin_end_sessions_at_once(live: Live) -> None:
    """Deactivating a user, a new password, and an admin's „Überall abmelden“ each end the
    sessions at once (their rows are gone, the cookie is refused)."""
    with live.client("erika") as erika, live.client("anton") as anton, \
            live.client("vera") as vera, live.client("ada") as ada:
        with live.db.session() as s:
            set_active(s, s.query(User).filter_by(username="erika").one(), False, actor="test")
            set_password(s, s.query(User).filter_by(username="anton").one(),
                         "ein-ganz-neues-passwort", actor="test")
        assert erika.get("/").status_code == 303 and anton.get("/").status_code == 303
        page = ada.get("/admin/logins")
        assert page.status_code == 200 and "Überall abmelden" in page.text
        vera_id = live.ids["vera"]
        ended = ada.post(f"/admin/users/{vera_id}/logout", data={"csrf": _form_csrf(ada)})
        assert ended.status_code == 303
        assert vera.get("/").status_code == 303
        assert ada.get("/").status_code == 200
    with live.db.session() as s:
        left = {s.get(User, r.user_id).username for r in s.query(StaffSession)}
        assert left == {"ada"}


def test_failed_logins_slow_down_but_never_lock_out(live: Live) -> None:
    """Wrong passwords from a stranger make the account wait at most ACCOUNT.cap seconds, not
    15 minutes: the right password works again once the short wait is over."""
    t0 = utcnow()
    with live.db.session() as s:
        for i in range(logins.ACCOUNT.free + 10):
            result = authenticate(s, "vera", "falsch-geraten", client="203.0.113.9",
                                  now=t0 + timedelta(seconds=i * 40))
            assert result.user is None
        last = t0 + timedelta(seconds=(logins.ACCOUNT.free + 9) * 40)
        row = s.get(LoginThrottle, logins.account_key("vera"))
        assert row is not None and row.blocked_until is not None
        assert row.blocked_until - last <= timedelta(seconds=logins.ACCOUNT.cap)
        # the staffer, from her own computer: refused only inside the short wait
        assert authenticate(s, "vera", PASSWORD, client="10.0.0.5",
                            now=last + timedelta(seconds=1)).user is None
        ok = authenticate(s, "vera", PASSWORD, client="10.0.0.5",
                          now=last + timedelta(seconds=logins.ACCOUNT.cap + 1))
        assert ok.user is not None and ok.user.username == "vera"
        assert s.get(LoginThrottle, logins.account_key("vera")) is None  # cleared on success


def test_a_client_that_keeps_guessing_waits_longer(live: Live) -> None:
    """The delays grow with each failure (1 s, 2 s, 4 s …) for the guessing client, up to
    CLIENT.cap, while another client is not slowed by it."""
    t0 = utcnow()
    with live.db.session() as s:
        waits = []
        for i in range(logins.CLIENT.free + 12):
            now = t0 + timedelta(seconds=i * 400)  # past every wait: each attempt is checked
            authenticate(s, f"name{i}", "x", client="198.51.100.7", now=now)
            row = s.get(LoginThrottle, logins.client_key("198.51.100.7"))
            waits.append((row.blocked_until - now).total_seconds() if row.blocked_until else 0)
        assert waits[: logins.CLIENT.free] == [0] * logins.CLIENT.free
        assert waits[logins.CLIENT.free: logins.CLIENT.free + 3] == [1, 2, 4]
        assert max(waits) == logins.CLIENT.cap
        assert logins.waiting_until(s, [logins.client_key("10.0.0.5")],
                                    now=now + timedelta(seconds=1)) is None


def test_every_failed_login_looks_the_same(live: Live) -> None:
    """Unknown name, deactivated user, waiting account and wrong password: same status, same
    page text, and the same work (one argon2 check, measured as CPU time)."""
    with live.db.session() as s:
        set_active(s, s.query(User).filter_by(username="vera").one(), False, actor="test")
        start = utcnow() - timedelta(seconds=31 * (logins.ACCOUNT.free + 5))
        for i in range(logins.ACCOUNT.free + 6):  # each past the wait: anton waits 30 s now
            authenticate(s, "anton", "falsch", client=f"192.0.2.{i}",
                         now=start + timedelta(seconds=31 * i))
    answers = {}
    with live.client() as client:
        for case, (user, password) in {
            "unknown": ("niemand", PASSWORD), "inactive": ("vera", PASSWORD),
            "waiting": ("anton", PASSWORD), "wrong": ("erika", "falsches-passwort"),
        }.items():
            resp = login(client, user, password)
            answers[case] = (resp.status_code, resp.text.replace(user, "NAME"))
    first = answers["wrong"]
    for case, answer in answers.items():
        assert answer == first, case
    assert answers["wrong"][0] == 401 and LOGIN_FAILED in answers["wrong"][1]

    def cpu(user: str, password: str) -> float:
        samples = []
        for _ in range(3):
            with live.db.session() as s:
                start = time.process_time()
                assert authenticate(s, user, password, client="192.0.2.2").user is None
                samples.append(time.process_time() - start)
        return statistics.median(samples)

    wrong = cpu("erika", "falsches-passwort")
    for case, (user, password) in {"unknown": ("niemand", PASSWORD),
                                   "waiting": ("anton", PASSWORD)}.items():
        ratio = cpu(user, password) / wrong
        assert 0.6 < ratio < 1.6, (case, ratio)


def test_failed_logins_are_in_the_audit_trail(live: Live) -> None:
    """Each failed login is audited with the name tried, the client and the reason (for the
    admin; the caller learns none of it)."""
    with live.client() as client:
        login(client, "erika", "falsches-passwort")
        login(client, "gibtesnicht", "egal-was")
    with live.db.session() as s:
        entries = s.query(AuditEntry).filter_by(action="user.login_failed").all()
        seen = {(e.target, e.details["reason"], e.details["client"]) for e in entries}
    assert seen == {("user:erika", "wrong_password", "127.0.0.1"),
                    ("user:gibtesnicht", "unknown", "127.0.0.1")}


def test_admin_sees_and_clears_throttles(live: Live) -> None:
    """The admin page lists the waiting account and client; „Aufheben“ lets them try at once.
    Only admins see the page."""
    with live.db.session() as s:
        for _ in range(logins.ACCOUNT.free + 1):
            authenticate(s, "erika", "falsch", client="192.0.2.44")
    with live.client("vera") as viewer:
        assert viewer.get("/admin/logins").status_code == 403
    with live.client("ada") as ada:
        page = ada.get("/admin/logins").text
        assert "Benutzername <strong>erika</strong>" in page and "Rechner 192.0.2.44" in page
        resp = ada.post("/admin/logins/clear",
                        data={"csrf": _form_csrf(ada), "key": logins.account_key("erika")})
        assert resp.status_code == 303
        assert "Benutzername <strong>erika</strong>" not in ada.get("/admin/logins").text
    with live.db.session() as s:
        assert logins.waiting_until(s, [logins.account_key("erika")]) is None
        assert s.query(AuditEntry).filter_by(action="user.unlock", actor="ada").count() == 1
    with live.client() as client:
        assert login(client, "erika").status_code == 303

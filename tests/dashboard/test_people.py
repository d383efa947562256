"""The team managed in the browser over real HTTP (``/users``) and with ``wtg user``: add and
invite, change roles, deactivate, reset passwords, issue and revoke API tokens -- effective at
once, audited, never showing a secret twice."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from episodes.db import Database
from episodes.models import AuditEntry, PasswordLink, User, utcnow

from .conftest import PASSWORD, Live, csrf_of, login
from .test_cli import _config, _wtg


def _uid(live: Live, name: str) -> int:
    with live.db.session() as s:
        return s.query(User).filter_by(username=name).one().id


def _post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    page = client.get("/users")
    return client.post(path, data={"csrf": csrf_of(page.text), **data})


def _shown(html: str, testid: str) -> str:
    found = re.search(rf'value="([^"]+)" data-testid="{testid}"', html)
    assert found, html[-3000:]
    return found.group(1)


def test_invite_a_colleague_who_sets_their_own_password(live: Live) -> None:
    """An invitation link is shown once; the colleague sets a password through it (no login
    needed, CSRF-protected), logs in, and the link does not work a second time."""
    with live.client("ada") as admin:
        answer = _post(admin, "/users", username="paula", display_name="Paula Pieper",
                       role="editor", how="invite")
        assert answer.status_code == 200
        shown = _shown(answer.text, "secret-link")
        assert shown.startswith(f"{live.settings.dashboard.public_url}/set-password/")
        link = urlsplit(shown).path
        listing = admin.get("/users").text
        assert "eingeladen (bis" in listing and link not in listing
    with httpx.Client(base_url=live.url, timeout=30) as guest:
        form = guest.get(link)
        assert form.status_code == 200 and "Hallo Paula Pieper" in form.text
        bad = guest.post(link, data={"csrf": csrf_of(form.text), "password": "zu-kurz",
                                     "repeat": "zu-kurz"})
        assert bad.status_code == 400 and "mindestens 10 Zeichen" in bad.text
        nocsrf = guest.post(link, data={"password": "paulas-passwort-1",
                                        "repeat": "paulas-passwort-1"})
        assert nocsrf.status_code == 403
        done = guest.post(link, data={"csrf": csrf_of(form.text), "password": "paulas-passwort-1",
                                      "repeat": "paulas-passwort-1"}, follow_redirects=False)
        assert done.status_code == 303 and "password=set" in done.headers["location"]
        assert guest.get(link).status_code == 404  # used up
        assert login(guest, "paula", "paulas-passwort-1").status_code == 303
        assert guest.get("/", follow_redirects=False).status_code == 200
    with live.db.session() as s:
        assert s.query(PasswordLink).count() == 0
        audit = json.dumps([(a.action, a.details) for a in s.query(AuditEntry)])
    assert "user.invite_link" in audit and link.rsplit("/", 1)[1] not in audit


def test_role_change_deactivation_and_tokens_take_effect_at_once(live: Live) -> None:
    """Erika is made a viewer (her next edit is refused), gets a new API token (shown once, it
    works), which is revoked (401); deactivated, her open session and her token stop at once;
    everything is in the audit trail without any token."""
    erika = _uid(live, "erika")
    with live.client("erika") as her, live.client("ada") as admin:
        assert _post(admin, f"/users/{erika}/role", role="viewer").status_code == 303
        assert "Lesen" in admin.get(f"/users/{erika}").text
        page = her.get(f"/episodes/{live.ids['ep1']}")
        edit = her.post(f"/episodes/{live.ids['ep1']}",
                        data={"title": "Neu", "csrf": csrf_of(page.text)})
        assert edit.status_code == 403
        issued = _post(admin, f"/users/{erika}/token")
        token = _shown(issued.text, "secret-token")
        assert token not in admin.get(f"/users/{erika}").text
        api = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{live.url}/api/v1/me", headers=api).json()["role"] == "viewer"
        assert _post(admin, f"/users/{erika}/token/revoke").status_code == 303
        assert httpx.get(f"{live.url}/api/v1/me", headers=api).status_code == 401
        token = _shown(_post(admin, f"/users/{erika}/token").text, "secret-token")
        api = {"Authorization": f"Bearer {token}"}
        assert her.get("/").status_code == 200
        assert _post(admin, f"/users/{erika}/deactivate").status_code == 303
        assert her.get("/").status_code == 303  # her session ended at once
        assert httpx.get(f"{live.url}/api/v1/me", headers=api).status_code == 401
        assert login(her, "erika").status_code == 401
        assert "deaktiviert" in admin.get("/users").text
        assert _post(admin, f"/users/{erika}/activate").status_code == 303
        assert login(her, "erika").status_code == 303
    with live.db.session() as s:
        entries = [(a.action, a.details) for a in s.query(AuditEntry).filter_by(
            target="user:erika").order_by(AuditEntry.id)]
    actions = [a for a, _ in entries]
    for action in ("user.role", "user.token", "user.token_revoked", "user.deactivate",
                   "user.activate"):
        assert action in actions, action
    assert ("user.role", {"before": "editor", "after": "viewer"}) in entries
    assert token not in json.dumps(entries)


def test_the_last_admin_stays_and_nobody_deactivates_themselves(live: Live) -> None:
    """Ada, the only admin, can neither demote nor deactivate herself (German reasons); with a
    second admin the demotion goes through."""
    ada, anton = _uid(live, "ada"), _uid(live, "anton")
    with live.client("ada") as admin:
        demote = _post(admin, f"/users/{ada}/role", role="editor")
        assert demote.status_code == 409 and "mindestens eine aktive Person" in demote.text
        assert "Deaktivieren" not in admin.get(f"/users/{ada}").text
        itself = _post(admin, f"/users/{ada}/deactivate")
        assert itself.status_code == 409 and "nicht selbst deaktivieren" in itself.text
        assert _post(admin, f"/users/{anton}/role", role="admin").status_code == 303
        assert _post(admin, f"/users/{ada}/role", role="approver").status_code == 303
        assert admin.get("/users").status_code == 403  # no longer an admin, at once


def test_add_with_password_reset_link_and_direct_password(live: Live) -> None:
    """A person added with a password logs in; a reset link (2 days) and a password set by the
    admin each end the person's sessions; a bad name or role is refused in German."""
    with live.client("ada") as admin:
        taken = _post(admin, "/users", username="vera", role="viewer", how="password",
                      password="irgendein-passwort")
        assert taken.status_code == 400 and "gibt es schon" in taken.text
        added = _post(admin, "/users", username="otto", role="approver", how="password",
                      password="ottos-passwort-1")
        assert added.status_code == 303
        otto = _uid(live, "otto")
        with live.client() as his:
            assert login(his, "otto", "ottos-passwort-1").status_code == 303
            reset = _post(admin, f"/users/{otto}/reset-link")
            link = urlsplit(_shown(reset.text, "secret-link")).path
            assert "2 Tage" in reset.text
            with live.db.session() as s:
                row = s.query(PasswordLink).one()
                assert row.purpose == "reset"
                assert row.expires_at - utcnow() > timedelta(days=1, hours=23)
            form = his.get(link)
            his.post(link, data={"csrf": csrf_of(form.text), "password": "ottos-neues-pw",
                                 "repeat": "ottos-neues-pw"})
            assert his.get("/", follow_redirects=False).status_code == 303
            assert login(his, "otto", "ottos-neues-pw").status_code == 303
            assert _post(admin, f"/users/{otto}/password",
                         password="vom-admin-gesetzt").status_code == 303
            assert his.get("/", follow_redirects=False).status_code == 303
            assert login(his, "otto", "vom-admin-gesetzt").status_code == 303


def test_wtg_user_role_revoke_link_and_deactivate(tmp_path: Path, redis_url: str) -> None:
    """The command line does the same: `wtg user role`, `revoke`, `link`, and `deactivate`
    refuses the last admin."""
    from episodes.users import create_user, issue_token, user_for_token

    env = _config(tmp_path, redis_url)
    assert _wtg(env, "init").returncode == 0
    db = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    try:
        with db.session() as s:
            create_user(s, "ada", PASSWORD, role="admin", actor="test")
            anna = create_user(s, "anna", PASSWORD, role="editor", actor="test")
            token = issue_token(s, anna, actor="test")
        role = _wtg(env, "user", "role", "anna", "approver")
        assert role.returncode == 0 and "anna hat jetzt die Rolle „Freigeben“" in role.stdout
        wrong = _wtg(env, "user", "role", "anna", "chef")
        assert wrong.returncode != 0
        last = _wtg(env, "user", "role", "ada", "viewer")
        assert last.returncode == 1 and "mindestens eine aktive Person" in last.stderr
        assert _wtg(env, "user", "deactivate", "ada").returncode == 1
        revoked = _wtg(env, "user", "revoke", "anna")
        assert revoked.returncode == 0 and "widerrufen" in revoked.stdout
        link = _wtg(env, "user", "link", "anna")
        assert link.returncode == 0 and "/set-password/" in link.stdout
        with db.session() as s:
            assert user_for_token(s, token) is None
            assert s.query(User).filter_by(username="anna").one().role == "approver"
            assert s.query(PasswordLink).count() == 1
    finally:
        db.dispose()

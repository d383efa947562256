"""Connecting an account in the browser: each platform's own authorization code flow.

    GET  /accounts/{name}/connect     (admin) starts the flow and redirects to the platform's
                                      consent page; Mastodon first asks for the instance
    POST /accounts/{name}/connect     (admin) Mastodon: the instance named, wtg registers there
    GET  /connect/callback            the platform sends the browser back here
    POST /connect/{flow}/choose       (admin) the page / Instagram account / channel chosen
    POST /accounts/{name}/disconnect  (admin) forget the tokens wtg holds for the account

The callback is a top-level navigation from the platform's site, so the session cookie
(``SameSite=Strict``) does not come along. The flow proves who asks instead: its ``state``
(single use, ten minutes), a ``SameSite=Lax`` cookie only for the callback path (the same
browser) and the session that started it (still open, still an admin). The redirect URI is
``dashboard.public_url`` + ``/connect/callback``, the same for every platform, so it is
registered once per app. Tokens go to the secrets store; the database keeps only the facts
(``episodes.connections``). The page the callback answers with is served to that session, so
the next click carries the session cookie again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config import AccountSettings
from config.credentials import PLATFORM_APP, MissingAppCredential
from config.loader import credentials_for
from episodes import connections, oauth_flows, store
from episodes.lifecycle import WAITING_FOR_STAFF
from episodes.models import Account, OAuthFlow, Post, Role, utcnow
from workers.connect import ConnectError, MissingScopes, connector, instance_url, pkce_pair

from .auth import COOKIE, LoginRequired, Staff, page_role
from .gate import SECURITY_HEADERS
from .pages import RowId, deps_of, render

router = APIRouter(include_in_schema=False)
Admin = Depends(page_role(Role.ADMIN))
CALLBACK = "/connect/callback"
FLOW_COOKIE = "wtg_connect"


def redirect_uri(request: Request) -> str:
    return deps_of(request).settings.dashboard.public_url.rstrip("/") + CALLBACK


def configured(request: Request, name: str) -> AccountSettings:
    try:
        return deps_of(request).settings.account(name)
    except KeyError:
        raise HTTPException(404, "Dieses Konto ist nicht eingerichtet.") from None


def _secret(request: Request) -> str:
    key = deps_of(request).settings.dashboard.secret_key
    assert key is not None
    return key.reveal()


def _problem(request: Request, staff: Staff | None, message: str, name: str,
             status: int = 400) -> HTMLResponse:
    return render(request, "error.html", staff, status=status, message=message,
                  back=f"/accounts/{name}")


# --- starting -------------------------------------------------------------------------------
@router.get("/accounts/{name}/connect", response_class=HTMLResponse)
def connect(request: Request, name: str, staff: Staff = Admin) -> Response:
    """Start connecting: straight to the platform's consent page (Mastodon: ask which
    instance first)."""
    acc = configured(request, name)
    if acc.platform == "mastodon":
        with deps_of(request).db.session() as s:
            conn = connections.get(s, name)
            instance = (conn.api_base if conn and conn.api_base else acc.api_base)
        return _instance_form(request, staff, acc, instance)
    return _begin(request, staff, acc, {})


def _instance_form(request: Request, staff: Staff, acc: AccountSettings, instance: str,
                   status: int = 200, errors: list[str] | None = None) -> HTMLResponse:
    """The form asking for the Mastodon instance. Its answer redirects to that instance, which
    a browser allows only if the page's ``form-action`` admits it (Chromium checks redirects
    of a form submission too): this one page admits any web address."""
    response = render(request, "connect_mastodon.html", staff, status=status, account=acc,
                      instance=instance, errors=errors or [])
    response.headers["content-security-policy"] = dict(SECURITY_HEADERS)[
        b"content-security-policy"].decode().replace("form-action 'self'",
                                                     "form-action 'self' https: http:")
    return response


@router.post("/accounts/{name}/connect", response_class=HTMLResponse)
def connect_instance(request: Request, name: str, instance: str = Form(""),
                     staff: Staff = Admin) -> Response:
    """Mastodon: the staffer named the instance."""
    acc = configured(request, name)
    if acc.platform != "mastodon":
        raise HTTPException(400, "Nur bei Mastodon wird eine Instanz angegeben.")
    try:
        url = instance_url(instance)
    except ConnectError as exc:
        return _instance_form(request, staff, acc, instance[:300], status=400,
                              errors=[exc.message_de])
    return _begin(request, staff, acc, {"instance": url})


def _begin(request: Request, staff: Staff, acc: AccountSettings,
           params: dict[str, Any]) -> Response:
    deps = deps_of(request)
    with deps.db.session() as s:
        effective = connections.effective(s, acc)
        conn = connections.get(s, acc.name)
        if acc.platform == "mastodon" and conn is not None:
            params["app"] = dict((conn.details or {}).get("app") or {})
    secrets = credentials_for(acc.name, deps.settings)
    secrets.discard_staged()  # tokens of an earlier flow that never got its choice
    flow = connector(effective, deps.settings, redirect_uri=redirect_uri(request),
                     params=params)
    try:
        kept = flow.prepare(secrets)
        with deps.db.session() as s:
            state, nonce = oauth_flows.start(
                s, account=acc.name, platform=acc.platform, user_id=staff.id,
                session_hash=oauth_flows.digest(request.cookies.get(COOKIE, "")),
                redirect_uri=flow.redirect_uri, params={**params, **kept})
        _, challenge = pkce_pair(_secret(request), state)
        target = flow.authorize_url(state, challenge, secrets)
    except ConnectError as exc:
        return _problem(request, staff, exc.message_de, acc.name, status=502)
    except MissingAppCredential as exc:
        return _problem(request, staff, str(exc.args[0]), acc.name, status=503)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(FLOW_COOKIE, nonce, max_age=oauth_flows.FLOW_MINUTES * 60,
                        httponly=True, samesite="lax", path=CALLBACK,
                        secure=deps.settings.dashboard.secure_cookies)
    return response


# --- the platform sends the browser back ----------------------------------------------------
@router.get(CALLBACK, response_class=HTMLResponse)
def callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
    """The platform's answer. Checks the flow (see the module docstring), trades the code for
    tokens, checks the granted scopes, then stores the connection or asks for the choice."""
    deps = deps_of(request)
    if not request.cookies.get(FLOW_COOKIE) and not request.cookies.get(COOKIE):
        raise LoginRequired()  # neither a flow of this browser nor a login: log in first
    with deps.db.session() as s:
        found = oauth_flows.take(s, state[:200], request.cookies.get(FLOW_COOKIE, ""))
        if found is None:
            return _forget(render(
                request, "error.html", None, status=400, back="/accounts",
                message="Dieser Anmeldevorgang ist ungültig, abgelaufen oder schon "
                        "abgeschlossen. Bitte unter „Konten“ noch einmal auf „Verbinden“ "
                        "klicken."))
        flow, user = found
        staff = Staff.of(user, oauth_flows.session_csrf(s, flow.session_hash))
        name, platform, params = flow.account, flow.platform, dict(flow.params)
        flow_id, uri = flow.id, flow.redirect_uri
        if error or not code:
            oauth_flows.end(s, flow)
            store.audit(s, staff.username, "account.connect_cancelled", f"account:{name}",
                        platform=platform, reason=error[:100] or "no code")
    if error or not code:
        return _forget(_problem(request, staff, (
            "Die Verbindung wurde auf der Seite der Plattform abgelehnt oder abgebrochen. "
            "Es wurde nichts geändert."), name))
    acc = configured(request, name)
    secrets = credentials_for(name, deps.settings)
    with deps.db.session() as s:
        effective = connections.effective(s, acc)
    flow_obj = connector(effective, deps.settings, redirect_uri=uri, params=params)
    verifier, _ = pkce_pair(_secret(request), state)
    try:
        got = flow_obj.exchange(code[:2000], verifier, secrets)
    except (ConnectError, MissingAppCredential) as exc:
        with deps.db.session() as s:
            if (row := s.get(OAuthFlow, flow_id)) is not None:
                oauth_flows.end(s, row)
            if isinstance(exc, MissingScopes):
                connections.record_refused(s, account=name, platform=platform,
                                           actor=staff.username, missing=exc.missing)
        message = exc.message_de if isinstance(exc, ConnectError) else str(exc.args[0])
        return _forget(_problem(request, staff, message, name))
    if got.choices:
        secrets.stage(str(flow_id), got.secrets)
        with deps.db.session() as s:
            row = s.get(OAuthFlow, flow_id)
            assert row is not None
            oauth_flows.await_choice(row, [c.as_dict() for c in got.choices])
            row.params = {**params, **got.pending, "scopes": list(got.scopes)}
        return _forget(render(request, "connect_choose.html", staff, account=acc,
                              flow_id=flow_id, choices=got.choices,
                              label=flow_obj.label, scopes=got.scopes))
    assert got.facts is not None
    with deps.db.session() as s:
        if (row := s.get(OAuthFlow, flow_id)) is not None:
            oauth_flows.end(s, row)
    return _forget(_done(request, staff, acc, got.secrets, got.facts, summary=got.summary))


@router.post("/connect/{flow_id}/choose", response_class=HTMLResponse)
def choose(request: Request, flow_id: RowId, choice: str = Form(""),
           staff: Staff = Admin) -> Response:
    """The staffer chose the page, Instagram account or channel."""
    deps = deps_of(request)
    with deps.db.session() as s:
        flow = oauth_flows.choosing(s, flow_id,
                                    oauth_flows.digest(request.cookies.get(COOKIE, "")))
        if flow is None:
            return _problem(request, staff, "Diese Auswahl ist abgelaufen. Bitte noch einmal "
                            "verbinden.", "")
        name, params, choices, uri = flow.account, dict(flow.params), list(flow.choices), \
            flow.redirect_uri
    picked = next((c for c in choices if c.get("id") == choice), None)
    acc = configured(request, name)
    secrets = credentials_for(name, deps.settings)
    staged = secrets.staged(str(flow_id))
    if picked is None or staged is None:
        return _problem(request, staff, "Bitte eine der angebotenen Möglichkeiten wählen.", name)
    with deps.db.session() as s:
        effective = connections.effective(s, acc)
    try:
        done = connector(effective, deps.settings, redirect_uri=uri,
                         params=params).choose(staged, picked, params)
    except ConnectError as exc:
        return _problem(request, staff, exc.message_de, name)
    with deps.db.session() as s:
        if (row := s.get(OAuthFlow, flow_id)) is not None:
            oauth_flows.end(s, row)
    return _done(request, staff, acc, done.secrets, done.facts)


def _done(request: Request, staff: Staff, acc: AccountSettings, secrets: Any,
          facts: connections.Facts, summary: Any = None) -> HTMLResponse:
    """Store the tokens and the facts; show what was connected and the posts that wait."""
    deps = deps_of(request)
    credentials_for(acc.name, deps.settings).replace(secrets,
                                                     app=PLATFORM_APP.get(acc.platform))
    with deps.db.session() as s:
        row, reconnect = connections.record_connected(
            s, account=acc.name, platform=acc.platform, facts=facts, actor=staff.username)
        mirror = s.query(Account).filter_by(name=acc.name).one_or_none()
        if mirror is not None:
            mirror.credentials_ok, mirror.credentials_checked_at = True, utcnow()
        held = waiting_posts(s, acc.name)
        deps.settings = connections.with_connections(deps.settings, s)
        lapse = connections.lapse_of(row)
        conn = {"remote_name": row.remote_name, "remote_id": row.remote_id,
                "scopes": list(row.scopes), "lapse": lapse}
    return render(request, "connect_done.html", staff, account=acc, conn=conn,
                  reconnect=reconnect, held=held, summary=summary or {})


def waiting_posts(s: Any, account: str) -> list[dict[str, Any]]:
    """Posts of the account that wait for staff (e.g. after a token lapsed)."""
    waiting = [str(x) for x in WAITING_FOR_STAFF]
    rows = (s.query(Post).join(Account).filter(Account.name == account,
                                               Post.state.in_(waiting)).order_by(Post.id).all())
    return [{"id": p.id, "label": f"{p.episode.label}: {p.episode.title}", "state": p.state,
             "error": (p.last_error or {}).get("message_de", "")} for p in rows]


def _forget(response: Response) -> Response:
    """The flow cookie is spent (whatever the outcome)."""
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK)
    return response


# --- disconnecting --------------------------------------------------------------------------
@router.post("/accounts/{name}/disconnect", response_class=HTMLResponse)
def disconnect(request: Request, name: str, staff: Staff = Admin) -> Response:
    """Forget the tokens wtg holds for the account; its posts and history stay."""
    acc = configured(request, name)
    deps = deps_of(request)
    credentials_for(acc.name, deps.settings).clear()
    with deps.db.session() as s:
        if not connections.record_disconnected(s, account=name, actor=staff.username):
            store.audit(s, staff.username, "account.disconnect", f"account:{name}",
                        platform=acc.platform, remote="")
        mirror = s.query(Account).filter_by(name=name).one_or_none()
        if mirror is not None:
            mirror.credentials_ok, mirror.credentials_checked_at = None, None
    return RedirectResponse(f"/accounts/{name}?done=disconnected", status_code=303)


__all__ = ["CALLBACK", "FLOW_COOKIE", "configured", "redirect_uri", "router", "waiting_posts"]

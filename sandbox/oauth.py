"""The authorization server part every platform sandbox shares: a consent page and one-time
authorization codes (RFC 6749 section 4.1, PKCE per RFC 7636).

A platform's piece (:mod:`sandbox.oauth_platforms`) declares its routes and says how it names
things (:class:`Consent`: ``client_id`` or ``client_key``, scopes separated by spaces or commas,
how the redirect reports the granted scopes); this module does the rest:

* ``consent_page``: checks ``response_type=code``, the client and its registered redirect URI
  (an unknown client or redirect is answered here, never redirected), then shows a German page
  with one checkbox per requested scope (all ticked) and the buttons „Erlauben“ / „Ablehnen“,
  so a test can grant fewer scopes than asked, as Google's granular consent and TikTok allow;
* ``consent_decide``: „Ablehnen“ redirects with ``error=access_denied``; „Erlauben“ with a
  random ``code`` (ten minutes, one use) and the ``state``, untouched;
* ``redeem``: the token endpoint's checks -- the code exists, is unused and unexpired, was issued
  to this client for this redirect URI, the client secret is right, and a PKCE ``code_verifier``
  matches the challenge (S256 or plain) when one was sent. A failed redemption burns the code.

Test helpers: ``allow_redirect(uri)`` registers the dashboard's callback with the sandbox's own
client; ``oauth_consents`` counts the consent pages shown. Nothing here imports wtg code.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from .base import Request, Response

CODE_TTL = 600.0


@dataclass(frozen=True)
class Consent:
    """How a platform's authorization endpoint names things."""

    brand: str
    client_param: str = "client_id"
    scope_sep: str = " "
    #: the query parameter of the redirect that lists the granted scopes (None: not sent)
    return_scopes: str | None = None


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    method: str | None
    expires: float
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Client:
    secret: str
    redirect_uris: set[str] = field(default_factory=set)
    scopes: tuple[str, ...] | None = None  # Mastodon: what the app registered


@dataclass
class OAuthState:
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    consents: int = 0
    decisions: list[str] = field(default_factory=list)


class ConsentServer:
    """Mixin for a :class:`sandbox.base.Sandbox` (uses its ``lock``)."""

    lock: Any

    def oauth(self) -> OAuthState:
        with self.lock:
            state = getattr(self, "_oauth_state", None)
            if state is None:
                state = OAuthState()
                for client_id, secret in self.oauth_builtin_clients().items():
                    state.clients[client_id] = Client(secret=secret)
                self._oauth_state = state
            return state

    def oauth_builtin_clients(self) -> dict[str, str]:
        """client id -> secret of the apps this platform knows from the start."""
        return {}

    def allow_redirect(self, uri: str) -> None:
        """Register ``uri`` as a redirect URI of every client this sandbox knows (the app
        console's "valid OAuth redirect URIs")."""
        with self.lock:
            for client in self.oauth().clients.values():
                client.redirect_uris.add(uri)

    @property
    def oauth_consents(self) -> int:
        return self.oauth().consents

    # --- the authorization endpoint ----------------------------------------------------------
    def consent_page(self, req: Request, consent: Consent) -> Response:
        params = dict(req.query)
        problem = self._check_request(params, consent)
        if problem:
            return problem
        with self.lock:
            self.oauth().consents += 1
        scopes = self.requested_scopes(params, consent)
        boxes = "\n".join(
            f'<label><input type="checkbox" name="grant_scope" value="{html.escape(s)}" checked>'
            f" {html.escape(s)}</label>" for s in scopes)
        hidden = "\n".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items())
        page = f"""<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>{html.escape(consent.brand)} – Zugriff erlauben</title></head><body>
<h1>{html.escape(consent.brand)}: Zugriff erlauben?</h1>
<p>Die Anwendung möchte in Ihrem Namen auf dieses Konto zugreifen. Erlaubt werden:</p>
<form method="post">
{hidden}
<fieldset><legend>Berechtigungen</legend>
{boxes}
</fieldset>
<button type="submit" name="decision" value="allow">Erlauben</button>
<button type="submit" name="decision" value="deny">Ablehnen</button>
</form></body></html>"""
        return Response(200, page, {"Content-Type": "text/html; charset=utf-8"})

    def consent_decide(self, req: Request, consent: Consent) -> Response:
        form = _multi(req)
        params = {k: v[-1] for k, v in form.items() if k not in ("grant_scope", "decision")}
        problem = self._check_request(params, consent)
        if problem:
            return problem
        decision = (form.get("decision") or ["deny"])[-1]
        with self.lock:
            self.oauth().decisions.append(decision)
        back: dict[str, str] = {}
        if params.get("state") is not None:
            back["state"] = params["state"]
        if decision != "allow":
            return _redirect(params["redirect_uri"], {"error": "access_denied",
                                                      "error_description": "denied", **back})
        asked = self.requested_scopes(params, consent)
        granted = tuple(s for s in asked if s in form.get("grant_scope", []))
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.oauth().codes[code] = Grant(
                client_id=params[consent.client_param], redirect_uri=params["redirect_uri"],
                scopes=granted, challenge=params.get("code_challenge"),
                method=params.get("code_challenge_method"), expires=time.time() + CODE_TTL,
                extra={k: v for k, v in params.items() if k in ("access_type", "prompt")})
        out = {"code": code, **back}
        if consent.return_scopes:
            out[consent.return_scopes] = consent.scope_sep.join(granted)
        return _redirect(params["redirect_uri"], out)

    def requested_scopes(self, params: dict[str, str], consent: Consent) -> tuple[str, ...]:
        raw = params.get("scope", "")
        return tuple(s.strip() for s in
                     raw.replace("+", " ").split(consent.scope_sep.strip() or None) if s.strip())

    def _check_request(self, params: dict[str, str], consent: Consent) -> Response | None:
        client = self.oauth().clients.get(params.get(consent.client_param, ""))
        if client is None:
            return _page(400, f"{consent.brand}: unbekannte Anwendung (invalid_client).")
        if params.get("redirect_uri") not in client.redirect_uris:
            return _page(400, f"{consent.brand}: diese Weiterleitungsadresse ist für die "
                              "Anwendung nicht eingetragen (redirect_uri_mismatch).")
        if params.get("response_type") != "code":
            return _redirect(params["redirect_uri"], {"error": "unsupported_response_type",
                                                      "state": params.get("state", "")})
        scopes = self.requested_scopes(params, consent)
        if client.scopes is not None and not set(scopes) <= set(client.scopes):
            return _redirect(params["redirect_uri"], {"error": "invalid_scope",
                                                      "state": params.get("state", "")})
        if params.get("code_challenge_method") not in (None, "S256", "plain"):
            return _redirect(params["redirect_uri"], {"error": "invalid_request",
                                                      "state": params.get("state", "")})
        return None

    # --- the token endpoint --------------------------------------------------------------
    def redeem(self, form: dict[str, str], consent: Consent) -> Grant | Response:
        """The checks of an ``authorization_code`` grant; the grant, or the error answer."""
        client_id = form.get(consent.client_param, "")
        with self.lock:
            state = self.oauth()
            client = state.clients.get(client_id)
            if client is None or form.get("client_secret") != client.secret:
                return Response(401, {"error": "invalid_client",
                                      "error_description": "Client authentication failed."})
            grant = state.codes.pop(form.get("code", ""), None)  # one use, even when it fails
        if grant is None or grant.expires <= time.time() or grant.client_id != client_id:
            return _invalid_grant("The authorization code is invalid, expired or used.")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _invalid_grant("redirect_uri does not match the authorization request.")
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            if not 43 <= len(verifier) <= 128:
                return _invalid_grant("code_verifier is missing or malformed.")
            expected = verifier if grant.method == "plain" else base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if expected != grant.challenge:
                return _invalid_grant("code_verifier does not match the code_challenge.")
        return grant


def _multi(req: Request) -> dict[str, list[str]]:
    out = {k: [v] for k, v in req.query.items()}
    if "x-www-form-urlencoded" in req.headers.get("content-type", "") and req.body:
        for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items():
            out[k] = v
    return out


def _redirect(uri: str, params: dict[str, str]) -> Response:
    sep = "&" if "?" in uri else "?"
    return Response(302, b"", {"Location": f"{uri}{sep}{urlencode(params)}"})


def _page(status: int, message: str) -> Response:
    return Response(status, f"<!doctype html><html lang=de><body><h1>Fehler</h1><p>"
                            f"{html.escape(message)}</p></body></html>",
                    {"Content-Type": "text/html; charset=utf-8"})


def _invalid_grant(description: str) -> Response:
    return Response(400, {"error": "invalid_grant", "error_description": description})


__all__ = ["CODE_TTL", "Client", "Consent", "ConsentServer", "Grant", "OAuthState"]

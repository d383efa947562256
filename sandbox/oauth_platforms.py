"""Each platform's authorization and token endpoints, mixed into its sandbox (one line in the
sandbox class's bases). The shared consent and code machinery is :mod:`sandbox.oauth`; the
protocols and their sources are in docs/platforms/connect.md.

* :class:`GoogleOAuth` (YouTube): ``/o/oauth2/v2/auth`` and ``POST /token`` with
  ``grant_type=authorization_code`` (PKCE S256), answering ``access_token``, ``expires_in``,
  ``refresh_token`` (with ``access_type=offline``), ``scope`` (what was granted), ``token_type``;
  ``POST /revoke``; ``channels.list`` answers ``snippet.title`` for ``part=snippet``.
* :class:`FacebookOAuth`, :class:`InstagramOAuth`: ``/{ver}/dialog/oauth`` (``scope`` or a
  Facebook Login for Business ``config_id``), ``GET /graph/{ver}/oauth/access_token`` for the code
  (a short-lived user token) and for ``grant_type=fb_exchange_token`` (a long-lived one,
  ``expires_in`` 5183944), ``/me/permissions`` and ``/me/accounts`` (Pages with their Page
  tokens, tasks and ``instagram_business_account``).
* :class:`TikTokOAuth`: ``/v2/auth/authorize/`` and ``POST /v2/oauth/token/`` with
  ``grant_type=authorization_code`` (``open_id``, comma-separated ``scope``, ``expires_in``,
  ``refresh_token``, ``refresh_expires_in``).
* :class:`MastodonOAuth`: ``POST /api/v1/apps``, ``/oauth/authorize``, ``POST /oauth/token``
  (``access_token``, ``token_type``, ``scope``, ``created_at``; no expiry), ``POST /oauth/revoke``.

Every token issued here is a token the sandbox's API routes accept (and can expire or revoke).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from .base import Request, Response, Sandbox, route
from .oauth import Client, Consent, ConsentServer

GOOGLE = Consent(brand="Google", return_scopes="scope")
META = Consent(brand="Facebook", scope_sep=",")
TIKTOK = Consent(brand="TikTok", client_param="client_key", scope_sep=",",
                 return_scopes="scopes")
MASTODON = Consent(brand="Mastodon")
META_APP = ("104857600999", "sandbox-meta-app-secret")
#: what the app's Facebook Login for Business configuration asks for (``config_id``)
META_CONFIG = {"5550001": ("pages_show_list", "pages_manage_posts", "pages_read_engagement",
                           "publish_video", "instagram_basic", "instagram_content_publish")}
LONG_LIVED = 5_183_944  # seconds, Meta's example answer
SHORT_LIVED = 5_400


# --- Google ----------------------------------------------------------------------------------
class GoogleOAuth(ConsentServer):
    """For :class:`sandbox.youtube.YouTubeSandbox` (its tokens, client and channel)."""

    client_id: str
    client_secret: str
    refresh_tokens: dict[str, frozenset[str]]
    token_ttl: float

    def oauth_builtin_clients(self) -> dict[str, str]:
        return {self.client_id: self.client_secret}

    @route("GET", "/o/oauth2/v2/auth")
    def google_consent(self, req: Request) -> Response:
        return self.consent_page(req, GOOGLE)

    @route("POST", "/o/oauth2/v2/auth")
    def google_decide(self, req: Request) -> Response:
        return self.consent_decide(req, GOOGLE)

    @route("POST", "/token")
    def google_token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "authorization_code":
            return self.token(req)  # type: ignore[attr-defined]  # the refresh grant
        grant = self.redeem(form, GOOGLE)
        if isinstance(grant, Response):
            return grant
        scopes = frozenset(grant.scopes)
        access = self._issue(scopes)  # type: ignore[attr-defined]
        body: dict[str, Any] = {"access_token": access, "expires_in": int(self.token_ttl),
                                "token_type": "Bearer", "scope": " ".join(sorted(scopes))}
        if grant.extra.get("access_type") == "offline":
            refresh = "1//sandbox-" + secrets.token_urlsafe(12)
            with self.lock:
                self.refresh_tokens[refresh] = scopes
            body["refresh_token"] = refresh
        return Response(200, body)

    @route("POST", "/revoke")
    def google_revoke(self, req: Request) -> Response:
        token = req.form().get("token", "")
        with self.lock:
            found = self.refresh_tokens.pop(token, None) is not None
            found = self.tokens.pop(token, None) is not None or found  # type: ignore[attr-defined]
        return Response(200, {}) if found else Response(400, {"error": "invalid_token"})

    @route("GET", "/youtube/v3/channels")
    def google_channels(self, req: Request) -> Response:
        resp = self.list_channels(req)  # type: ignore[attr-defined]
        if resp.status == 200 and "snippet" in req.query.get("part", ""):
            for item in resp.body.get("items", []):
                item["snippet"] = {"title": "Landkreis Ludwigslust-Parchim (Sandbox)"}
        return resp


# --- Meta (Facebook Login) -------------------------------------------------------------------
class _MetaOAuth(ConsentServer):
    tokens: dict[str, dict[str, Any]]

    def oauth_builtin_clients(self) -> dict[str, str]:
        return {META_APP[0]: META_APP[1]}

    def requested_scopes(self, params: dict[str, str], consent: Consent) -> tuple[str, ...]:
        if params.get("config_id"):
            return META_CONFIG.get(params["config_id"], ())
        return super().requested_scopes(params, consent)

    def meta_pages(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _page_token(self) -> str:
        token = "EAAPAGE-" + secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = {"kind": "page", "expired": False}
        return token

    @route("GET", "/{ver}/dialog/oauth")
    def meta_consent(self, req: Request) -> Response:
        return self.consent_page(req, META)

    @route("POST", "/{ver}/dialog/oauth")
    def meta_decide(self, req: Request) -> Response:
        return self.consent_decide(req, META)

    @route("GET", "/graph/{ver}/oauth/access_token")
    def meta_access_token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") == "fb_exchange_token":
            if (form.get("client_id"), form.get("client_secret")) != META_APP:
                return self.error(101, "Error validating application.")  # type: ignore[attr-defined]
            info = self.tokens.get(form.get("fb_exchange_token", ""))
            if info is None or info.get("kind") != "user" or info.get("expired"):
                return self.error(190, "Error validating access token: Session has expired.",  # type: ignore[attr-defined]
                                  subcode=463)
            return Response(200, self._user_token(info.get("scopes", ()), LONG_LIVED))
        grant = self.redeem(form, META)
        if isinstance(grant, Response):
            return self.error(100, "Invalid verification code format.")  # type: ignore[attr-defined]
        return Response(200, self._user_token(grant.scopes, SHORT_LIVED))

    def _user_token(self, scopes: Any, lifetime: int) -> dict[str, Any]:
        token = "EAAUSER-" + secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = {"kind": "user", "expired": False, "scopes": tuple(scopes),
                                  "expires": time.time() + lifetime}
        return {"access_token": token, "token_type": "bearer", "expires_in": lifetime}

    def _user(self, req: Request) -> tuple[dict[str, Any] | None, Response | None]:
        form = req.form()
        denied = self.authorize(req, form, kind="user")  # type: ignore[attr-defined]
        if denied is not None:
            return None, denied
        return self.tokens[self.token_of(req, form) or ""], None  # type: ignore[attr-defined]

    @route("GET", "/graph/{ver}/me/permissions")
    def meta_permissions(self, req: Request) -> Response:
        info, denied = self._user(req)
        if info is None:
            return denied  # type: ignore[return-value]
        granted = set(info.get("scopes", ()))
        wanted = set(META_CONFIG["5550001"]) | granted
        return Response(200, {"data": [
            {"permission": p, "status": "granted" if p in granted else "declined"}
            for p in sorted(wanted)]})

    @route("GET", "/graph/{ver}/me/accounts")
    def meta_accounts(self, req: Request) -> Response:
        info, denied = self._user(req)
        if info is None:
            return denied  # type: ignore[return-value]
        if "pages_show_list" not in info.get("scopes", ()):
            return Response(200, {"data": []})
        wanted = _fields(req.query.get("fields", "id,name"))
        pages = [{k: v for k, v in page.items() if k in wanted} for page in self.meta_pages()]
        return Response(200, {"data": pages, "paging": {}})


class FacebookOAuth(_MetaOAuth):
    """For :class:`sandbox.facebook.FacebookSandbox`: its one Page."""

    page_id: str

    def meta_pages(self) -> list[dict[str, Any]]:
        return [{"id": self.page_id, "name": "Landkreis (Sandbox-Seite)",
                 "access_token": self._page_token(), "category": "Regierungsbehörde",
                 "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]}]


class InstagramOAuth(_MetaOAuth):
    """For :class:`sandbox.instagram.InstagramSandbox`: a Page linked to its IG account."""

    ig_user_id: str

    def meta_pages(self) -> list[dict[str, Any]]:
        return [{"id": "104857600000002", "name": "Landkreis Ludwigslust-Parchim",
                 "access_token": self._page_token(), "category": "Regierungsbehörde",
                 "tasks": ["ANALYZE", "CREATE_CONTENT", "MANAGE"],
                 "instagram_business_account": {"id": self.ig_user_id,
                                                "username": "landkreis_sandbox"}}]


def _fields(spec: str) -> set[str]:
    """The top-level names of a Graph ``fields`` list (``a,b{c,d}`` -> {a, b})."""
    return {m.group(1) for m in re.finditer(r"(?:^|,)\s*([A-Za-z_]+)", re.sub(r"\{[^}]*\}", "",
                                                                              spec))}


# --- TikTok ----------------------------------------------------------------------------------
class TikTokOAuth(ConsentServer):
    """For :class:`sandbox.tiktok.TikTokSandbox` (its client, access and refresh tokens)."""

    client: tuple[str, str]
    access: dict[str, float]
    refresh: set[str]
    access_ttl: int

    def oauth_builtin_clients(self) -> dict[str, str]:
        return {self.client[0]: self.client[1]}

    @route("GET", "/v2/auth/authorize")
    def tiktok_consent(self, req: Request) -> Response:
        return self.consent_page(req, TIKTOK)

    @route("POST", "/v2/auth/authorize")
    def tiktok_decide(self, req: Request) -> Response:
        return self.consent_decide(req, TIKTOK)

    @route("POST", "/v2/oauth/token")
    def tiktok_token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "authorization_code":
            return self.token(req)  # type: ignore[attr-defined]  # refresh (rotating)
        grant = self.redeem(form, TIKTOK)
        if isinstance(grant, Response):
            return grant
        access = f"tiktok-access-{secrets.token_hex(6)}"
        refresh = f"tiktok-refresh-{secrets.token_hex(6)}"
        with self.lock:
            self.access[access] = self.now() + self.access_ttl  # type: ignore[attr-defined]
            self.refresh.add(refresh)
        return Response(200, {"open_id": "sandbox-open-id", "scope": ",".join(grant.scopes),
                              "access_token": access, "expires_in": self.access_ttl,
                              "refresh_token": refresh, "refresh_expires_in": 15_552_000,
                              "token_type": "Bearer"})


# --- Mastodon --------------------------------------------------------------------------------
class MastodonOAuth(ConsentServer):
    """For :class:`sandbox.mastodon.MastodonSandbox` (its access tokens, account 1). These
    endpoints are public ("OAuth: Public" in Mastodon's documents), so they are answered before
    the sandbox's bearer-token check."""

    tokens: dict[str, str]
    PUBLIC = re.compile(r"^/(api/v1/apps|oauth/(authorize|token|revoke))/?$")

    def handle_control(self, req: Request) -> Response | None:
        if self.PUBLIC.match(req.path):
            return Sandbox.dispatch(self, req)  # type: ignore[arg-type]
        return super().handle_control(req)  # type: ignore[misc, no-any-return]

    @route("POST", "/api/v1/apps")
    def mastodon_apps(self, req: Request) -> Response:
        data = req.json() if "json" in req.headers.get("content-type", "") else req.form()
        uris = data.get("redirect_uris") or ""
        uris = [uris] if isinstance(uris, str) else list(uris)
        if not data.get("client_name") or not uris or not all(
                re.match(r"^(https?://\S+|urn:ietf:wg:oauth:2\.0:oob)$", u) for u in uris):
            return Response(422, {"error": "Validation failed: Redirect URI must be an "
                                           "absolute URI."})
        scopes = tuple(str(data.get("scopes") or "read").split())
        client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.lock:
            self.oauth().clients[client_id] = Client(secret=secret, redirect_uris=set(uris),
                                                     scopes=scopes)
            app_id = str(len(self.oauth().clients))
        return Response(200, {"id": app_id, "name": data["client_name"],
                              "website": data.get("website"), "scopes": list(scopes),
                              "redirect_uri": "\n".join(uris), "redirect_uris": uris,
                              "client_id": client_id, "client_secret": secret,
                              "client_secret_expires_at": 0})

    @route("GET", "/oauth/authorize")
    def mastodon_consent(self, req: Request) -> Response:
        return self.consent_page(req, MASTODON)

    @route("POST", "/oauth/authorize")
    def mastodon_decide(self, req: Request) -> Response:
        return self.consent_decide(req, MASTODON)

    @route("POST", "/oauth/token")
    def mastodon_token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "authorization_code":
            return Response(400, {"error": "unsupported_grant_type"})
        grant = self.redeem(form, MASTODON)
        if isinstance(grant, Response):
            return grant
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = "1"
        return Response(200, {"access_token": token, "token_type": "Bearer",
                              "scope": " ".join(grant.scopes), "created_at": int(time.time())})

    @route("POST", "/oauth/revoke")
    def mastodon_revoke(self, req: Request) -> Response:
        form = req.form()
        client = self.oauth().clients.get(form.get("client_id", ""))
        if client is None or client.secret != form.get("client_secret"):
            return Response(403, {"error": "unauthorized_client"})
        with self.lock:
            self.tokens.pop(form.get("token", ""), None)
        return Response(200, {})


__all__ = ["GOOGLE", "MASTODON", "META", "META_APP", "META_CONFIG", "TIKTOK", "FacebookOAuth",
           "GoogleOAuth", "InstagramOAuth", "MastodonOAuth", "TikTokOAuth"]

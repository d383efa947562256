"""YouTube: Google's OAuth 2.0 for web server applications, with PKCE.

    GET  https://accounts.google.com/o/oauth2/v2/auth   client_id, redirect_uri,
         response_type=code, scope (space-separated), access_type=offline, prompt=consent,
         include_granted_scopes=true, state, code_challenge, code_challenge_method=S256
    POST https://oauth2.googleapis.com/token            grant_type=authorization_code, code,
         client_id, client_secret, redirect_uri, code_verifier
         -> access_token, expires_in, refresh_token, scope, token_type
    GET  {api_base}/channels?part=snippet&mine=true     the channel the person chose on
                                                          Google's page, confirmed here

With granular consent a person may untick a scope; the token answer's ``scope`` lists what was
granted and is checked. A project whose consent screen is in Testing gets refresh tokens that
lapse after 7 days (option ``oauth_testing``). Sources: docs/platforms/connect.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from episodes.capabilities.youtube import YouTubeOptions
from episodes.connections import Facts
from episodes.models import utcnow

from .base import Choice, ConnectError, Connector, Exchanged, Finished, expires, when

AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
_AUTH = "https://www.googleapis.com/auth/"
UPLOAD, FORCE_SSL = _AUTH + "youtube.upload", _AUTH + "youtube.force-ssl"
TESTING_REFRESH_DAYS = 7


class YouTubeConnector(Connector):
    platform = "youtube"
    label = "Google (YouTube)"
    pkce = True
    REQUIRED: ClassVar[dict[str, str]] = {
        UPLOAD: "Videos hochladen",
        FORCE_SSL: "Untertitel hochladen, Videos und Playlists verwalten"}

    @property
    def opts(self) -> YouTubeOptions:
        """The account's options, typed (``token_url``, ``oauth_testing``; their defaults live
        in ``episodes.capabilities.youtube``, as for the adapter)."""
        return YouTubeOptions.model_validate(dict(self.account.options))

    def authorize_url(self, state: str, challenge: str, credentials: Any) -> str:
        assert self.app is not None
        query = {
            "client_id": self.app.require("client_id"), "redirect_uri": self.redirect_uri,
            "response_type": "code", "scope": " ".join(self.REQUIRED),
            "access_type": "offline", "prompt": "consent", "include_granted_scopes": "true",
            "state": state, "code_challenge": challenge, "code_challenge_method": "S256",
        }
        return f"{self.option('authorize_url', AUTHORIZE)}?{urlencode(query)}"

    def exchange(self, code: str, verifier: str, credentials: Any) -> Exchanged:
        assert self.app is not None
        body = self.call("POST", self.opts.token_url, what="den Anmeldecode", data={
            "grant_type": "authorization_code", "code": code,
            "client_id": self.app.require("client_id"),
            "client_secret": self.app.require("client_secret"),
            "redirect_uri": self.redirect_uri, "code_verifier": verifier,
        })
        granted = set(str(body.get("scope", "")).split())
        self.check_scopes(granted)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not access or not refresh:
            raise ConnectError(
                "Google hat kein dauerhaftes Zugangs-Token (Refresh-Token) geliefert. Bitte die "
                "Verbindung unter https://myaccount.google.com/permissions entfernen und noch "
                "einmal verbinden.")
        now = utcnow()
        secrets = {"access_token": str(access), "refresh_token": str(refresh),
                   "access_token_expires_at":
                       f"{(expires(body.get('expires_in'), now=now) or now).timestamp():.0f}"}
        refresh_ends = expires(body.get("refresh_token_expires_in"), now=now)
        if refresh_ends is None and self.opts.oauth_testing:
            refresh_ends = expires(TESTING_REFRESH_DAYS * 86400, now=now)
        listing = self.call("GET", f"{self.account.api_base}/channels", what="die Kanalliste",
                            params={"part": "snippet", "mine": "true"},
                            headers={"Authorization": f"Bearer {access}"})
        items = listing.get("items") or []
        if not items:
            raise ConnectError("Zu diesem Google-Konto gehört kein YouTube-Kanal. Bitte mit dem "
                               "Konto verbinden, dem der Kanal des Landkreises gehört (bei einem "
                               "Markenkonto auf Googles Seite den Kanal auswählen).")
        choices = tuple(Choice(id=str(i["id"]),
                               name=str((i.get("snippet") or {}).get("title") or i["id"]),
                               detail=f"Kanal-ID {i['id']}") for i in items)
        return Exchanged(secrets=secrets, scopes=tuple(sorted(granted)), choices=choices,
                         pending={"refresh_expires_at":
                                  refresh_ends.isoformat() if refresh_ends else None})

    def choose(self, staged: Mapping[str, str], picked: Mapping[str, Any],
               pending: Mapping[str, Any]) -> Finished:
        return Finished(secrets=dict(staged), facts=Facts(
            remote_id=picked["id"], remote_name=picked["name"],
            scopes=tuple(pending.get("scopes") or ()),
            refresh_expires_at=when(pending.get("refresh_expires_at")),
            details={"channel_id": picked["id"]}))


__all__ = ["AUTHORIZE", "FORCE_SSL", "UPLOAD", "YouTubeConnector"]

"""Mastodon: the staffer names the instance; wtg registers itself there, then the OAuth 2
authorization code flow.

    POST {instance}/api/v1/apps          client_name, redirect_uris, scopes, website
         -> client_id, client_secret (kept in the account's secrets store; reused while the
            instance and the redirect URI stay the same)
    GET  {instance}/oauth/authorize      response_type=code, client_id, redirect_uri, scope,
         state
    POST {instance}/oauth/token          grant_type=authorization_code, code, client_id,
         client_secret, redirect_uri, scope -> access_token, token_type, scope, created_at
    GET  {instance}/api/v1/accounts/verify_credentials   who was connected

Tokens do not expire until revoked. Mastodon's documents for these endpoints name no PKCE
parameters; wtg is a confidential client and sends none (docs/platforms/connect.md).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from episodes.connections import Facts

from .base import ConnectError, Connector, Exchanged

SCOPES = ("read:accounts", "read:statuses", "write:media", "write:statuses")
CLIENT_NAME = "wtg – Wir tun GUTes (Landkreis Ludwigslust-Parchim)"


def instance_url(text: str) -> str:
    """What the staffer typed (``social.example``, ``https://social.example/@lup``) as the
    instance's base URL; German ``ConnectError`` if it is not one."""
    text = text.strip()
    if not text:
        raise ConnectError("Bitte die Adresse der Mastodon-Instanz angeben, z. B. "
                           "„https://mastodon.social“.")
    if "://" not in text:
        text = "https://" + text.lstrip("@").split("@")[-1]
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        raise ConnectError(f"„{text}“ ist keine gültige Adresse einer Mastodon-Instanz.")
    return f"{parts.scheme}://{parts.netloc}"


class MastodonConnector(Connector):
    platform = "mastodon"
    label = "Mastodon"
    REQUIRED: ClassVar[dict[str, str]] = {
        "write:media": "Videos hochladen",
        "write:statuses": "Beiträge veröffentlichen",
        "read:statuses": "eigene Beiträge lesen (Abgleich, nie doppelt posten)",
        "read:accounts": "das eigene Konto erkennen",
    }

    @property
    def instance(self) -> str:
        return str(self.params["instance"])

    def prepare(self, credentials: Any) -> dict[str, Any]:
        """Register wtg on the instance, unless this instance already knows it under the
        same redirect URI."""
        app = self.params.get("app") or {}
        if (app.get("instance") == self.instance and app.get("redirect_uri") ==
                self.redirect_uri and credentials.get("client_id")
                and credentials.get("client_secret")):
            return {"app": app}
        body = self.call("POST", f"{self.instance}/api/v1/apps",
                         what="die Anmeldung von wtg als Anwendung",
                         json={"client_name": CLIENT_NAME, "redirect_uris": [self.redirect_uri],
                               "scopes": " ".join(SCOPES),
                               "website": self.public_url or None})
        if not body.get("client_id") or not body.get("client_secret"):
            raise ConnectError(f"{self.instance} hat wtg nicht als Anwendung angenommen.")
        credentials.update({"client_id": str(body["client_id"]),
                            "client_secret": str(body["client_secret"])})
        return {"app": {"instance": self.instance, "redirect_uri": self.redirect_uri,
                        "app_id": str(body.get("id", ""))}}

    def authorize_url(self, state: str, challenge: str, credentials: Any) -> str:
        query = {"response_type": "code", "client_id": credentials.require("client_id"),
                 "redirect_uri": self.redirect_uri, "scope": " ".join(SCOPES), "state": state}
        return f"{self.instance}/oauth/authorize?{urlencode(query)}"

    def exchange(self, code: str, verifier: str, credentials: Any) -> Exchanged:
        client_id, secret = credentials.get("client_id"), credentials.get("client_secret")
        if not client_id or not secret:
            raise ConnectError("Die Anmeldung von wtg bei der Instanz fehlt. Bitte noch einmal "
                               "verbinden.")
        body = self.call("POST", f"{self.instance}/oauth/token", what="den Anmeldecode", data={
            "grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": secret, "redirect_uri": self.redirect_uri,
            "scope": " ".join(SCOPES)})
        granted = set(str(body.get("scope", "")).split())
        self.check_scopes(granted)
        token = body.get("access_token")
        if not token:
            raise ConnectError(f"{self.instance} hat kein Zugangs-Token geliefert.")
        me = self.call("GET", f"{self.instance}/api/v1/accounts/verify_credentials",
                       what="die Prüfung des Kontos",
                       headers={"Authorization": f"Bearer {token}"})
        host = urlsplit(self.instance).netloc
        acct = str(me.get("acct") or me.get("username") or me.get("id"))
        facts = Facts(
            remote_id=str(me.get("id", "")), remote_name=f"@{acct.split('@')[0]}@{host}",
            scopes=tuple(sorted(granted)), api_base=self.instance,
            options={"account_id": str(me.get("id", ""))} if me.get("id") else {},
            details={"app": self.params.get("app") or {}, "url": str(me.get("url") or "")})
        return Exchanged(secrets={"access_token": str(token), "client_id": str(client_id),
                                  "client_secret": str(secret)},
                         scopes=facts.scopes, facts=facts)


__all__ = ["SCOPES", "MastodonConnector", "instance_url"]

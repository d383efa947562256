"""Facebook Page and Instagram: Facebook Login (for Business), one Meta app for both.

    GET https://www.facebook.com/{ver}/dialog/oauth   client_id, redirect_uri, state,
        response_type=code, and scope (comma-separated permissions) or, with Facebook Login for
        Business, the app's config_id
    GET {graph}/oauth/access_token                    client_id, redirect_uri, client_secret,
        code -> a short-lived user token
    GET {graph}/oauth/access_token                    grant_type=fb_exchange_token, client_id,
        client_secret, fb_exchange_token -> a long-lived user token (about 60 days, expires_in)
    GET {graph}/me/permissions                        [{permission, status}]: what was granted
    GET {graph}/me/accounts?fields=id,name,access_token,tasks,instagram_business_account{...}
        the Pages the person manages, each with its Page token and linked Instagram account

Facebook posts with the chosen Page's token (from a long-lived user token it does not expire
until revoked); Instagram posts with the long-lived user token and the chosen Page's linked
Instagram professional account, so it lapses after about 60 days. Sources:
docs/platforms/connect.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

from episodes.connections import Facts
from episodes.models import utcnow

from .base import Choice, ConnectError, Connector, Exchanged, Finished, expires, when

DIALOG = "https://www.facebook.com/{version}/dialog/oauth"
DEFAULT_VERSION = "v24.0"
LONG_LIVED_DAYS = 60  # "generally lasts about 60 days" when expires_in is missing
_PAGE_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"


class _MetaConnector(Connector):
    """The part both Meta platforms share: login, long-lived token, permissions, pages."""

    def _version(self) -> str:
        found = re.search(r"/(v\d+\.\d+)$", self.account.api_base)
        return found.group(1) if found else DEFAULT_VERSION

    def authorize_url(self, state: str, challenge: str, credentials: Any) -> str:
        assert self.app is not None
        query = {"client_id": self.app.require("client_id"), "redirect_uri": self.redirect_uri,
                 "state": state, "response_type": "code"}
        config_id = self.app.get("config_id")
        if config_id:  # Facebook Login for Business: the configuration names the permissions
            query["config_id"] = config_id
        else:
            query["scope"] = ",".join(self.REQUIRED)
        base = self.option("authorize_url", DIALOG.format(version=self._version()))
        return f"{base}?{urlencode(query)}"

    def _user_token(self, code: str) -> tuple[str, Any]:
        assert self.app is not None
        graph = self.account.api_base
        app_id, secret = self.app.require("client_id"), self.app.require("client_secret")
        short = self.call("GET", f"{graph}/oauth/access_token", what="den Anmeldecode",
                          params={"client_id": app_id, "redirect_uri": self.redirect_uri,
                                  "client_secret": secret, "code": code})
        if not short.get("access_token"):
            raise ConnectError("Facebook hat kein Zugangs-Token geliefert.")
        long = self.call("GET", f"{graph}/oauth/access_token",
                         what="den Tausch gegen ein langlebiges Token",
                         params={"grant_type": "fb_exchange_token", "client_id": app_id,
                                 "client_secret": secret,
                                 "fb_exchange_token": short["access_token"]})
        if not long.get("access_token"):
            raise ConnectError("Facebook hat kein langlebiges Zugangs-Token geliefert.")
        return str(long["access_token"]), long.get("expires_in")

    def _granted(self, token: str) -> set[str]:
        body = self.call("GET", f"{self.account.api_base}/me/permissions",
                         what="die Liste der Berechtigungen", params={"access_token": token})
        return {str(p.get("permission")) for p in body.get("data") or []
                if p.get("status") == "granted"}

    def _pages(self, token: str) -> list[dict[str, Any]]:
        body = self.call("GET", f"{self.account.api_base}/me/accounts",
                         what="die Liste der Seiten",
                         params={"fields": _PAGE_FIELDS, "limit": "100", "access_token": token})
        return [p for p in body.get("data") or [] if isinstance(p, dict) and p.get("id")]

    def exchange(self, code: str, verifier: str, credentials: Any) -> Exchanged:
        token, lifetime = self._user_token(code)
        granted = self._granted(token)
        self.check_scopes(granted)
        return self._offer(token, lifetime, granted, self._pages(token))

    def _offer(self, token: str, lifetime: Any, granted: set[str],
               pages: list[dict[str, Any]]) -> Exchanged:
        raise NotImplementedError


class FacebookConnector(_MetaConnector):
    platform = "facebook"
    label = "Facebook"
    REQUIRED: ClassVar[dict[str, str]] = {
        "pages_show_list": "die Seiten des Landkreises sehen",
        "pages_manage_posts": "auf der Seite veröffentlichen",
        "pages_read_engagement": "Beiträge der Seite lesen (Abgleich, nie doppelt posten)",
        "publish_video": "Videos auf der Seite veröffentlichen",
    }

    def _offer(self, token: str, lifetime: Any, granted: set[str],
               pages: list[dict[str, Any]]) -> Exchanged:
        usable = [p for p in pages if p.get("access_token") and (
            not p.get("tasks") or "CREATE_CONTENT" in p["tasks"])]
        if not usable:
            raise ConnectError(
                "Mit diesem Facebook-Konto kann auf keiner Seite veröffentlicht werden (es fehlt "
                "die Aufgabe „Inhalte erstellen“). Bitte mit einem Konto verbinden, das die "
                "Seite des Landkreises verwaltet, und die Seite auf Facebooks Seite auswählen.")
        return Exchanged(
            secrets={f"page:{p['id']}": str(p["access_token"]) for p in usable},
            scopes=tuple(sorted(granted)),
            choices=tuple(Choice(id=str(p["id"]), name=str(p.get("name") or p["id"]),
                                 detail=f"Seiten-ID {p['id']}") for p in usable))

    def choose(self, staged: Mapping[str, str], picked: Mapping[str, Any],
               pending: Mapping[str, Any]) -> Finished:
        token = staged.get(f"page:{picked['id']}")
        if not token:
            raise ConnectError("Für diese Seite liegt kein Zugang vor. Bitte neu verbinden.")
        return Finished(secrets={"access_token": token}, facts=Facts(
            remote_id=str(picked["id"]), remote_name=str(picked["name"]),
            scopes=tuple(pending.get("scopes") or ()), options={"page_id": str(picked["id"])},
            details={"page_token": "läuft nicht ab, bis es widerrufen wird"}))


class InstagramConnector(_MetaConnector):
    platform = "instagram"
    label = "Instagram (über Facebook)"
    REQUIRED: ClassVar[dict[str, str]] = {
        "instagram_basic": "das Instagram-Konto lesen",
        "instagram_content_publish": "Reels veröffentlichen",
        "pages_show_list": "die mit Instagram verknüpfte Seite finden",
        "pages_read_engagement": "die verknüpfte Seite lesen",
    }

    def _offer(self, token: str, lifetime: Any, granted: set[str],
               pages: list[dict[str, Any]]) -> Exchanged:
        linked = [p for p in pages if isinstance(p.get("instagram_business_account"), dict)]
        if not linked:
            raise ConnectError(
                "Keine der Seiten dieses Facebook-Kontos ist mit einem Instagram-Profikonto "
                "verknüpft. Bitte in Instagram das Konto auf „Professionell“ umstellen, mit der "
                "Seite des Landkreises verknüpfen und noch einmal verbinden.")
        ends = expires(lifetime) or expires(LONG_LIVED_DAYS * 86400, now=utcnow())
        choices = []
        for p in linked:
            ig = p["instagram_business_account"]
            name = f"@{ig['username']}" if ig.get("username") else str(ig["id"])
            choices.append(Choice(id=str(ig["id"]), name=name,
                                  detail=f"verknüpft mit der Seite „{p.get('name', p['id'])}“"))
        return Exchanged(secrets={"access_token": token}, scopes=tuple(sorted(granted)),
                         choices=tuple(choices),
                         pending={"token_expires_at": ends.isoformat() if ends else None})

    def choose(self, staged: Mapping[str, str], picked: Mapping[str, Any],
               pending: Mapping[str, Any]) -> Finished:
        return Finished(secrets={"access_token": staged["access_token"]}, facts=Facts(
            remote_id=str(picked["id"]), remote_name=str(picked["name"]),
            scopes=tuple(pending.get("scopes") or ()),
            options={"ig_user_id": str(picked["id"])},
            token_expires_at=when(pending.get("token_expires_at")),
            details={"page": picked.get("detail", "")}))


__all__ = ["FacebookConnector", "InstagramConnector"]

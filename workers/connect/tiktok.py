"""TikTok: Login Kit for Web (OAuth v2) and the creator's info.

    GET  https://www.tiktok.com/v2/auth/authorize/   client_key, scope (comma-separated),
         response_type=code, redirect_uri, state
    POST https://open.tiktokapis.com/v2/oauth/token/ client_key, client_secret, code,
         grant_type=authorization_code, redirect_uri
         -> open_id, scope (comma-separated, what the person agreed to), access_token,
            expires_in, refresh_token, refresh_expires_in, token_type
    POST /v2/post/publish/creator_info/query/        username, nickname, privacy options,
         longest video -- shown to the admin after connecting

PKCE: TikTok's token endpoint documents ``code_verifier`` as "required for mobile and desktop
app only"; a web app sends none (docs/platforms/connect.md). The refresh token rotates with
every refresh (the adapter stores each new pair); its end is known from ``refresh_expires_in``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from episodes.connections import Facts

from .base import ConnectError, Connector, Exchanged, expires

AUTHORIZE = "https://www.tiktok.com/v2/auth/authorize/"
PRIVACY_DE = {"PUBLIC_TO_EVERYONE": "öffentlich", "MUTUAL_FOLLOW_FRIENDS": "Freunde",
              "FOLLOWER_OF_CREATOR": "Follower", "SELF_ONLY": "nur ich"}


class TikTokConnector(Connector):
    platform = "tiktok"
    label = "TikTok"
    REQUIRED: ClassVar[dict[str, str]] = {"video.publish": "Videos direkt veröffentlichen"}
    ASKED = ("user.info.basic", "video.publish")

    def authorize_url(self, state: str, challenge: str, credentials: Any) -> str:
        assert self.app is not None
        query = {"client_key": self.app.require("client_key"), "scope": ",".join(self.ASKED),
                 "response_type": "code", "redirect_uri": self.redirect_uri, "state": state}
        return f"{self.option('authorize_url', AUTHORIZE)}?{urlencode(query)}"

    def exchange(self, code: str, verifier: str, credentials: Any) -> Exchanged:
        assert self.app is not None
        api = self.account.api_base
        body = self.call("POST", f"{api}/v2/oauth/token/", what="den Anmeldecode", data={
            "client_key": self.app.require("client_key"),
            "client_secret": self.app.require("client_secret"),
            "code": code, "grant_type": "authorization_code", "redirect_uri": self.redirect_uri,
        })
        if body.get("error"):
            raise ConnectError(f"TikTok hat den Anmeldecode abgelehnt ({body.get('error')}). "
                               "Bitte noch einmal verbinden.")
        granted = {s.strip() for s in str(body.get("scope", "")).split(",") if s.strip()}
        self.check_scopes(granted)
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not access or not refresh:
            raise ConnectError("TikTok hat keine vollständigen Zugangsdaten geliefert.")
        info = self.call("POST", f"{api}/v2/post/publish/creator_info/query/",
                         what="die Angaben zum Konto",
                         headers={"Authorization": f"Bearer {access}",
                                  "Content-Type": "application/json; charset=UTF-8"})
        data = info.get("data") or {}
        username = str(data.get("creator_username") or body.get("open_id") or "")
        nickname = str(data.get("creator_nickname") or "")
        options = [PRIVACY_DE.get(o, o) for o in data.get("privacy_level_options") or []]
        creator = {"username": username, "nickname": nickname,
                   "privacy_options": options,
                   "max_video_seconds": data.get("max_video_post_duration_sec")}
        facts = Facts(
            remote_id=str(body.get("open_id") or username),
            remote_name=f"@{username}" + (f" ({nickname})" if nickname else ""),
            scopes=tuple(sorted(granted)),
            refresh_expires_at=expires(body.get("refresh_expires_in")),
            details={"creator": creator})
        return Exchanged(secrets={"access_token": str(access), "refresh_token": str(refresh)},
                         scopes=facts.scopes, facts=facts, summary={"creator": creator})


__all__ = ["AUTHORIZE", "TikTokConnector"]

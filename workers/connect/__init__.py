"""Connecting accounts in the dashboard: one connector per platform (the authorization code
flow each platform documents) and the accounts' health (``health``).

    connector(account, settings, redirect_uri=..., params=...)  -> the platform's Connector
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config import AccountSettings, Settings
from config.credentials import PLATFORM_APP
from config.loader import oauth_app

from .base import (
    Choice,
    ConnectError,
    Connector,
    Exchanged,
    Finished,
    MissingScopes,
    pkce_pair,
)
from .google import YouTubeConnector
from .mastodon import MastodonConnector, instance_url
from .meta import FacebookConnector, InstagramConnector
from .tiktok import TikTokConnector

CONNECTORS: dict[str, type[Connector]] = {
    c.platform: c for c in (YouTubeConnector, FacebookConnector, InstagramConnector,
                            TikTokConnector, MastodonConnector)
}


def connector(account: AccountSettings, settings: Settings, *, redirect_uri: str,
              params: Mapping[str, Any] | None = None,
              environ: Mapping[str, str] | None = None) -> Connector:
    """The connector for ``account`` (its settings with the connection overlaid), with wtg's
    OAuth app for the platform (none for Mastodon: wtg registers itself per instance)."""
    app_name = PLATFORM_APP.get(account.platform)
    app = oauth_app(app_name, settings, environ) if app_name else None
    return CONNECTORS[account.platform](account, app=app, redirect_uri=redirect_uri,
                                        params=params, public_url=settings.dashboard.public_url)


__all__ = ["CONNECTORS", "Choice", "ConnectError", "Connector", "Exchanged", "Finished",
           "MissingScopes", "connector", "instance_url", "pkce_pair"]

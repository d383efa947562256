"""The YouTube adapter's connection: quota costs, the error table, OAuth.

Everything that decides *how* one request to the YouTube Data API v3 is sent and how its answer
is read lives here; :mod:`.youtube` decides *which* requests make a post.

Quota (determine_quota_cost and the revision history, read 2026-11): since 2026-06-01
``videos.insert`` has its own bucket (default 100 calls a day, cost 1 per call); every other
method draws on 10,000 units a day (captions.insert 400, captions.list 50, thumbnails.set 50,
videos.update 50, playlistItems.insert 50, videos.list / playlistItems.list / channels.list 1).
Quotas reset at midnight Pacific time. Every cost is an account option, so a change at Google is
a settings change here. ``ctx.quota`` (one ledger per account) is charged with the method name as
``what``; a ledger that keeps Google's two buckets can route ``"videos.insert"`` to its own.

Account options: the typed model ``YouTubeOptions`` of ``episodes.capabilities.youtube`` (the
one place their defaults live), all optional; the client reads it as ``self.opts``:

    upload_base          upload endpoint root; default: api_base with /youtube/v3 ->
                         /upload/youtube/v3 (https://www.googleapis.com/upload/youtube/v3)
    token_url            OAuth token endpoint (https://oauth2.googleapis.com/token)
    chunk_size           bytes per PUT, a multiple of 262144 (8 MiB)
    category_id          snippet.categoryId ("29" = Nonprofits & Activism)
    publish_privacy      what publish sets: "public" (or "unlisted" for rehearsals)
    notify_subscribers   videos.insert notifySubscribers (true)
    contains_synthetic_media   status.containsSyntheticMedia (false)
    language             defaultLanguage/defaultAudioLanguage and caption language ("de")
    caption_name         caption track name ("Deutsch")
    thumbnail_max_bytes  2 MiB (Google raised the limit to 50 MB on 2026-09-14; some copies of
                         the page still say 2 MB, so the default stays conservative)
    watch_url            prefix of the public URL ("https://www.youtube.com/watch?v=")
    min_schedule_lead    seconds ``publishAt`` must lie ahead (900; nearer: ScheduleTooClose)
    cost_videos_insert 1, cost_videos_list 1, cost_videos_update 50, cost_videos_delete 50,
    cost_captions_insert 400, cost_captions_list 50, cost_thumbnails_set 50,
    cost_playlist_items_insert 50, cost_playlist_items_list 1, cost_channels_list 1

Read elsewhere: ``playlist_id`` (the orchestrator), ``daily_quota_units`` (10000) and
``quota_timezone`` (the ledger, ``workers.publishing.DbQuota``), ``upload_quota_units`` (600,
pre-flight), ``oauth_testing`` (the connect flow, ``workers.connect.google``).
``daily_upload_calls`` (100, Google's separate ``videos.insert`` bucket) is accepted but not
counted by wtg's ledger.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import requests

from episodes.capabilities import parse_options
from episodes.capabilities.youtube import YouTubeOptions

from .base import Account, Credentials, QuotaLedger
from .errors import (
    ConnectionLost,
    CredentialsExpired,
    PlatformError,
    PlatformUnavailable,
    QuotaExhausted,
    RateLimited,
    RejectedByPlatform,
)
from .http import PlatformHTTP, retry_after_seconds

PLATFORM = "youtube"
SCOPE_FORCE_SSL = "https://www.googleapis.com/auth/youtube.force-ssl"
PACIFIC = ZoneInfo("America/Los_Angeles")


def quota_cost(opts: YouTubeOptions, method: str) -> int:
    """Units ``"videos.insert"``, ``"playlistItems.list"`` ... cost: the account's ``cost_*``
    option (unknown methods: 1)."""
    key = "cost_" + method.replace(".", "_").replace("playlistItems", "playlist_items")
    return int(getattr(opts, key, 1))


def upload_base(opts: YouTubeOptions, api_base: str) -> str:
    """The upload root: the ``upload_base`` option, else ``api_base`` with ``/youtube/v3`` ->
    ``/upload/youtube/v3``."""
    base = opts.upload_base or api_base.rstrip("/").replace("/youtube/v3", "/upload/youtube/v3")
    return base.rstrip("/")


def next_pacific_midnight(now: datetime | None = None) -> datetime:
    """When YouTube's daily quota resets (midnight America/Los_Angeles), as an aware time."""
    local = (now or datetime.now(UTC)).astimezone(PACIFIC)
    nxt = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return nxt.astimezone(UTC)


_REJECT_DE = {
    "invalidTitle": "der Titel ist leer, länger als 100 Zeichen oder enthält < oder >",
    "invalidDescription": "die Beschreibung ist länger als 5.000 Bytes oder enthält < oder >",
    "invalidTags": "die Schlagwörter (Tags) sind zusammen länger als 500 Zeichen",
    "invalidCategoryId": "die Kategorie (category_id des Kontos) gibt es nicht",
    "invalidPublishAt": "der geplante Veröffentlichungszeitpunkt liegt nicht in der Zukunft",
    "forbiddenPrivacySetting": "diese Sichtbarkeit ist für das Video nicht erlaubt",
    "invalidImage": "das Vorschaubild ist kein gültiges JPEG/PNG oder zu groß",
    "mediaBodyRequired": "die Datei fehlte in der Anfrage",
    "videoNotFound": "das Video gibt es auf dem Kanal nicht (mehr)",
    "playlistNotFound": "die Playlist des Kontos gibt es nicht",
    "captionExists": "diese Untertitelspur gibt es schon",
    "failedPrecondition": "das Video ist noch nicht fertig verarbeitet",
}


def _reason(body: Any) -> tuple[str | None, str]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        errors = err.get("errors") or [{}]
        return errors[0].get("reason"), str(err.get("message", ""))
    return None, body if isinstance(body, str) else repr(body)


def classify(status: int, body: Any, headers: Mapping[str, str]) -> PlatformError | None:
    """The typed error for a YouTube/Google answer, or None when it is not an error."""
    if status < 400:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):  # the OAuth token endpoint
        code = body["error"]
        detail = str(body.get("error_description", ""))
        if code == "invalid_grant":
            return CredentialsExpired(PLATFORM, detail, code=code, status=status, message_de=(
                "Der YouTube-Zugang ist abgelaufen oder wurde widerrufen (invalid_grant). Bitte "
                "das Konto neu verbinden. Hinweis: Solange die OAuth-App in der Google Cloud im "
                "Status „Testing“ ist, gelten Refresh-Tokens nur 7 Tage – die App auf „In "
                "production“ stellen."))
        if code in ("invalid_client", "unauthorized_client"):
            return CredentialsExpired(PLATFORM, detail, code=code, status=status, message_de=(
                "YouTube kennt die OAuth-App nicht (client_id/client_secret falsch oder "
                "gelöscht). Bitte die Zugangsdaten des Kontos prüfen."))
        return RejectedByPlatform(PLATFORM, detail, code=code, status=status)
    reason, message = _reason(body)
    if status == 401:
        return CredentialsExpired(PLATFORM, message, code=reason or "authError", status=status)
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        return QuotaExhausted(PLATFORM, message, code=reason, status=status,
                              reset_at=next_pacific_midnight())
    if reason == "uploadLimitExceeded":
        reset = datetime.now(UTC) + timedelta(hours=24)
        return QuotaExhausted(PLATFORM, message, code=reason, status=status, reset_at=reset,
                              message_de=(
                                  "YouTube lässt von diesem Kanal über die API gerade keine "
                                  "weiteren Uploads zu (Tageslimit des Kanals). wtg versucht es "
                                  f"frühestens am {reset:%d.%m.%Y %H:%M} UTC erneut."))
    if status == 429 or reason in ("rateLimitExceeded", "userRateLimitExceeded",
                                   "uploadRateLimitExceeded"):
        return RateLimited(PLATFORM, message, code=reason or status, status=status,
                           retry_after=retry_after_seconds(headers) or 60.0)
    if status >= 500 or reason == "backendError":
        return PlatformUnavailable(PLATFORM, message, code=reason, status=status)
    if reason == "insufficientPermissions":
        return CredentialsExpired(PLATFORM, message, code=reason, status=status, message_de=(
            "Dem YouTube-Zugang fehlt eine Berechtigung für diesen Schritt. Bitte das Konto neu "
            f"verbinden und dabei den Zugriff „{SCOPE_FORCE_SSL}“ erlauben."))
    explain = _REJECT_DE.get(reason or "")
    return RejectedByPlatform(PLATFORM, message, code=reason or status, status=status,
                              message_de=f"YouTube hat abgelehnt: {explain}." if explain else None)


class YouTubeClient:
    """One account's authorised, quota-checked requests through the HTTP chokepoint."""

    def __init__(self, account: Account, credentials: Credentials,
                 session: requests.Session | None = None, *,
                 opts: YouTubeOptions | None = None) -> None:
        self.account = account
        self.credentials = credentials
        #: the account's options (the adapter passes the model it parsed)
        self.opts = opts if opts is not None else cast(YouTubeOptions, parse_options(account))
        self.upload_base = upload_base(self.opts, account.api_base)
        self.http = PlatformHTTP(PLATFORM, account.api_base, classify, session=session)

    def api(self, path: str) -> str:
        return self.http.url(path)

    def upload_url(self, path: str) -> str:
        return f"{self.upload_base}/{path.lstrip('/')}"

    # --- OAuth --------------------------------------------------------------------------------
    def access_token(self) -> str:
        token = self.credentials.get("access_token")
        expires = self.credentials.get("access_token_expires_at")
        if not token or (expires and float(expires) - 60 < time.time()):
            return self.refresh()
        return token

    def refresh(self) -> str:
        """Trade the refresh token for a new access token and persist it."""
        try:
            form = {"grant_type": "refresh_token",
                    "client_id": self.credentials.require("client_id"),
                    "client_secret": self.credentials.require("client_secret"),
                    "refresh_token": self.credentials.require("refresh_token")}
        except KeyError as exc:
            raise CredentialsExpired(PLATFORM, "missing credential", message_de=(
                str(exc.args[0]) if exc.args else None)) from None
        body = self.http.json("POST", self.opts.token_url, data=form, ok=(200,))
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise CredentialsExpired(PLATFORM, "token endpoint answered without access_token")
        expires_at = time.time() + float(body.get("expires_in", 3600))
        self.credentials.update({"access_token": token,
                                 "access_token_expires_at": f"{expires_at:.0f}"})
        return str(token)

    # --- requests -----------------------------------------------------------------------------
    def call(self, quota: QuotaLedger | None, what: str | None, method: str, url: str, *,
             ok: tuple[int, ...] = (200,), headers: Mapping[str, str] | None = None,
             refresh_on_401: bool = True, **kwargs: Any) -> requests.Response:
        """Send one authorised request; check and charge ``what``'s quota cost.

        A 401 refreshes the access token and sends the request once more (unless
        ``refresh_on_401`` is False: then CredentialsExpired(401) reaches the caller).
        """
        cost = quota_cost(self.opts, what) if what else 0
        if quota is not None and cost:
            left = quota.remaining()
            if left < cost:
                reset = next_pacific_midnight()
                raise QuotaExhausted(PLATFORM, f"{what} costs {cost} units, {left} left",
                                     code="localQuotaCheck", reset_at=reset, message_de=(
                    f"Das YouTube-Kontingent für heute reicht nicht mehr für {what} ({cost} "
                    f"Einheiten, {left} übrig). wtg macht nach "
                    f"{reset.astimezone(PACIFIC):%d.%m.%Y} 00:00 Uhr pazifischer Zeit weiter."))
        for attempt in (0, 1):
            hdrs = {"Authorization": f"Bearer {self.access_token()}", **(headers or {})}
            try:
                resp = self.http.request(method, url, ok=ok, headers=hdrs, **kwargs)
            except CredentialsExpired as exc:
                if exc.status == 401 and refresh_on_401 and attempt == 0:
                    self.refresh()
                    continue
                self._charge(quota, what, cost)
                raise
            except ConnectionLost:
                raise
            except PlatformError:
                self._charge(quota, what, cost)  # Google charges invalid requests too
                raise
            self._charge(quota, what, cost)
            return resp
        raise AssertionError("unreachable")

    @staticmethod
    def _charge(quota: QuotaLedger | None, what: str | None, cost: int) -> None:
        if quota is not None and what and cost:
            quota.spend(cost, what)

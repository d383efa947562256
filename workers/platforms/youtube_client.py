"""The YouTube adapter's connection: account options, quota costs, the error table, OAuth.

Everything that decides *how* one request to the YouTube Data API v3 is sent and how its answer
is read lives here; :mod:`.youtube` decides *which* requests make a post.

Quota (determine_quota_cost and the revision history, read 2026-11): since 2026-06-01
``videos.insert`` has its own bucket (default 100 calls a day, cost 1 per call); every other
method draws on 10,000 units a day (captions.insert 400, captions.list 50, thumbnails.set 50,
videos.update 50, playlistItems.insert 50, videos.list / playlistItems.list / channels.list 1).
Quotas reset at midnight Pacific time. Every cost is an account option, so a change at Google is
a settings change here. ``ctx.quota`` (one ledger per account) is charged with the method name as
``what``; a ledger that keeps Google's two buckets can route ``"videos.insert"`` to its own.

Account options (``Account.options``), all optional:

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
    daily_quota_units / daily_upload_calls           10000 / 100 (the first is also what
                         workers.publishing.DbQuota reads)
    cost_videos_insert 1, cost_videos_list 1, cost_videos_update 50, cost_captions_insert 400,
    cost_captions_list 50, cost_thumbnails_set 50, cost_playlist_items_insert 50,
    cost_playlist_items_list 1, cost_channels_list 1
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

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
RESUMABLE_UNIT = 256 * 1024
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
SCOPE_FORCE_SSL = "https://www.googleapis.com/auth/youtube.force-ssl"
PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True, kw_only=True)
class QuotaCosts:
    """Units per call and the daily allocations (account options ``daily_*``/``cost_*``)."""

    daily_units: int = 10_000
    daily_uploads: int = 100
    videos_insert: int = 1
    videos_list: int = 1
    videos_update: int = 50
    videos_delete: int = 50
    captions_insert: int = 400
    captions_list: int = 50
    thumbnails_set: int = 50
    playlist_items_insert: int = 50
    playlist_items_list: int = 1
    channels_list: int = 1

    def per_post(self, *, polls: int = 10) -> int:
        """Units one post needs from upload to playlist (for the pre-flight check): insert,
        ``polls`` videos.list, publish (list + update), captions, thumbnail, playlist."""
        return (self.videos_insert + (polls + 1) * self.videos_list + self.videos_update
                + self.captions_insert + self.thumbnails_set + self.playlist_items_insert)

    def of(self, method: str) -> int:
        """Cost of ``"videos.insert"``, ``"playlistItems.list"`` ... (unknown methods: 1)."""
        key = method.replace(".", "_").replace("playlistItems", "playlist_items")
        return int(getattr(self, key, 1))


@dataclass(frozen=True, kw_only=True)
class YouTubeOptions:
    """What the adapter reads from ``Account.options`` (see the module docstring)."""

    upload_base: str
    token_url: str = DEFAULT_TOKEN_URL
    chunk_size: int = 8 * 1024 * 1024
    category_id: str = "29"  # Nonprofits & Activism
    publish_privacy: str = "public"
    notify_subscribers: bool = True
    contains_synthetic_media: bool = False
    language: str = "de"
    caption_name: str = "Deutsch"
    thumbnail_max_bytes: int = 2 * 1024 * 1024
    watch_url: str = "https://www.youtube.com/watch?v="
    costs: QuotaCosts = field(default_factory=QuotaCosts)

    @classmethod
    def from_account(cls, account: Account) -> YouTubeOptions:
        o = dict(account.options)
        api = account.api_base.rstrip("/")
        upload = o.get("upload_base") or api.replace("/youtube/v3", "/upload/youtube/v3")
        costs = QuotaCosts(**{
            k: int(o[f"cost_{k}"]) for k in QuotaCosts.__dataclass_fields__ if f"cost_{k}" in o
        } | {k: int(o[opt]) for k, opt in (("daily_units", "daily_quota_units"),
                                            ("daily_uploads", "daily_upload_calls")) if opt in o})
        kw: dict[str, Any] = {k: o[k] for k in (
            "token_url", "category_id", "publish_privacy", "language", "caption_name",
            "watch_url") if o.get(k)}
        for k in ("notify_subscribers", "contains_synthetic_media"):
            if k in o:
                kw[k] = str(o[k]).lower() in ("1", "true", "yes", "ja")
        for k in ("chunk_size", "thumbnail_max_bytes"):
            if k in o:
                kw[k] = int(o[k])
        opts = cls(upload_base=upload.rstrip("/"), costs=costs, **kw)
        if opts.chunk_size <= 0 or opts.chunk_size % RESUMABLE_UNIT:
            raise ValueError(
                f"Konto {account.name}: chunk_size {opts.chunk_size} ist kein Vielfaches von "
                "262144 Bytes (256 KiB); YouTube lehnt solche Teilstücke ab."
            )
        if opts.publish_privacy not in ("public", "unlisted"):
            raise ValueError(f"Konto {account.name}: publish_privacy muss public oder unlisted "
                             "sein.")
        return opts


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
                 session: requests.Session | None = None) -> None:
        self.account = account
        self.credentials = credentials
        self.options = YouTubeOptions.from_account(account)
        self.http = PlatformHTTP(PLATFORM, account.api_base, classify, session=session)

    def api(self, path: str) -> str:
        return self.http.url(path)

    def upload_url(self, path: str) -> str:
        return f"{self.options.upload_base}/{path.lstrip('/')}"

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
        body = self.http.json("POST", self.options.token_url, data=form, ok=(200,))
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
        cost = self.options.costs.of(what) if what else 0
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

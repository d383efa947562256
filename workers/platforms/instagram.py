"""Instagram Reels through the Instagram Graph API (Facebook Login), resumable upload.

Every step below is a row of the conformance table in docs/platforms/instagram.md (IG-…), with
its source; where Meta's documents are silent the table says so and names the readings the
sandbox serves.

* ``upload``: a REELS container with ``upload_type=resumable`` and the caption (records
  ``container_id`` and ``upload_uri`` at once), then the bytes to the rupload host
  (:mod:`.rupload`). How an interrupted upload resumes is not documented (IG-U3): the upload
  asks ``GET <upload_uri>`` for the offset the host holds (the rupload convention of Meta's own
  tools); when that lookup is unsupported (404/405/anything but an offset) or the host refuses
  the continuation, it creates a fresh container and uploads again -- the old container is never
  published, so there is no duplicate post. A container found EXPIRED/ERROR is replaced too.
* ``poll``: ``status_code`` IN_PROGRESS -> PENDING, FINISHED -> READY, PUBLISHED -> PUBLISHED,
  ERROR -> :class:`ProcessingFailed`, EXPIRED (24 h) -> :class:`~.graph.UploadAgain` (the next
  ``upload`` makes a fresh container; nothing is public).
* ``publish``: ``content_publishing_limit`` first (``config.quota_total`` is the truth: 25, 50 or
  100 in different sources) -> :class:`QuotaExhausted`; ``media_publish`` only when the container
  is FINISHED (9007/2207027 otherwise: transient), then the permalink.
* ``find_published``: trusts what was recorded (a media id, or the container once seen
  PUBLISHED) even if a later lookup fails; else the container's status and the marker in the
  account's recent media. A failing lookup raises :class:`~.graph.LookupFailed` (transient).

There is no caption-file API: the rendition carries burned-in subtitles (``captions="burned"``).
No native scheduling: the scheduler publishes at the time (containers expire after 24 h).

Account options (``self.opts``: ``InstagramOptions`` of ``episodes.capabilities.instagram``,
which holds the defaults): ``ig_user_id`` (required; connecting in the dashboard fills it in),
``hashtags_max`` (default 30, the API text; the app now allows only 5 -- set 5 to be safe) and
``mentions_max`` (20), both read by the text check, ``chunk_size`` (rupload bytes per request,
0 = the rest in one request, default 0), ``rupload_base`` (used when the container answer carries
no ``uri``; default ``https://rupload.facebook.com``), ``share_to_feed`` (true),
``thumb_offset_ms`` (cover frame; default none), ``poll_interval`` (seconds, 5). Secret:
``access_token`` (a long-lived Facebook-Login user token, about 60 days; it cannot be refreshed
by us).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from episodes.capabilities.instagram import InstagramOptions
from episodes.capabilities.text import LIMITS

from .base import (
    Platform,
    PlatformSpec,
    PostContext,
    Processing,
    ProcessingState,
    Published,
    register,
)
from .errors import (
    CredentialsExpired,
    PlatformError,
    PlatformUnavailable,
    ProcessingFailed,
    QuotaExhausted,
    RejectedByPlatform,
    TransientError,
)
from .graph import UploadAgain, caption_with_marker, classify, read_only
from .http import PlatformHTTP
from .rupload import Rupload

log = logging.getLogger("wtg.platforms.instagram")

PRODUCTION_API_BASE = "https://graph.facebook.com/v24.0"

_HASHTAG = re.compile(r"(?<!\w)#\w+")
_MENTION = re.compile(r"(?<!\w)@[\w.]+")
_MEDIA_FIELDS = "id,caption,permalink,timestamp"


@register
class Instagram(Platform):
    SPEC = PlatformSpec(
        name="instagram",
        label="Instagram",
        text=LIMITS["instagram"],  # episodes/capabilities/text.py
        # rupload: the rest of the file in one request (IG-U2); the option's default
        chunk_size=InstagramOptions.model_fields["chunk_size"].default,
        native_scheduling=False,
        # upload -> FINISHED: Meta's sample gives up after 30 looks 3 s apart; a few-minute
        # Reel normally takes well under that, but containers live 24 h, so 2 h is safe
        processing_deadline=2 * 3600.0,
    )

    opts: InstagramOptions

    def __init__(self, account: Any, credentials: Any) -> None:
        super().__init__(account, credentials)
        self.ig_user = self.opts.ig_user_id
        self.http = PlatformHTTP(self.SPEC.name, account.api_base,
                                 classify(self.SPEC.name, self.SPEC.label))
        self.chunk_size = self.opts.chunk_size
        self.poll_interval = self.opts.poll_interval

    # --- text ----------------------------------------------------------------------------------
    # --- helpers -------------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.credentials.require('access_token')}"}

    def _get(self, path: str, **params: Any) -> Any:
        return self.http.json("GET", path, params=params, headers=self._auth())

    def _status_code(self, ctx: PostContext, container_id: str) -> dict[str, Any]:
        node = self._get(container_id, fields="status_code,status")
        if str(node.get("status_code", "")) == "PUBLISHED" and not ctx.remote.get(
                "container_published"):
            ctx.record({"container_published": True})  # a fact: trusted from now on
        return node

    def _by_marker(self, marker: str) -> dict[str, Any] | None:
        listing = self._get(f"{self.ig_user}/media", fields=_MEDIA_FIELDS, limit=50)
        for item in listing.get("data", []):
            if marker in str(item.get("caption") or ""):
                return item
        return None

    # --- steps ---------------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        self._get(self.ig_user, fields="id,username")

    def _upload(self, ctx: PostContext) -> None:
        cid = ctx.remote.get("container_id")
        drop = None
        if cid and ctx.remote.get("expired_container") == cid:
            drop = cid  # poll saw it EXPIRED: a fresh container
        elif cid and ctx.remote.get("uploaded"):
            return
        if cid and not drop:
            code = str(self._status_code(ctx, str(cid)).get("status_code", ""))
            if code in ("FINISHED", "PUBLISHED"):
                ctx.record({"uploaded": True})
                return
            if code in ("EXPIRED", "ERROR"):
                log.info("instagram: container %s is %s; a fresh one", cid, code)
                drop = cid
        abandoned = list(ctx.remote.get("abandoned_containers") or [])
        if drop:
            abandoned.append(drop)
            cid = None
        current: dict[str, Any] = {"id": cid, "uri": ctx.remote.get("upload_uri")}

        def fresh() -> str:
            if current["id"]:
                abandoned.append(current["id"])
            body = self.http.json("POST", f"{self.ig_user}/media", headers=self._auth(),
                                  data=self._container_form(ctx))
            new = str(body["id"])
            base = self.opts.rupload_base
            current.update(id=new, uri=str(body.get("uri") or f"{base}/ig-api-upload/{new}"))
            ctx.record({"container_id": new, "upload_uri": current["uri"], "offset": 0,
                        "rupload_started": True, "uploaded": False,
                        "container_published": False, "abandoned_containers": abandoned})
            return str(current["uri"])

        def held() -> int | None:
            return self._held(str(current["uri"]))

        resume = bool(cid and ctx.remote.get("rupload_started"))
        url = str(current["uri"]) if cid else fresh()
        sender = Rupload(self.http, self.credentials.require("access_token"),
                         per_request=self.chunk_size)
        sender.upload(ctx, url, resume=resume, held=held, fresh=fresh)
        ctx.record({"uploaded": True})

    def _container_form(self, ctx: PostContext) -> dict[str, str]:
        form = {"media_type": "REELS", "upload_type": "resumable",
                "caption": caption_with_marker(ctx.text.body, ctx.text.hashtags, ctx.marker),
                "share_to_feed": "true" if self.opts.share_to_feed else "false"}
        if self.opts.thumb_offset_ms is not None:
            form["thumb_offset"] = str(self.opts.thumb_offset_ms)
        return form

    def _held(self, uri: str) -> int | None:
        """The offset the rupload host holds, or None when it cannot say (lookup unsupported:
        404/405, no JSON, no offset). Transient failures and an expired token are raised."""
        try:
            body = self.http.json("GET", uri, headers=self._auth())
        except (TransientError, CredentialsExpired):
            raise
        except PlatformError as exc:
            log.info("instagram: rupload offset lookup unsupported (%s)", exc)
            return None
        try:
            return int(body["offset"])
        except (KeyError, TypeError, ValueError):
            return None

    def _poll(self, ctx: PostContext) -> Processing:
        cid = str(ctx.remote["container_id"])
        node = self._status_code(ctx, cid)
        code = str(node.get("status_code", ""))
        if code == "FINISHED":
            return Processing(state=ProcessingState.READY, detail=code, retry_after=0)
        if code == "PUBLISHED":
            return Processing(state=ProcessingState.PUBLISHED, detail=code, retry_after=0)
        if code == "EXPIRED":
            raise self._expired(ctx, cid)
        if code == "ERROR":
            raise ProcessingFailed(self.SPEC.name, f"{code}: {node.get('status') or ''}",
                                   code=code)
        return Processing(state=ProcessingState.PENDING, detail=code,
                          retry_after=self.poll_interval)

    def _expired(self, ctx: PostContext, cid: str) -> UploadAgain:
        ctx.record({"expired_container": cid, "uploaded": False})
        return UploadAgain(self.SPEC.name, f"container {cid} EXPIRED", message_de=(
            "Instagram hat das hochgeladene Video verworfen (nicht binnen 24 Stunden "
            "veröffentlicht). wtg lädt es automatisch neu hoch; es entsteht kein doppelter "
            "Beitrag."))

    def _publish(self, ctx: PostContext) -> Published:
        if ctx.remote.get("media_id"):
            return self._published(str(ctx.remote["media_id"]), ctx)
        cid = str(ctx.remote["container_id"])
        if ctx.remote.get("container_published") or ctx.remote.get("media_publish_sent"):
            found = self._find_published(ctx)  # an earlier media_publish may have gone out
            if found is not None:
                return found
        self._check_quota()
        node = self._status_code(ctx, cid)
        code = str(node.get("status_code", ""))
        if code == "EXPIRED":
            raise self._expired(ctx, cid)
        if code == "ERROR":
            raise ProcessingFailed(self.SPEC.name, f"{code}: {node.get('status') or ''}",
                                   code=code)
        if code == "PUBLISHED":
            found = self._find_published(ctx)
            if found is not None:
                return found
        if code != "FINISHED":
            raise PlatformUnavailable(self.SPEC.name, f"container {code}", message_de=(
                "Instagram verarbeitet das Video noch; wtg veröffentlicht erst danach."))
        ctx.record({"media_publish_sent": True})
        try:
            body = self.http.json("POST", f"{self.ig_user}/media_publish",
                                  headers=self._auth(), data={"creation_id": cid})
        except UploadAgain:
            ctx.record({"expired_container": cid, "uploaded": False})
            raise
        except RejectedByPlatform:
            found = self._find_published(ctx)  # an earlier attempt may have gone through
            if found is not None:
                return found
            raise
        media_id = str(body["id"])
        ctx.record({"media_id": media_id})
        return self._published(media_id, ctx)

    def _published(self, media_id: str, ctx: PostContext) -> Published:
        """The post is out (its media id is a recorded fact); the permalink is best effort."""
        url = str(ctx.remote.get("url") or "")
        if not url:
            try:
                url = str(self._get(media_id, fields="id,permalink").get("permalink") or "")
            except (TransientError, RejectedByPlatform) as exc:
                log.warning("instagram: permalink of %s not available (%s)", media_id, exc)
            if url:
                ctx.record({"url": url})
        return Published(remote_id=media_id, url=url)

    def _check_quota(self) -> None:
        body = self._get(f"{self.ig_user}/content_publishing_limit", fields="config,quota_usage")
        items = body.get("data") or []
        if not items:
            return
        item = items[0]
        used = int(item.get("quota_usage") or 0)
        total = (item.get("config") or {}).get("quota_total")
        if total is not None and used >= int(total):
            raise QuotaExhausted(self.SPEC.name, f"quota_usage {used} of {total}",
                                 message_de=(
                f"Instagram erlaubt diesem Konto {total} Beiträge in 24 Stunden; sie sind "
                "aufgebraucht. Der Beitrag wartet, bis das gleitende 24-Stunden-Fenster "
                "wieder Platz hat."))

    def _find_published(self, ctx: PostContext) -> Published | None:
        if ctx.remote.get("media_id"):
            return self._published(str(ctx.remote["media_id"]), ctx)
        cid = ctx.remote.get("container_id")
        if not cid:
            return None
        seen = bool(ctx.remote.get("container_published"))
        if not seen:
            node = read_only(self.SPEC.name, "container status",
                             lambda: self._status_code(ctx, str(cid)))
            seen = str(node.get("status_code", "")) == "PUBLISHED"
        if not seen and not ctx.remote.get("media_publish_sent"):
            return None  # media_publish was never sent for this container
        try:
            item = read_only(self.SPEC.name, "media listing", lambda: self._by_marker(ctx.marker))
        except TransientError:
            if seen:  # PUBLISHED was observed: a fact, whatever the listing says now
                log.warning("instagram: container %s PUBLISHED; media listing failed", cid)
                return Published(remote_id=str(cid), url="")
            raise
        if item is not None:
            ctx.record({"media_id": str(item["id"]), "container_published": True})
            if item.get("permalink"):
                ctx.record({"url": str(item["permalink"])})
            return Published(remote_id=str(item["id"]), url=str(item.get("permalink") or ""))
        if seen:  # published, but not among the recent media (caption edited?)
            log.warning("instagram: container %s is PUBLISHED but its media was not found", cid)
            return Published(remote_id=str(cid), url="")
        return None

"""Instagram Reels through the Instagram Graph API (Facebook Login), resumable upload.

Steps (see :mod:`.base`):

* ``upload``: create a REELS container with ``upload_type=resumable`` and the caption
  (records ``container_id`` and ``upload_uri`` at once), then send the file to
  ``rupload…/ig-api-upload/{container}`` in chunks with ``offset``/``file_size`` and
  ``Authorization: OAuth`` (records ``offset``). Resuming asks the rupload URL for its offset.
* ``poll``: the container's ``status_code``: IN_PROGRESS -> PENDING, FINISHED -> READY,
  PUBLISHED -> PUBLISHED, ERROR/EXPIRED -> :class:`ProcessingFailed`.
* ``publish``: reads ``content_publishing_limit`` first (the number differs between sources,
  25/50/100: the API's ``config.quota_total`` is the truth) -> :class:`QuotaExhausted` when used
  up; refuses itself unless the container is FINISHED (Instagram answers 9007 otherwise); then
  ``media_publish`` and the permalink.
* ``find_published``: the recorded media id; else a container whose ``status_code`` is
  PUBLISHED, or the marker in the account's recent media.

There is no caption-file API: the rendition carries burned-in subtitles (``captions="burned"``).
No native scheduling: the scheduler publishes at the time (containers expire after 24 h, so the
upload should start shortly before).

Account options: ``ig_user_id`` (required), ``hashtags_max`` (default 30, the API text; the app
now allows only 5 — set 5 to be safe), ``mentions_max`` (20), ``chunk_size`` (rupload bytes per
request), ``rupload_base`` (used when the container answer carries no ``uri``; default
``https://rupload.facebook.com``), ``share_to_feed`` (true), ``thumb_offset_ms`` (cover frame),
``poll_interval`` (seconds, 5). Secret: ``access_token`` (a long-lived Facebook-Login user token,
about 60 days; it cannot be refreshed by us).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from episodes.captions import LengthUnit, PostText, TextLimits

from .base import (
    Orientation,
    Platform,
    PlatformSpec,
    PostContext,
    Processing,
    ProcessingState,
    Published,
    VideoSpec,
    register,
)
from .errors import PlatformUnavailable, ProcessingFailed, QuotaExhausted
from .graph import MARKER_RESERVE, RuploadSender, caption_with_marker, classify, option_int
from .http import PlatformHTTP

log = logging.getLogger("wtg.platforms.instagram")

PRODUCTION_API_BASE = "https://graph.facebook.com/v24.0"
PRODUCTION_RUPLOAD_BASE = "https://rupload.facebook.com"

_HASHTAG = re.compile(r"(?<!\w)#\w+")
_MENTION = re.compile(r"(?<!\w)@[\w.]+")


@register
class Instagram(Platform):
    SPEC = PlatformSpec(
        name="instagram",
        label="Instagram",
        text=TextLimits(body_max=2200, body_unit=LengthUnit.CHARS, hashtags_max=30),
        video=VideoSpec(
            orientations=(Orientation.VERTICAL,),
            max_bytes=300 * 1024 * 1024,  # 300 MB (current copies) vs 1 GB (sample): the lower
            min_seconds=3.0,
            max_seconds=15 * 60.0,
            captions="burned",
        ),
        chunk_size=8 * 1024 * 1024,
        native_scheduling=False,
    )

    def __init__(self, account: Any, credentials: Any) -> None:
        super().__init__(account, credentials)
        opts = account.options
        self.ig_user = str(opts["ig_user_id"])
        self.http = PlatformHTTP(self.SPEC.name, account.api_base,
                                 classify(self.SPEC.name, self.SPEC.label))
        self.chunk_size = option_int(opts, "chunk_size", self.SPEC.chunk_size)
        self.poll_interval = float(opts.get("poll_interval", 5.0))

    # --- text ----------------------------------------------------------------------------------
    def text_limits(self) -> TextLimits:
        """2,200 characters less the room the reconciliation marker takes; the hashtag limit
        from the account (``hashtags_max``)."""
        opts = self.account.options
        return TextLimits(body_max=self.SPEC.text.body_max - MARKER_RESERVE,
                          body_unit=LengthUnit.CHARS,
                          hashtags_max=option_int(opts, "hashtags_max", 30))

    def _check_text(self, text: PostText) -> list[str]:
        out: list[str] = []
        lim = self.text_limits()
        caption = caption_with_marker(text.body, text.hashtags, "")
        if len(text.body) <= lim.body_max < len(caption):
            out.append(
                f"Instagram: mit den angehängten Hashtags wird der Text {len(caption)} Zeichen "
                f"lang, erlaubt sind {lim.body_max} (der Rest ist für die Kennung von wtg "
                "reserviert). Bitte kürzen."
            )
        tags = len(_HASHTAG.findall(caption))
        if lim.hashtags_max is not None and len(text.hashtags) <= lim.hashtags_max < tags:
            out.append(f"Instagram: der Text enthält {tags} Hashtags, erlaubt sind "
                       f"{lim.hashtags_max}.")
        mentions = len(_MENTION.findall(caption))
        most = option_int(self.account.options, "mentions_max", 20)
        if mentions > most:
            out.append(f"Instagram: der Text erwähnt {mentions} Konten (@…), erlaubt sind {most}.")
        return out

    # --- helpers -------------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.credentials.require('access_token')}"}

    def _get(self, path: str, **params: Any) -> Any:
        return self.http.json("GET", path, params=params, headers=self._auth())

    def _status_code(self, container_id: str) -> dict[str, Any]:
        return self._get(container_id, fields="status_code,status")

    def _by_marker(self, marker: str) -> dict[str, Any] | None:
        listing = self._get(f"{self.ig_user}/media", fields="id,caption,permalink,timestamp",
                            limit=50)
        for item in listing.get("data", []):
            if marker in str(item.get("caption") or ""):
                return item
        return None

    # --- steps ---------------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        self._get(self.ig_user, fields="id,username")

    def _upload(self, ctx: PostContext) -> None:
        resume = bool(ctx.remote.get("container_id"))
        if resume:
            uri = str(ctx.remote["upload_uri"])
        else:
            opts = self.account.options
            form = {"media_type": "REELS", "upload_type": "resumable",
                    "caption": caption_with_marker(ctx.text.body, ctx.text.hashtags, ctx.marker),
                    "share_to_feed": "true" if opts.get("share_to_feed", True) else "false"}
            if opts.get("thumb_offset_ms") is not None:
                form["thumb_offset"] = str(option_int(opts, "thumb_offset_ms", 0))
            body = self.http.json("POST", f"{self.ig_user}/media", headers=self._auth(),
                                  data=form)
            cid = str(body["id"])
            base = str(opts.get("rupload_base", PRODUCTION_RUPLOAD_BASE)).rstrip("/")
            uri = str(body.get("uri") or f"{base}/ig-api-upload/{cid}")
            ctx.record({"container_id": cid, "upload_uri": uri, "offset": 0})
        token = self.credentials.require("access_token")

        def confirmed() -> int:
            body = self.http.json("GET", uri, headers={"Authorization": f"OAuth {token}"})
            return int(body.get("offset") or 0)

        RuploadSender(self.http, token, confirmed, chunk_size=self.chunk_size).send(
            ctx, uri, resume=resume)

    def _poll(self, ctx: PostContext) -> Processing:
        node = self._status_code(str(ctx.remote["container_id"]))
        code = str(node.get("status_code", ""))
        if code == "FINISHED":
            return Processing(state=ProcessingState.READY, detail=code, retry_after=0)
        if code == "PUBLISHED":
            return Processing(state=ProcessingState.PUBLISHED, detail=code, retry_after=0)
        if code in ("ERROR", "EXPIRED"):
            raise _failed(code, node)
        return Processing(state=ProcessingState.PENDING, detail=code,
                          retry_after=self.poll_interval)

    def _publish(self, ctx: PostContext) -> Published:
        if ctx.remote.get("media_id"):
            return self._published(str(ctx.remote["media_id"]), ctx)
        cid = str(ctx.remote["container_id"])
        self._check_quota()
        node = self._status_code(cid)
        code = str(node.get("status_code", ""))
        if code in ("ERROR", "EXPIRED"):
            raise _failed(code, node)
        if code == "PUBLISHED":
            found = self._find_published(ctx)
            if found is not None:
                return found
        if code != "FINISHED":
            raise PlatformUnavailable(self.SPEC.name, f"container {code}", message_de=(
                "Instagram verarbeitet das Video noch; wtg veröffentlicht erst danach."))
        ctx.record({"publish_sent": True})
        body = self.http.json("POST", f"{self.ig_user}/media_publish", headers=self._auth(),
                              data={"creation_id": cid})
        media_id = str(body["id"])
        ctx.record({"media_id": media_id})
        return self._published(media_id, ctx)

    def _published(self, media_id: str, ctx: PostContext) -> Published:
        node = self._get(media_id, fields="id,permalink")
        url = str(node.get("permalink") or "")
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
        if cid:
            code = str(self._status_code(str(cid)).get("status_code", ""))
            if code != "PUBLISHED":
                return None
        item = self._by_marker(ctx.marker)
        if item is not None:
            ctx.record({"media_id": str(item["id"])})
            return Published(remote_id=str(item["id"]), url=str(item.get("permalink") or ""))
        if cid:  # published, but not among the recent media (caption edited?)
            log.warning("instagram: container %s is PUBLISHED but its media was not found", cid)
            return Published(remote_id=str(cid), url="")
        return None


def _failed(code: str, node: dict[str, Any]) -> ProcessingFailed:
    detail = f"{code}: {node.get('status') or ''}".strip()
    if code == "EXPIRED":
        return ProcessingFailed("instagram", detail, code=code, message_de=(
            "Instagram hat das hochgeladene Video verworfen (nicht binnen 24 Stunden "
            "veröffentlicht). Bitte den Beitrag neu einplanen, dann wird neu hochgeladen."))
    return ProcessingFailed("instagram", detail, code=code)

"""Facebook Page: landscape episodes as Page videos, vertical ones as Page Reels.

Page videos use the chunked ``upload_phase=start/transfer/finish`` protocol on
``graph-video`` (``/{page}/videos``), not the Resumable Upload API. Why: it works with the Page
token alone (the Resumable Upload API's session lives on ``/{app-id}/uploads`` and needs a
*user* token whose person has a role on the app, and that token expires after ~60 days); the
server dictates every chunk window and says which window it wants after an interruption
(subcode 1363037 with ``error_data``), which is exactly what resuming needs; Meta's own Business
SDK still drives it; and its ``finish`` carries title, description, ``published`` and
``scheduled_publish_time`` in the one irreversible call.

Steps (see :mod:`.base`):

* ``upload``: video: ``start`` (records ``upload_session_id``, ``video_id``, window), then
  ``transfer`` each window the server asks for (records the next window). Reel: ``video_reels``
  ``start`` (records ``video_id``, ``upload_url``), then rupload chunks with ``offset`` and
  ``file_size`` (records ``offset``); resuming asks ``uploading_phase.bytes_transferred``.
* ``poll``: before publishing, READY once the platform has processed the upload (ERROR ->
  :class:`ProcessingFailed`). After publishing
  (``finish`` only acknowledges receipt), PENDING while processing, PUBLISHED once public or
  scheduled, :class:`ProcessingFailed` on ``video_status=error``, and
  :class:`RejectedByPlatform` if the video ended up an unpublished draft.
* ``publish``: ``finish`` (video: ``published``/``scheduled_publish_time``; Reel:
  ``video_state=PUBLISHED|SCHEDULED``). It is tied to the recorded video id, so it can never make
  a second video; the orchestrator should keep calling ``poll`` until PUBLISHED afterwards.
* ``find_published``: the recorded video id's status, else the page's recent videos/reels with
  the marker in the description.
* ``finish``: the German caption file (``<name>.de_DE.srt``) and the thumbnail.

Account options: ``page_id`` (required), ``video_base`` (graph-video base URL, default
``api_base``), ``web_base`` (for relative permalinks, default ``https://www.facebook.com``),
``format`` (``auto``|``video``|``reels``), ``chunk_size`` (rupload bytes per request),
``schedule_min_minutes`` (10), ``schedule_max_days`` (30), ``caption_locale`` (``de_DE``),
``poll_interval`` (seconds, 5). Secret: ``access_token`` (a Page token; it cannot be refreshed).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from episodes.captions import LengthUnit, TextLimits

from .base import (
    FinishPart,
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
from .errors import ConnectionLost, PlatformUnavailable, ProcessingFailed, RejectedByPlatform
from .graph import (
    MARKER_RESERVE,
    RuploadSender,
    TransferWindow,
    caption_with_marker,
    classify,
    option_int,
)
from .http import PlatformHTTP, read_chunks

log = logging.getLogger("wtg.platforms.facebook")

#: production endpoints, for building real Accounts (calls only use the account's values)
PRODUCTION_API_BASE = "https://graph.facebook.com/v24.0"
PRODUCTION_VIDEO_BASE = "https://graph-video.facebook.com/v24.0"
WEB_BASE = "https://www.facebook.com"

_STATUS_FIELDS = "status,published,permalink_url"
_WINDOW_RETRIES = 5
_CHUNK_RETRIES = 3


@register
class Facebook(Platform):
    SPEC = PlatformSpec(
        name="facebook",
        label="Facebook",
        # no official limit for video descriptions was found; 63,206 is the post limit [3p]
        text=TextLimits(body_max=63_206, body_unit=LengthUnit.CHARS),
        video=VideoSpec(
            orientations=(Orientation.LANDSCAPE, Orientation.VERTICAL, Orientation.SQUARE),
            max_bytes=10 * 1024**3,  # [3p]; per-Page truth: video_upload_limits
            min_seconds=3.0,  # Reels 3-90 s [doc FB-REELS]; regular videos up to 4 h [3p]
            max_seconds=4 * 3600.0,
            captions="sidecar",
        ),
        chunk_size=8 * 1024 * 1024,
        confirm_after_publish=True,
        native_scheduling=True,
    )

    def __init__(self, account: Any, credentials: Any) -> None:
        super().__init__(account, credentials)
        opts = account.options
        self.page_id = str(opts["page_id"])
        check = classify(self.SPEC.name, self.SPEC.label)
        self.http = PlatformHTTP(self.SPEC.name, account.api_base, check)
        self.video_http = PlatformHTTP(
            self.SPEC.name, str(opts.get("video_base") or account.api_base), check,
            session=self.http.session,
        )
        self.web_base = str(opts.get("web_base", WEB_BASE)).rstrip("/")
        self.chunk_size = option_int(opts, "chunk_size", self.SPEC.chunk_size)
        self.poll_interval = float(opts.get("poll_interval", 5.0))

    def text_limits(self) -> TextLimits:
        """The platform's limit less the room the reconciliation marker takes."""
        lim = self.SPEC.text
        return TextLimits(body_max=lim.body_max - MARKER_RESERVE, body_unit=lim.body_unit)

    # --- helpers -----------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.credentials.require('access_token')}"}

    def _get(self, path: str, **params: Any) -> Any:
        return self.http.json("GET", path, params=params, headers=self._auth())

    def _mode(self, ctx: PostContext) -> str:
        recorded = ctx.remote.get("mode")
        if recorded:
            return str(recorded)
        wanted = str(self.account.options.get("format", "auto"))
        if wanted in ("video", "reels"):
            return wanted
        if wanted != "auto":
            raise ValueError(f"account option format must be auto, video or reels: {wanted!r}")
        w, h = ctx.video.width, ctx.video.height
        if w is None or h is None:
            log.warning("facebook: rendition size unknown, sending it as a Page video")
            return "video"
        return "reels" if w < h else "video"

    def _status(self, video_id: str) -> dict[str, Any]:
        return self._get(video_id, fields=_STATUS_FIELDS)

    def _url(self, node: dict[str, Any], video_id: str) -> str:
        link = str(node.get("permalink_url") or f"/{self.page_id}/videos/{video_id}/")
        return link if link.startswith("http") else f"{self.web_base}{link}"

    # --- steps -------------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        self._get(self.page_id, fields="id,name")

    def _upload(self, ctx: PostContext) -> None:
        mode = self._mode(ctx)
        if "mode" not in ctx.remote:
            ctx.record({"mode": mode})
        if mode == "reels":
            self._upload_reel(ctx)
        else:
            self._upload_video(ctx)

    def _upload_video(self, ctx: PostContext) -> None:
        if ctx.remote.get("upload_session_id"):
            session = str(ctx.remote["upload_session_id"])
            start, end = int(ctx.remote["start_offset"]), int(ctx.remote["end_offset"])
        else:
            body = self.video_http.json("POST", f"{self.page_id}/videos", headers=self._auth(),
                                        data={"upload_phase": "start",
                                              "file_size": str(ctx.video.size)})
            session = str(body["upload_session_id"])
            start, end = int(body["start_offset"]), int(body["end_offset"])
            ctx.record({"upload_session_id": session, "video_id": str(body["video_id"]),
                        "start_offset": start, "end_offset": end})
        corrections = failures = 0
        with ctx.video.path.open("rb") as fh:
            while start < end:
                data = b"".join(piece for _, piece in read_chunks(fh, start, end, end - start))
                try:
                    body = self.video_http.json(
                        "POST", f"{self.page_id}/videos", headers=self._auth(),
                        data={"upload_phase": "transfer", "upload_session_id": session,
                              "start_offset": str(start)},
                        files={"video_file_chunk": ("chunk", data, "application/octet-stream")},
                    )
                except TransferWindow as exc:  # the server holds other bytes than we thought
                    corrections += 1
                    if corrections > _WINDOW_RETRIES:
                        raise
                    start, end = exc.start_offset, exc.end_offset
                    continue
                except (ConnectionLost, PlatformUnavailable):
                    failures += 1  # send the same window again; the server corrects us
                    if failures > _CHUNK_RETRIES:
                        raise
                    time.sleep(0.2 * 2 ** (failures - 1))
                    continue
                del data
                start, end = int(body["start_offset"]), int(body["end_offset"])
                ctx.record({"start_offset": start, "end_offset": end})
                if ctx.progress:
                    ctx.progress(start, ctx.video.size)

    def _upload_reel(self, ctx: PostContext) -> None:
        resume = bool(ctx.remote.get("video_id"))
        if resume:
            video_id, url = str(ctx.remote["video_id"]), str(ctx.remote["upload_url"])
        else:
            body = self.http.json("POST", f"{self.page_id}/video_reels", headers=self._auth(),
                                  data={"upload_phase": "start"})
            video_id, url = str(body["video_id"]), str(body["upload_url"])
            ctx.record({"video_id": video_id, "upload_url": url, "offset": 0})

        def confirmed() -> int:
            phase = self._status(video_id).get("status", {}).get("uploading_phase", {})
            return int(phase.get("bytes_transferred") or 0)

        token = self.credentials.require("access_token")
        RuploadSender(self.http, token, confirmed, chunk_size=self.chunk_size).send(
            ctx, url, resume=resume)

    def _poll(self, ctx: PostContext) -> Processing:
        video_id = str(ctx.remote["video_id"])
        node = self._status(video_id)
        status = node.get("status") or {}
        if str(status.get("video_status", "")) == "error":
            raise ProcessingFailed(self.SPEC.name, _phase_errors(status), code="error")
        if not ctx.remote.get("finished"):
            processing = (status.get("processing_phase") or {}).get("status")
            if status.get("video_status") == "ready" or processing == "complete":
                return Processing(state=ProcessingState.READY, detail="processed", retry_after=0)
            return Processing(state=ProcessingState.PENDING,
                              detail=str(status.get("video_status", "")),
                              retry_after=self.poll_interval)
        return self._after_finish(node, status)

    def _after_finish(self, node: dict[str, Any], status: dict[str, Any]) -> Processing:
        video_status = str(status.get("video_status", ""))
        publishing = status.get("publishing_phase") or {}
        if node.get("published") or publishing.get("publish_status") in ("published",
                                                                         "scheduled"):
            return Processing(state=ProcessingState.PUBLISHED,
                              detail=str(publishing.get("publish_status", "published")))
        if video_status == "ready" and publishing.get("status") != "in_progress":
            raise RejectedByPlatform(self.SPEC.name, "video is ready but not published",
                                     message_de=(
                "Facebook hat das Video verarbeitet, aber nur als unveröffentlichten Entwurf "
                "gespeichert. Bitte im Meta Business Suite prüfen; ein Hochformat-Video muss "
                "als Reel gesendet werden (Kontooption format)."))
        return Processing(state=ProcessingState.PENDING, detail=video_status,
                          retry_after=self.poll_interval)

    def _publish(self, ctx: PostContext) -> Published:
        video_id = str(ctx.remote["video_id"])
        if not ctx.remote.get("finished"):
            form = self._finish_form(ctx)
            ctx.record({"finish_sent": True})
            if ctx.remote.get("mode") == "reels":
                self.http.json("POST", f"{self.page_id}/video_reels", headers=self._auth(),
                               data={**form, "video_id": video_id})
            else:
                self.video_http.json("POST", f"{self.page_id}/videos", headers=self._auth(),
                                     data={**form, "upload_session_id":
                                           str(ctx.remote["upload_session_id"])})
            ctx.record({"finished": True})
        node = self._status(video_id)
        url = self._url(node, video_id)
        ctx.record({"url": url})
        return Published(remote_id=video_id, url=url)

    def _finish_form(self, ctx: PostContext) -> dict[str, str]:
        description = caption_with_marker(ctx.text.body, ctx.text.hashtags, ctx.marker)
        form = {"upload_phase": "finish", "description": description}
        if ctx.text.title:
            form["title"] = ctx.text.title
        when = self._schedule(ctx)
        reels = ctx.remote.get("mode") == "reels"
        if when is None:
            form["video_state" if reels else "published"] = "PUBLISHED" if reels else "true"
        else:
            form["scheduled_publish_time"] = str(when)
            form["video_state" if reels else "published"] = "SCHEDULED" if reels else "false"
        return form

    def _schedule(self, ctx: PostContext) -> int | None:
        if ctx.scheduled_at is None:
            return None
        opts = self.account.options
        low = option_int(opts, "schedule_min_minutes", 10) * 60
        high = option_int(opts, "schedule_max_days", 30) * 86_400
        when = ctx.scheduled_at
        if when.tzinfo is None:
            raise ValueError("scheduled_at must be timezone-aware")
        ahead = (when - datetime.now(UTC)).total_seconds()
        if not low <= ahead <= high:
            local = when.strftime("%d.%m.%Y %H:%M")
            raise RejectedByPlatform(self.SPEC.name, f"scheduled_at {when.isoformat()} outside "
                                     f"[{low}s, {high}s]", message_de=(
                f"Facebook kann Beiträge nur zwischen {low // 60} Minuten und {high // 86_400} "
                f"Tagen im Voraus einplanen; der geplante Termin {local} liegt außerhalb. Bitte "
                "den Termin ändern."))
        return int(when.timestamp())

    def _find_published(self, ctx: PostContext) -> Published | None:
        video_id = ctx.remote.get("video_id")
        if video_id:
            node = self._status(str(video_id))
            if _went_out(node):
                if not ctx.remote.get("finished"):
                    ctx.record({"finished": True})
                return Published(remote_id=str(video_id), url=self._url(node, str(video_id)))
            return None
        for edge in ("videos", "video_reels"):
            listing = self._get(f"{self.page_id}/{edge}",
                                fields=f"id,description,{_STATUS_FIELDS}", limit=50)
            for node in listing.get("data", []):
                if ctx.marker in str(node.get("description") or ""):
                    vid = str(node["id"])
                    ctx.record({"video_id": vid, "finished": True,
                                "mode": "reels" if edge == "video_reels" else "video"})
                    return Published(remote_id=vid, url=self._url(node, vid))
        return None

    def _finish_parts(self, ctx: PostContext) -> list[FinishPart]:
        parts = []
        if ctx.captions_srt is not None:
            parts.append(FinishPart.CAPTIONS)
        if ctx.thumbnail is not None:
            parts.append(FinishPart.THUMBNAIL)
        return parts

    def _finish_part(self, ctx: PostContext, part: FinishPart) -> None:
        video_id = str(ctx.remote["video_id"])
        if part is FinishPart.CAPTIONS and ctx.captions_srt is not None:
            locale = str(self.account.options.get("caption_locale", "de_DE"))
            name = f"{ctx.captions_srt.name.split('.')[0]}.{locale}.srt"
            with ctx.captions_srt.open("rb") as fh:
                self.http.json("POST", f"{video_id}/captions", headers=self._auth(),
                               data={"default_locale": locale},
                               files={"captions_file": (name, fh, "application/x-subrip")})
        elif part is FinishPart.THUMBNAIL and ctx.thumbnail is not None:
            with ctx.thumbnail.open("rb") as fh:
                self.http.json("POST", f"{video_id}/thumbnails", headers=self._auth(),
                               data={"is_preferred": "true"},
                               files={"source": (ctx.thumbnail.name, fh, "image/jpeg")})


def _went_out(node: dict[str, Any]) -> bool:
    """Whether ``finish`` took effect: processing started, or the video is public/scheduled."""
    status = node.get("status") or {}
    if node.get("published"):
        return True
    publishing = (status.get("publishing_phase") or {}).get("status")
    return publishing not in (None, "not_started")


def _phase_errors(status: dict[str, Any]) -> str:
    out = []
    for phase in ("processing_phase", "publishing_phase", "uploading_phase"):
        for err in (status.get(phase) or {}).get("errors") or []:
            out.append(str(err.get("message", err)))
    return "; ".join(out) or "video_status=error"

"""Facebook Page: landscape episodes as Page videos, vertical ones as Page Reels.

Every step below is a row of the conformance table in docs/platforms/facebook.md (FB-…), with
its source; the points where Meta's documents are silent are marked there, with the readings the
sandbox serves. Page videos use the chunked ``upload_phase`` protocol of ``/{page}/videos``, not
the Resumable Upload API of the current guide: it needs the Page token alone (the upload session
of ``/{app-id}/uploads`` wants a user token, about 60 days), the video id is known before a byte
moves, the server dictates and corrects every window, and ``finish`` carries text, ``published``
and ``scheduled_publish_time`` in the one irreversible call (the full reasoning: FB-V0).

Steps (see :mod:`.base`):

* ``upload``: Page video: ``start`` then the server's windows (:mod:`.facebook_upload`); Reel:
  ``video_reels`` ``start`` then the rupload host (:mod:`.rupload`). Records every id and offset
  at once; ``uploaded`` once the platform holds every byte.
* ``poll`` before publishing: READY as soon as the bytes are there. Processing may only start
  with ``finish`` (Meta's SDK and Reels sample send it right after the bytes; FB-P1, FB-P2), so
  nothing waits for ``video_status == "ready"`` here; :class:`ProcessingFailed` if the status
  already says ``error``.
* ``publish``: ``finish`` (video: ``published``/``scheduled_publish_time``; Reel:
  ``video_state=PUBLISHED|SCHEDULED``). It only acknowledges receipt (FB-P5): ``confirm_after_
  publish``, the orchestrator then polls. Tied to the recorded ids, it can never make a second
  video; a ``finish`` that may have gone through is checked first (description with the marker,
  ``published``, publishing phase). A refused time -> :class:`ScheduleTooClose`.
* ``poll`` after publishing: PENDING while processing/publishing, PUBLISHED once public or
  scheduled, :class:`ProcessingFailed` on an error, :class:`RejectedByPlatform` if the video
  stays an unpublished draft (three looks in a row).
* ``find_published``: the recorded video's status (``public`` only when ``published`` is true or
  the publishing phase completed for an unscheduled post), else the marker in the Page's recent
  videos/Reels. Lookups that fail raise :class:`~.graph.LookupFailed` (transient).
* finish parts: the German caption file (feed videos; Reels carry burned captions) after a look at
  ``GET /{video}/captions`` so a lost answer never adds a second track, then the thumbnail.

Account options (``self.opts``: ``FacebookOptions`` of ``episodes.capabilities.facebook``,
which holds the defaults): ``page_id`` (required; connecting in the dashboard fills it in),
``video_base`` (host for Page-video uploads, default ``api_base``: Meta calls ``graph-video``
deprecated, its SDK still uses it), ``web_base`` (relative permalinks, default
``https://www.facebook.com``), ``format`` (``auto``|``video``|``reels``, default ``auto``),
``chunk_size`` (rupload bytes per request, 0 = the rest in one request, default 0),
``caption_locale`` (``de_DE``), ``poll_interval`` (seconds, 5), ``min_schedule_lead`` (seconds;
default 600, ``SPEC.min_schedule_lead``). Secret: ``access_token`` (a Page token; it cannot be
refreshed).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from episodes.capabilities.facebook import CAPABILITIES as CAPS
from episodes.capabilities.facebook import FacebookOptions
from episodes.capabilities.text import LIMITS

from . import facebook_status as fs
from .base import (
    Deleted,
    FinishPart,
    Platform,
    PlatformSpec,
    PostContext,
    Processing,
    ProcessingState,
    Published,
    register,
)
from .errors import (
    ConnectionLost,
    PlatformError,
    ProcessingFailed,
    RejectedByPlatform,
    ScheduleTooClose,
    TransientError,
)
from .facebook_upload import upload_page_video, upload_reel
from .graph import caption_with_marker, classify, read_only
from .http import PlatformHTTP

log = logging.getLogger("wtg.platforms.facebook")

#: production endpoints, for building real Accounts (calls only use the account's values)
PRODUCTION_API_BASE = "https://graph.facebook.com/v24.0"
PRODUCTION_VIDEO_BASE = "https://graph-video.facebook.com/v24.0"

_STATUS_FIELDS = "status,published,description,permalink_url"
#: looks in a row that must show "processed, never publishing" before it counts as a draft
_DRAFT_LOOKS = 3
#: Graph's "already finished" subcode on a second finish [modelled; FB-P6 in the docs file]
_ALREADY_FINISHED = 1363040
#: scheduling bounds, from the capability data (one source): 10 minutes [code FB-REELS-SAMPLE
#: utils.js PUBLISH_TIME_INTERVAL_BUFFER]; at most 30 days (3p say 30 days or 6 months)
MIN_LEAD = CAPS.min_schedule_lead.total_seconds()
MAX_LEAD = CAPS.max_schedule_lead.total_seconds() if CAPS.max_schedule_lead else float("inf")


@register
class Facebook(Platform):
    SPEC = PlatformSpec(
        name="facebook",
        label="Facebook",
        # no official limit for video descriptions was found; 63,206 is the post limit [3p]
        text=LIMITS["facebook"],  # episodes/capabilities/text.py
        # rupload: the rest of the file in one request (FB-R2); the option's default
        chunk_size=FacebookOptions.model_fields["chunk_size"].default,
        confirm_after_publish=True,
        native_scheduling=True,
        min_schedule_lead=MIN_LEAD,
        max_schedule_lead=MAX_LEAD,
        # READY comes with the last byte; this only bounds failing looks before publishing
        processing_deadline=1800.0,
        # finish -> public: Meta gives no figure (its SDK waits 180 s for encoding); an
        # episode of a few minutes takes minutes, 2 h leaves room and still tells staff the
        # same day
        confirm_deadline=2 * 3600.0,
    )

    opts: FacebookOptions

    def __init__(self, account: Any, credentials: Any) -> None:
        super().__init__(account, credentials)
        self.page_id = self.opts.page_id
        check = classify(self.SPEC.name, self.SPEC.label)
        self.http = PlatformHTTP(self.SPEC.name, account.api_base, check)
        self.video_http = PlatformHTTP(
            self.SPEC.name, self.opts.video_base or account.api_base, check,
            session=self.http.session,
        )
        self.web_base = self.opts.web_base
        self.chunk_size = self.opts.chunk_size
        self.poll_interval = self.opts.poll_interval

    # --- helpers (also used by facebook_upload) ----------------------------------------------
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.credentials.require('access_token')}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.http.json("GET", path, params=params, headers=self.auth())

    def status(self, video_id: str) -> dict[str, Any]:
        return self.get(video_id, fields=_STATUS_FIELDS)

    def _mode(self, ctx: PostContext) -> str:
        recorded = ctx.remote.get("mode")
        if recorded:
            return str(recorded)
        wanted = self.opts.format  # auto, video or reels (the model admits nothing else)
        if wanted != "auto":
            return wanted
        w, h = ctx.video.width, ctx.video.height
        if w is None or h is None:
            log.warning("facebook: rendition size unknown, sending it as a Page video")
            return "video"
        return "reels" if w < h else "video"

    def _url(self, node: dict[str, Any], video_id: str, reel: bool) -> str:
        fallback = f"/reel/{video_id}/" if reel else f"/{self.page_id}/videos/{video_id}/"
        link = str(node.get("permalink_url") or fallback)
        return link if link.startswith("http") else f"{self.web_base}{link}"

    def _finished(self, ctx: PostContext, node: dict[str, Any]) -> bool:
        """``finish`` is known to have gone through (recorded, or visible on the video)."""
        if ctx.remote.get("finished"):
            return True
        if ctx.remote.get("finish_sent") and fs.finish_took_effect(node, ctx.marker):
            ctx.record({"finished": True})
            return True
        return False

    def _public(self, ctx: PostContext, node: dict[str, Any]) -> bool:
        if fs.public_now(node):
            return True
        scheduled = ctx.remote.get("scheduled_for") is not None
        return not scheduled and fs.publishing_complete(node) and not fs.held_for_schedule(node)

    # --- steps -------------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        self.get(self.page_id, fields="id,name")

    def _upload(self, ctx: PostContext) -> None:
        mode = self._mode(ctx)
        if "mode" not in ctx.remote:
            ctx.record({"mode": mode})
        if ctx.remote.get("uploaded"):
            return
        if mode == "reels":
            upload_reel(self, ctx)
        else:
            upload_page_video(self, ctx)
        ctx.record({"uploaded": True})

    def _poll(self, ctx: PostContext) -> Processing:
        node = self.status(str(ctx.remote["video_id"]))
        if fs.failed(node):
            raise ProcessingFailed(self.SPEC.name, fs.errors(node), code="error")
        if not self._finished(ctx, node):
            if ctx.remote.get("uploaded"):
                return Processing(state=ProcessingState.READY, detail="uploaded", retry_after=0)
            return Processing(state=ProcessingState.PENDING, detail=fs.progress(node),
                              retry_after=self.poll_interval)
        return self._after_finish(ctx, node)

    def _after_finish(self, ctx: PostContext, node: dict[str, Any]) -> Processing:
        scheduled = ctx.remote.get("scheduled_for") is not None
        if self._public(ctx, node):
            return Processing(state=ProcessingState.PUBLISHED, detail="published",
                              retry_after=0)
        if scheduled and (fs.held_for_schedule(node) or fs.publishing_complete(node)):
            return Processing(state=ProcessingState.PUBLISHED, detail="scheduled",
                              retry_after=0)
        looks = int(ctx.remote.get("draft_looks") or 0)
        if fs.draft_like(node) and not scheduled:
            looks += 1
            ctx.record({"draft_looks": looks})
            if looks >= _DRAFT_LOOKS:
                raise RejectedByPlatform(self.SPEC.name, "video processed but never published",
                                         message_de=(
                    "Facebook hat das Video verarbeitet, aber nur als unveröffentlichten Entwurf "
                    "gespeichert. Bitte in der Meta Business Suite prüfen; ein Hochformat-Video "
                    "muss als Reel gesendet werden (Kontooption format)."))
        elif looks:
            ctx.record({"draft_looks": 0})
        return Processing(state=ProcessingState.PENDING, detail=fs.progress(node),
                          retry_after=self.poll_interval)

    def _publish(self, ctx: PostContext) -> Published:
        video_id = str(ctx.remote["video_id"])
        reel = ctx.remote.get("mode") == "reels"
        if ctx.remote.get("finished"):
            return self._published(video_id, reel)
        if ctx.remote.get("finish_sent"):  # a finish whose answer was lost: look first
            node = self.status(video_id)
            if self._finished(ctx, node):
                return self._published(video_id, reel, node)
        when = self._schedule(ctx)
        form = self._finish_form(ctx, when)
        ctx.record({"finish_sent": True, "scheduled_for": when})
        try:
            if reel:
                answer = self.http.json("POST", f"{self.page_id}/video_reels",
                                        headers=self.auth(), data={**form, "video_id": video_id})
            else:
                answer = self.video_http.json(
                    "POST", f"{self.page_id}/videos", headers=self.auth(),
                    data={**form, "upload_session_id": str(ctx.remote["upload_session_id"])})
        except RejectedByPlatform as exc:
            if _already_finished(exc):
                ctx.record({"finished": True})
                return self._published(video_id, reel)
            ctx.record({"finish_sent": False, "scheduled_for": None})  # refused: nothing done
            if when is not None and _time_refused(exc):
                raise ScheduleTooClose(self.SPEC.name, exc.detail, code=exc.code,
                                       status=exc.status) from exc
            raise
        if isinstance(answer, dict) and answer.get("success") is False:
            raise ConnectionLost(self.SPEC.name, "finish answered success=false",
                                 outcome_unknown=True)
        ctx.record({"finished": True})
        return self._published(video_id, reel)

    def _published(self, video_id: str, reel: bool,
                   node: dict[str, Any] | None = None) -> Published:
        """The answer of ``publish``: the video is handed over, not yet confirmed public."""
        if node is None:
            try:
                node = self.status(video_id)
            except PlatformError as exc:  # the irreversible step is done; a link can wait
                log.info("facebook: status after finish failed (%s); fallback permalink", exc)
                node = {}
        return Published(remote_id=video_id, url=self._url(node, video_id, reel), public=False)

    def _finish_form(self, ctx: PostContext, when: int | None) -> dict[str, str]:
        description = caption_with_marker(ctx.text.body, ctx.text.hashtags, ctx.marker)
        form = {"upload_phase": "finish", "description": description}
        if ctx.text.title:
            form["title"] = ctx.text.title
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
        when = ctx.scheduled_at
        if when.tzinfo is None:
            raise ValueError("scheduled_at must be timezone-aware")
        ahead = (when - datetime.now(UTC)).total_seconds()
        least = self.min_schedule_lead()
        if not least <= ahead <= MAX_LEAD:
            raise ScheduleTooClose(self.SPEC.name, f"scheduled_at {when.isoformat()} is "
                                   f"{int(ahead)} s ahead, outside [{int(least)}, "
                                   f"{int(MAX_LEAD)}]")
        return int(when.timestamp())

    def _find_published(self, ctx: PostContext) -> Published | None:
        video_id = ctx.remote.get("video_id")
        reel = ctx.remote.get("mode") == "reels"
        if video_id:
            node = read_only(self.SPEC.name, "video status", lambda: self.status(str(video_id)))
            if not self._finished(ctx, node) and not fs.finish_took_effect(node, ctx.marker):
                return None
            if fs.failed(node):
                raise ProcessingFailed(self.SPEC.name, fs.errors(node), code="error")
            if not ctx.remote.get("finished"):
                ctx.record({"finished": True})
            return Published(remote_id=str(video_id), url=self._url(node, str(video_id), reel),
                             public=self._public(ctx, node))
        for edge in ("videos", "video_reels"):
            listing = read_only(self.SPEC.name, f"{edge} listing", lambda edge=edge: self.get(
                f"{self.page_id}/{edge}", fields=f"id,{_STATUS_FIELDS}", limit=50))
            for node in listing.get("data", []):
                if ctx.marker in str(node.get("description") or ""):
                    vid, is_reel = str(node["id"]), edge == "video_reels"
                    ctx.record({"video_id": vid, "finished": True, "uploaded": True,
                                "mode": "reels" if is_reel else "video"})
                    return Published(remote_id=vid, url=self._url(node, vid, is_reel),
                                     public=self._public(ctx, node))
        return None

    def _finish_parts(self, ctx: PostContext) -> list[FinishPart]:
        reel = ctx.remote.get("mode") == "reels"
        parts = []
        if ctx.captions_srt is not None:  # a Reel's rendition normally has them burned in
            parts.append(FinishPart.CAPTIONS)
        if ctx.thumbnail is not None and not reel:
            parts.append(FinishPart.THUMBNAIL)
        return parts

    def _finish_part(self, ctx: PostContext, part: FinishPart) -> None:
        video_id = str(ctx.remote["video_id"])
        if part is FinishPart.CAPTIONS and ctx.captions_srt is not None:
            self._send_captions(ctx, video_id)
        elif part is FinishPart.THUMBNAIL and ctx.thumbnail is not None:
            with ctx.thumbnail.open("rb") as fh:
                self.http.json("POST", f"{video_id}/thumbnails", headers=self.auth(),
                               data={"is_preferred": "true"},
                               files={"source": (ctx.thumbnail.name, fh, "image/jpeg")})

    def _send_captions(self, ctx: PostContext, video_id: str) -> None:
        """Upload the caption file unless the video already has a track: wtg made this video,
        so any track on it is ours from an attempt whose answer was lost."""
        assert ctx.captions_srt is not None
        try:
            existing = self.get(f"{video_id}/captions").get("data") or []
        except TransientError:
            raise
        except RejectedByPlatform as exc:  # listing refused: upload; worst case a 2nd track
            log.warning("facebook: caption listing refused (%s); uploading", exc.detail)
            existing = []
        if existing:
            log.info("facebook: video %s already has %d caption track(s)", video_id,
                     len(existing))
            return
        locale = self.opts.caption_locale
        name = f"{ctx.captions_srt.name.split('.')[0]}.{locale}.srt"
        with ctx.captions_srt.open("rb") as fh:
            self.http.json("POST", f"{video_id}/captions", headers=self.auth(),
                           data={"default_locale": locale},
                           files={"captions_file": (name, fh, "application/x-subrip")})


    def _delete(self, ctx: PostContext) -> Deleted:
        """``DELETE /{video-id}`` (Page videos and Reels alike; Meta's SDK ``AdVideo.api_delete``,
        answer ``{"success": true}``) on the video id recorded at the upload's start. An id that
        no longer exists (code 100, subcode 33) was deleted before: nothing else is touched."""
        video_id = ctx.remote.get("video_id")
        if not video_id:
            return Deleted(remote_id="", existed=False)  # nothing was ever uploaded
        try:
            self.http.json("DELETE", str(video_id), headers=self.auth())
        except RejectedByPlatform as exc:
            if exc.code == 100 and "subcode 33" in exc.detail:
                return Deleted(remote_id=str(video_id), existed=False)
            raise
        return Deleted(remote_id=str(video_id))


def _already_finished(exc: RejectedByPlatform) -> bool:
    return f"subcode {_ALREADY_FINISHED}" in exc.detail or "already been finished" in exc.detail


def _time_refused(exc: RejectedByPlatform) -> bool:
    """Graph refuses a bad ``scheduled_publish_time`` with code 100 and a message naming it."""
    return "schedul" in exc.detail.lower() and "time" in exc.detail.lower()

"""The life of one video in the Facebook sandbox: bytes, processing, publishing, status.

Kept apart from the routes (``sandbox/facebook.py``) so the phases can be read in one place;
the caption and thumbnail routes of a published video live here too (:class:`FinishPartRoutes`).
Each status look (``GET /{video}?fields=status``) moves a video one step: processing takes
``polls_left`` looks once it has started, publishing ``publish_polls_left`` more once
``finish`` asked for it. When processing starts is the reading ``processing_starts``:

* ``finish`` (default): Meta's SDK and Reels sample send ``finish`` right after the bytes and
  only then wait; Meta's Postman example shows ``processing_phase: not_started`` after a
  complete upload (docs/platforms/facebook.md, FB-P1, FB-P2);
* ``last_chunk``: processing runs as soon as the last byte is there, ``finish`` only adds the
  publishing phase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .base import Request, Response, route
from .graph import Blob

_CAPTION_NAME = re.compile(r"^[^/\\]+\.([a-z]{2}_[A-Z]{2})\.srt$")
_LOCALE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")


@dataclass
class Track:
    locale: str
    file_name: str


@dataclass
class Video:
    id: str
    kind: str  # "video" (Page video) or "reel"
    blob: Blob
    created: float
    polls_left: int  # status looks that processing takes once started
    publish_polls_left: int  # status looks publishing takes after processing
    error: str | None = None  # processing will end in this error
    session: str | None = None  # upload_session_id of a Page video
    processing_started: bool = False
    finished: bool = False
    finished_at: float | None = None
    publish: bool = False  # finish asked to publish now
    scheduled_at: float | None = None
    draft: bool = False
    public: bool = False
    dead: bool = False  # a Reel upload session that no longer takes bytes
    title: str = ""
    description: str = ""
    captions: list[Track] = field(default_factory=list)
    thumbnails: int = 0

    @property
    def processed(self) -> bool:
        return self.processing_started and self.polls_left == 0 and not self.error

    @property
    def settled(self) -> bool:
        """Processed and, if publishing was asked for, through the publishing phase."""
        return self.processed and self.publish_polls_left == 0

    def tick(self, now: float) -> None:
        """One status look."""
        if self.processing_started and self.polls_left > 0:
            self.polls_left -= 1
        elif self.finished and self.processed and self.publish_polls_left > 0:
            self.publish_polls_left -= 1
        self.settle(now)

    def settle(self, now: float) -> None:
        if self.finished and self.settled and self.publish:
            self.public = True
        if self.scheduled_at is not None and self.settled and now >= self.scheduled_at:
            self.public, self.scheduled_at = True, None

    def permalink(self, page_id: str) -> str:
        return f"/reel/{self.id}/" if self.kind == "reel" else f"/{page_id}/videos/{self.id}/"

    def status(self, readings: dict[str, str]) -> dict[str, Any]:
        """The ``status`` field as the sandbox serves it."""
        blob = self.blob
        uploading: dict[str, Any] = {"status": _upload_state(self)}
        hide = self.kind == "reel" and readings.get("reel_resume") == "restart"
        if not hide and not self.dead:
            uploading["bytes_transferred"] = blob.size
        if blob.declared is not None:
            uploading["source_file_size"] = blob.declared
        out: dict[str, Any] = {
            "video_status": "uploading", "uploading_phase": uploading,
            "processing_phase": {"status": "not_started"},
            "publishing_phase": {"status": "not_started"}, "processing_progress": 0,
        }
        if self.dead:
            uploading["errors"] = [{"code": 6000, "message": "The upload session ended."}]
            out["video_status"] = "error"
            return out
        if not blob.complete:
            return out
        out["video_status"] = ("upload_complete"
                               if readings.get("pending_video_status") == "upload_complete"
                               else "processing")
        if not self.processing_started:
            return out
        if self.polls_left > 0:
            out.update(video_status="processing", processing_progress=50,
                       processing_phase={"status": "in_progress"})
        elif self.error:
            errors = [{"code": 1363008, "message": self.error}]
            out.update(video_status="error",
                       processing_phase={"status": "error", "errors": errors})
            return out
        else:
            out.update(video_status="ready", processing_progress=100,
                       processing_phase={"status": "complete"})
        if self.public:
            out["publishing_phase"] = {"status": "complete", "publish_status": "published"}
        elif self.scheduled_at is not None and self.settled:
            out["publishing_phase"] = {"status": "complete", "publish_status": "scheduled",
                                       "publish_time": int(self.scheduled_at)}
        elif self.finished and not self.draft:
            out["publishing_phase"] = {"status": "in_progress"}
        return out

    def fields(self, wanted: str, page_id: str, readings: dict[str, str]) -> dict[str, Any]:
        names = {f.strip() for f in wanted.split(",")}
        out: dict[str, Any] = {"id": self.id}
        if "status" in names:
            out["status"] = self.status(readings)
        if "description" in names and self.finished:
            out["description"] = self.description
        if "title" in names and self.finished:
            out["title"] = self.title
        if "published" in names:
            out["published"] = self.public
        if "permalink_url" in names:
            out["permalink_url"] = self.permalink(page_id)
        if "scheduled_publish_time" in names and self.scheduled_at is not None:
            out["scheduled_publish_time"] = int(self.scheduled_at)
        return out


def _upload_state(v: Video) -> str:
    if v.dead:
        return "error"
    if v.blob.complete:
        return "complete"
    return "in_progress" if v.blob.size else "not_started"


class FinishPartRoutes:
    """``/{video}/captions`` (GET lists the tracks, POST adds one) and ``/{video}/thumbnails``,
    mixed into the Facebook sandbox."""

    videos: dict[str, Video]
    lock: Any
    multipart: Any
    authorize: Any
    invalid: Any
    reading: Any

    @route("GET", "/graph/{ver}/{node}/captions")
    def list_captions(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        with self.lock:
            v = self.videos.get(req.params["node"])
            if v is None:
                return self.invalid("(#100) Invalid video id", subcode=33)
            data = [{"locale": t.locale, "is_default": i == 0, "file_name": t.file_name}
                    for i, t in enumerate(v.captions)]
            return Response(200, {"data": data, "paging": {}})

    @route("POST", "/graph/{ver}/{node}/captions")
    def captions(self, req: Request) -> Response:
        form, files = self.multipart(req)
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        with self.lock:
            v = self.videos.get(req.params["node"])
            if v is None or not v.finished:
                return self.invalid("(#100) Invalid video id", subcode=33)
            item = files.get("captions_file")
            locale = self._caption_locale(item, form.get("default_locale", ""))
            if item is None or locale is None:
                return self.invalid("(#100) captions_file must be an .srt file with its locale "
                                    "(e.g. folge.de_DE.srt, default_locale=de_DE)")
            if self.reading("caption_repost") == "replaces":
                v.captions = [t for t in v.captions if t.locale != locale]
            v.captions.append(Track(locale=locale, file_name=item[0]))
            return Response(200, {"success": True})

    def _caption_locale(self, item: tuple[str, bytes] | None, default: str) -> str | None:
        if item is None or not item[0].endswith(".srt"):
            return None
        if self.reading("caption_name") == "locale_in_filename":
            m = _CAPTION_NAME.match(item[0])
            return m.group(1) if m else None
        return default if _LOCALE.match(default) else None

    @route("POST", "/graph/{ver}/{node}/thumbnails")
    def thumbnails(self, req: Request) -> Response:
        form, files = self.multipart(req)
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        with self.lock:
            v = self.videos.get(req.params["node"])
            if v is None or not v.finished:
                return self.invalid("(#100) Invalid video id", subcode=33)
            if "source" not in files:
                return self.invalid("(#100) The parameter source is required")
            v.thumbnails += 1
            return Response(200, {"success": True})

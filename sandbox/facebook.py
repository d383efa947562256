"""A local Facebook Page: chunked video upload, Page Reels, status, captions, thumbnails.

Enforces (PLATFORM-APIS.md §1 and §8):

* Page videos (``/graph-video/{ver}/{page}/videos``, refused on ``/graph``): ``upload_phase``
  ``start`` needs ``file_size`` and answers a window ``start_offset``/``end_offset`` (strings,
  ``chunk_window`` bytes); ``transfer`` must carry exactly that window as multipart file
  ``video_file_chunk``, else code 6000 / subcode 1363037 with the right window in ``error_data``;
  ``finish`` before all bytes or twice -> error; unknown parameters -> code 100.
* Reels (``/graph/{ver}/{page}/video_reels``): ``start`` returns ``video_id`` and
  ``upload_url``; the rupload POST needs ``Authorization: OAuth``, ``offset`` equal to the bytes
  held and ``file_size``; ``finish`` before all bytes or twice -> error; at most ``reels_limit``
  published or scheduled reels per rolling 24 h.
* Processing starts once every byte is there and takes ``processing_polls`` status looks
  (``GET /{video}?fields=status``), ending ``ready`` or ``error`` (``processing_phase.errors``)
  [modelled; the real timing is not documented]. ``finish`` only acknowledges receipt: the
  video goes public (or scheduled) ``publish_polls`` looks later, once processing is done.
* A vertical video sent through ``/videos`` (it is really a Reel) stays an unpublished draft —
  the known failure of other tools — and never shows up in ``published``.
* Scheduling: ``scheduled_publish_time`` only with ``published=false`` / ``video_state=
  SCHEDULED``, at least 10 minutes and at most ``schedule_max_days`` ahead.
* Captions: ``captions_file`` named ``<name>.<ll_CC>.srt``.
"""

from __future__ import annotations

import re
from typing import Any

from workers.platforms.base import Account

from .base import Request, Response, route
from .graph import GraphSandbox, mp4_dimensions

_FINISH_PARAMS = {"access_token", "upload_phase", "upload_session_id", "title", "description",
                  "published", "scheduled_publish_time", "content_tags", "custom_labels"}
_REEL_FINISH_PARAMS = {"access_token", "upload_phase", "video_id", "video_state", "description",
                       "title", "scheduled_publish_time", "place"}
_CAPTION_NAME = re.compile(r"^[^/\\]+\.[a-z]{2}_[A-Z]{2}\.srt$")
DAY = 86_400.0


class FacebookSandbox(GraphSandbox):
    platform = "facebook"
    throttle_code = 32

    def __init__(
        self,
        *,
        port: int = 0,
        processing_polls: int = 2,
        publish_polls: int = 0,
        chunk_window: int = 64 * 1024,
        reels_limit: int = 30,
        schedule_max_days: float = 30.0,
        rate_limit: int | None = None,
        rate_window: float = 3600.0,
    ) -> None:
        super().__init__(port=port, processing_polls=processing_polls, rate_limit=rate_limit,
                         rate_window=rate_window)
        self.chunk_window = chunk_window
        self.publish_polls = publish_polls
        self.reels_limit = reels_limit
        self.schedule_max_days = schedule_max_days
        self.page_id = "104857600000001"
        self.page_token = "EAAPAGE-sandbox-token-1"
        self.tokens[self.page_token] = {"kind": "page", "expired": False}
        self.videos: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, str] = {}  # upload_session_id -> video id

    def account(self, name: str = "facebook-test") -> tuple[Account, dict[str, str]]:
        base = self.url
        return Account(
            name=name, platform="facebook", display_name="Landkreis (Sandbox-Seite)",
            api_base=f"{base}/graph/{self.version}",
            options={"page_id": self.page_id, "video_base": f"{base}/graph-video/{self.version}",
                     "web_base": base, "chunk_size": 64 * 1024},
        ), {"access_token": self.page_token}

    # --- introspection --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        out = []
        for v in self.videos.values():
            self._settle(v)
            if v["public"] or (v["scheduled_at"] and self._processed(v)):
                out.append({
                    "id": v["id"], "url": self._permalink(v), "sha256": v["blob"].sha256,
                    "size": v["blob"].size, "text": v["description"], "title": v["title"],
                    "kind": v["kind"], "scheduled": not v["public"],
                    "captions": list(v["captions"]), "thumbnails": v["thumbnails"],
                })
        drafts = [v["id"] for v in self.videos.values() if v["finished"] and v["draft"]]
        return {"platform": self.platform, "published": out, "drafts": drafts,
                "videos": len(self.videos)}

    # --- page videos (chunked upload on graph-video) ---------------------------------------
    @route("POST", "/graph/{ver}/{node}/videos")
    def videos_on_wrong_host(self, req: Request) -> Response:
        return self.invalid("Video uploads must be sent to graph-video.facebook.com.")

    @route("POST", "/graph-video/{ver}/{node}/videos")
    def page_videos(self, req: Request) -> Response:
        form, files = self.multipart(req)
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        if req.params["node"] != self.page_id:
            return self.invalid("Unsupported post request: unknown page.", subcode=33)
        phase = form.get("upload_phase")
        with self.lock:
            if phase == "start":
                return self._start(form)
            if phase == "transfer":
                return self._transfer(form, files)
            if phase == "finish":
                return self._finish_video(form)
            if phase == "cancel":
                vid = self.sessions.get(form.get("upload_session_id", ""))
                if vid:
                    self.videos[vid]["cancelled"] = True
                return Response(200, {"success": True})
        return self.invalid("The sandbox only supports upload_phase=start/transfer/finish.")

    def _new_video(self, kind: str) -> dict[str, Any]:
        vid = self.new_id()
        v = {"id": vid, "kind": kind, "blob": self.new_blob(vid), "finished": False,
             "public": False, "draft": False, "scheduled_at": None, "title": "",
             "description": "", "polls_left": 0, "error": None, "captions": [],
             "thumbnails": 0, "cancelled": False, "created": self.now(), "session": None,
             "finished_at": None, "publish": False, "publish_polls_left": 0}
        v["polls_left"] = self.processing_polls
        if self.fail_processing:
            v["error"] = self.fail_processing.pop(0)
        self.videos[vid] = v
        return v

    def _start(self, form: dict[str, str]) -> Response:
        try:
            size = int(form["file_size"])
        except (KeyError, ValueError):
            return self.invalid("(#100) The parameter file_size is required")
        if size <= 0:
            return self.invalid("(#100) file_size must be positive")
        v = self._new_video("video")
        v["blob"].declared = size
        session = self.new_id()
        v["session"] = session
        self.sessions[session] = v["id"]
        start, end = self._window(v)
        return Response(200, {"upload_session_id": session, "video_id": v["id"],
                              "start_offset": str(start), "end_offset": str(end)})

    def _window(self, v: dict[str, Any]) -> tuple[int, int]:
        start = v["blob"].size
        return start, min(start + self.chunk_window, v["blob"].declared)

    def _transfer(self, form: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Response:
        vid = self.sessions.get(form.get("upload_session_id", ""))
        if vid is None:
            return self.invalid("Invalid upload_session_id")
        v = self.videos[vid]
        start, end = self._window(v)
        chunk = files.get("video_file_chunk")
        try:
            offset = int(form["start_offset"])
        except (KeyError, ValueError):
            offset = -1
        if v["finished"] or chunk is None or offset != start or len(chunk[1]) != end - start:
            return self.error(6000, "There was a problem uploading your video file. Please try "
                                    "again with another file.", subcode=1363037,
                              data={"start_offset": str(start), "end_offset": str(end)})
        v["blob"].append(chunk[1])
        start, end = self._window(v)
        return Response(200, {"start_offset": str(start), "end_offset": str(end)})

    def _finish_video(self, form: dict[str, str]) -> Response:
        unknown = set(form) - _FINISH_PARAMS
        if unknown:
            return self.invalid(f"(#100) Invalid parameter: {sorted(unknown)[0]}")
        vid = self.sessions.get(form.get("upload_session_id", ""))
        if vid is None:
            return self.invalid("Invalid upload_session_id")
        v = self.videos[vid]
        if v["finished"]:
            return self.error(6000, "This upload session has already been finished.",
                              subcode=1363040)
        if not v["blob"].complete:
            return self.error(6000, "The video file you tried to upload is incomplete.",
                              subcode=1363019)
        published = form.get("published", "true").lower() != "false"
        when = form.get("scheduled_publish_time")
        if when is not None:
            if published:
                return self.invalid("(#100) scheduled_publish_time requires published=false")
            bad = self._bad_schedule(when)
            if bad:
                return bad
            v["scheduled_at"] = float(when)
        dims = mp4_dimensions(v["blob"].path)
        v["draft"] = not published and when is None
        if published and dims and dims[1] > dims[0]:
            v["draft"] = True  # a vertical upload to /videos is treated as a reel draft
        self._begin_processing(v, form)
        v["publish"] = published and not v["draft"]
        self._settle(v)
        return Response(200, {"success": True})

    def _bad_schedule(self, when: str) -> Response | None:
        try:
            t = float(when)
        except ValueError:
            return self.invalid("(#100) The specified scheduled publish time is invalid.")
        now = self.now()
        if t < now + 600 or t > now + self.schedule_max_days * DAY:
            return self.invalid("(#100) The specified scheduled publish time is invalid: it "
                                "must be between 10 minutes and "
                                f"{self.schedule_max_days:g} days from the time of the request.")
        return None

    def _begin_processing(self, v: dict[str, Any], form: dict[str, str]) -> None:
        v["finished"] = True
        v["title"] = form.get("title", "")
        v["description"] = form.get("description", "")
        v["publish_polls_left"] = self.publish_polls

    # --- Reels -----------------------------------------------------------------------------
    @route("POST", "/graph/{ver}/{node}/video_reels")
    def video_reels(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        if req.params["node"] != self.page_id:
            return self.invalid("Unsupported post request: unknown page.", subcode=33)
        phase = form.get("upload_phase")
        with self.lock:
            if phase == "start":
                v = self._new_video("reel")
                url = f"{self.url}/rupload/video-upload/{self.version}/{v['id']}"
                return Response(200, {"video_id": v["id"], "upload_url": url})
            if phase == "finish":
                return self._finish_reel(form)
        return self.invalid("(#100) upload_phase must be one of start, finish")

    def _finish_reel(self, form: dict[str, str]) -> Response:
        unknown = set(form) - _REEL_FINISH_PARAMS
        if unknown:
            return self.invalid(f"(#100) Invalid parameter: {sorted(unknown)[0]}")
        v = self.videos.get(form.get("video_id", ""))
        if v is None or v["kind"] != "reel":
            return self.invalid("(#100) Invalid video_id")
        if v["finished"]:
            return self.error(6000, "This reel has already been finished.", subcode=1363040)
        if not v["blob"].complete:
            return self.error(6000, "The video upload is not complete.", subcode=1363019)
        state = form.get("video_state", "")
        when = form.get("scheduled_publish_time")
        if state not in ("PUBLISHED", "DRAFT", "SCHEDULED"):
            return self.invalid("(#100) video_state must be one of PUBLISHED, DRAFT, SCHEDULED")
        if (state == "SCHEDULED") != (when is not None):
            return self.invalid("(#100) video_state=SCHEDULED requires scheduled_publish_time "
                                "and the other way round")
        if when is not None:
            bad = self._bad_schedule(when)
            if bad:
                return bad
        if state != "DRAFT":
            day_ago = self.now() - DAY
            used = sum(1 for r in self.videos.values() if r["kind"] == "reel" and r["finished"]
                       and not r["draft"] and r["finished_at"] > day_ago)
            if used >= self.reels_limit:
                # the limit is documented [doc FB-REELS]; its error code is not [unverified]
                return self.error(4, "(#4) Reels publishing limit reached: 30 API-published "
                                     "reels per 24 hours.")
        if when is not None:
            v["scheduled_at"] = float(when)
        v["draft"] = state == "DRAFT"
        v["finished_at"] = self.now()
        self._begin_processing(v, form)
        v["publish"] = state == "PUBLISHED"
        self._settle(v)
        return Response(200, {"success": True})

    @route("POST", "/rupload/video-upload/{ver}/{video_id}", stream=True)
    def rupload(self, req: Request) -> Response:
        denied = self.authorize(req, {}, kind="page", header_only=True)
        if denied:
            return denied
        with self.lock:
            v = self.videos.get(req.params["video_id"])
            if v is None or v["kind"] != "reel":
                return self.invalid("Unknown video id for upload.")
            if v["finished"]:
                return self.invalid("The upload for this video was already finished.")
            return self.receive_rupload(req, v["blob"])

    # --- reading ---------------------------------------------------------------------------
    @route("GET", "/graph/{ver}/{node}")
    def node(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        node = req.params["node"]
        with self.lock:
            if node in (self.page_id, "me"):
                return Response(200, {"id": self.page_id, "name": "Landkreis (Sandbox-Seite)"})
            v = self.videos.get(node)
            if v is None:
                return self.error(100, f"Unsupported get request. Object with ID '{node}' does "
                                       "not exist.", type_="GraphMethodException", subcode=33)
            self._tick(v)
            return Response(200, self._fields(v, form.get("fields", "id")))

    @route("GET", "/graph/{ver}/{node}/videos")
    def list_videos(self, req: Request) -> Response:
        return self._list(req, "video")

    @route("GET", "/graph/{ver}/{node}/video_reels")
    def list_reels(self, req: Request) -> Response:
        return self._list(req, "reel")

    def _list(self, req: Request, kind: str) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        limit = int(form.get("limit", "25"))
        fields = form.get("fields", "id,description,updated_time")
        with self.lock:
            items = [v for v in self.videos.values() if v["kind"] == kind and v["finished"]]
            items.sort(key=lambda v: v["created"], reverse=True)
            return Response(200, {"data": [self._fields(v, fields) for v in items[:limit]]})

    def _tick(self, v: dict[str, Any]) -> None:
        """One status look: processing advances; after it and ``finish`` the video goes out."""
        if v["blob"].complete and v["polls_left"] > 0:
            v["polls_left"] -= 1
        elif v["finished"] and v["polls_left"] == 0 and v["publish_polls_left"] > 0:
            v["publish_polls_left"] -= 1
        self._settle(v)

    def _settle(self, v: dict[str, Any]) -> None:
        if v["finished"] and self._processed(v) and v["publish"]:
            v["public"] = True
        self._advance_schedule(v)

    @staticmethod
    def _processed(v: dict[str, Any]) -> bool:
        return v["polls_left"] == 0 and not v["error"] and v["publish_polls_left"] == 0

    def _advance_schedule(self, v: dict[str, Any]) -> None:
        if v["scheduled_at"] and self._processed(v) and self.now() >= v["scheduled_at"]:
            v["public"], v["scheduled_at"] = True, None

    def _permalink(self, v: dict[str, Any]) -> str:
        if v["kind"] == "reel":
            return f"/reel/{v['id']}/"
        return f"/{self.page_id}/videos/{v['id']}/"

    def _fields(self, v: dict[str, Any], fields: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": v["id"]}
        wanted = {f.strip() for f in fields.split(",")}
        if "status" in wanted:
            out["status"] = self._status(v)
        if "description" in wanted:
            out["description"] = v["description"]
        if "title" in wanted:
            out["title"] = v["title"]
        if "published" in wanted:
            out["published"] = v["public"]
        if "permalink_url" in wanted:
            out["permalink_url"] = self._permalink(v)
        return out

    def _status(self, v: dict[str, Any]) -> dict[str, Any]:
        blob = v["blob"]
        up = "complete" if blob.complete else ("in_progress" if blob.size else "not_started")
        uploading = {"status": up, "bytes_transferred": blob.size}
        if blob.declared is not None:
            uploading["source_file_size"] = blob.declared
        status: dict[str, Any] = {
            "video_status": "upload_complete" if blob.complete else "uploading",
            "uploading_phase": uploading, "processing_phase": {"status": "not_started"},
            "publishing_phase": {"status": "not_started"}, "processing_progress": 0,
        }
        if not blob.complete:
            return status
        if v["polls_left"] > 0:
            status.update(video_status="processing", processing_progress=50,
                          processing_phase={"status": "in_progress"})
        elif v["error"]:
            errors = [{"code": 1363008, "message": v["error"]}]
            status.update(video_status="error",
                          processing_phase={"status": "error", "errors": errors})
            return status
        else:
            status.update(video_status="ready", processing_progress=100,
                          processing_phase={"status": "complete"})
        if v["public"]:
            status["publishing_phase"] = {"status": "complete", "publish_status": "published"}
        elif v["scheduled_at"] and self._processed(v):
            status["publishing_phase"] = {"status": "complete", "publish_status": "scheduled",
                                          "publish_time": int(v["scheduled_at"])}
        elif v["finished"] and not v["draft"]:
            status["publishing_phase"] = {"status": "in_progress"}
        return status

    # --- after publishing --------------------------------------------------------------------
    @route("POST", "/graph/{ver}/{node}/captions")
    def captions(self, req: Request) -> Response:
        form, files = self.multipart(req)
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        with self.lock:
            v = self.videos.get(req.params["node"])
            if v is None or not v["finished"]:
                return self.invalid("(#100) Invalid video id", subcode=33)
            item = files.get("captions_file")
            if item is None or not _CAPTION_NAME.match(item[0]):
                return self.invalid("(#100) captions_file must be an .srt file named "
                                    "<name>.<locale>.srt, e.g. folge.de_DE.srt")
            locale = item[0].rsplit(".", 2)[1]
            if locale not in v["captions"]:
                v["captions"].append(locale)
            return Response(200, {"success": True})

    @route("POST", "/graph/{ver}/{node}/thumbnails")
    def thumbnails(self, req: Request) -> Response:
        form, files = self.multipart(req)
        denied = self.authorize(req, form, kind="page")
        if denied:
            return denied
        with self.lock:
            v = self.videos.get(req.params["node"])
            if v is None or not v["finished"]:
                return self.invalid("(#100) Invalid video id", subcode=33)
            if "source" not in files:
                return self.invalid("(#100) The parameter source is required")
            v["thumbnails"] += 1
            return Response(200, {"success": True})

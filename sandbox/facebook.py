"""A local Facebook Page: chunked Page videos, Page Reels, status, captions, thumbnails.

What it enforces comes from docs/platforms/facebook.md (the conformance table, with sources):

* Page videos (``/{page}/videos`` on ``/graph`` or ``/graph-video``: Meta's overview calls the
  video host deprecated, its SDK still uses it): ``upload_phase`` ``start`` needs ``file_size``
  and answers a window ``start_offset``/``end_offset`` (strings, ``chunk_window`` bytes);
  ``transfer`` must carry exactly that window as multipart file ``video_file_chunk``, else code
  6000 / subcode 1363037; ``finish`` before all bytes or twice -> error; unknown parameters ->
  code 100.
* Reels (``/graph/{ver}/{page}/video_reels``): ``start`` returns ``video_id`` and
  ``upload_url``; the rupload POST needs ``Authorization: OAuth``, ``offset`` and ``file_size``;
  ``finish`` before all bytes or twice -> error; at most ``reels_limit`` published or scheduled
  Reels per rolling 24 h.
* ``finish`` only acknowledges (``{"success": true}``): processing and publishing go on over the
  following status looks (``sandbox/facebook_video.py``). A vertical video sent through
  ``/videos`` stays an unpublished draft (the known failure of other tools).
* Scheduling: ``scheduled_publish_time`` only with ``published=false`` / ``video_state=
  SCHEDULED``, at least 10 minutes and at most ``schedule_max_days`` ahead (code 100
  otherwise, the message Graph gives for it).
* Captions: ``POST /{video}/captions`` (``captions_file``, ``default_locale``) adds a track;
  ``GET`` lists the tracks.

Where Meta's documents are silent the sandbox serves each plausible reading (``READINGS``, the
first is the default; the contract suite runs them all).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Request, Response, SandboxAccount, route
from .facebook_video import FinishPartRoutes, Video
from .graph import GraphSandbox
from .mp4spec import FACEBOOK_REEL, mp4_dimensions, reel_problem
from .oauth_platforms import FacebookOAuth

_FINISH_PARAMS = {"access_token", "upload_phase", "upload_session_id", "title", "description",
                  "published", "scheduled_publish_time", "content_tags", "custom_labels"}
_REEL_FINISH_PARAMS = {"access_token", "upload_phase", "video_id", "video_state", "description",
                       "title", "scheduled_publish_time", "place"}
DAY = 86_400.0


class FacebookSandbox(FinishPartRoutes, FacebookOAuth, GraphSandbox):
    platform = "facebook"
    throttle_code = 32
    READINGS: ClassVar[dict[str, tuple[str, ...]]] = {
        # when processing starts: at finish (SDK, Reels sample, Postman example) or already at
        # the last transferred byte
        "processing_starts": ("finish", "last_chunk"),
        # video_status once every byte is there but before processing: Meta's Postman example
        # shows "processing" (with processing_phase not_started); "upload_complete" is the
        # other plausible value
        "pending_video_status": ("processing", "upload_complete"),
        # a transfer with the wrong window: 1363037 with the wanted window in error_data (SDK)
        # or without it (then uploading_phase.bytes_transferred tells)
        "transfer_resume": ("window_in_error", "status_offset"),
        # a Reel rupload POST cut off: the host keeps the bytes and reports bytes_transferred;
        # or drops them, reports nothing and wants offset 0; or the session is dead
        "reel_resume": ("bytes_transferred", "restart", "fresh_session"),
        # whether one rupload POST may carry only part of the file
        "rupload_chunks": ("accepted", "single_request"),
        # what finish answers
        "finish_answer": ("success", "success_with_id"),
        # how the caption file names its locale: in the file name (long-standing convention)
        # or by default_locale alone
        "caption_name": ("locale_in_filename", "default_locale_only"),
        # a second caption upload for the same locale: another track, or a replacement
        "caption_repost": ("adds_track", "replaces"),
    }

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
        self.videos: dict[str, Video] = {}
        self.sessions: dict[str, str] = {}  # upload_session_id -> video id
        self.deleted: list[str] = []  # video ids deleted through the API

    def account(self, name: str = "facebook-test") -> tuple[SandboxAccount, dict[str, str]]:
        return SandboxAccount(
            name=name, platform="facebook", display_name="Landkreis (Sandbox-Seite)",
            api_base=f"{self.url}/graph/{self.version}",
            options={"page_id": self.page_id, "web_base": self.url},
        ), {"access_token": self.page_token}

    # --- introspection --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        out = []
        now = self.now()
        for v in self.videos.values():
            v.settle(now)
            if v.public or (v.scheduled_at is not None and v.settled):
                out.append({
                    "id": v.id, "url": v.permalink(self.page_id), "sha256": v.blob.sha256,
                    "size": v.blob.size, "text": v.description, "title": v.title,
                    "kind": v.kind, "scheduled": not v.public,
                    "captions": [t.locale for t in v.captions], "thumbnails": v.thumbnails,
                })
        drafts = [v.id for v in self.videos.values() if v.finished and v.draft]
        return {"platform": self.platform, "published": out, "drafts": drafts,
                "videos": len(self.videos), "deleted": list(self.deleted)}

    # --- page videos (chunked upload) ------------------------------------------------------
    @route("POST", "/graph/{ver}/{node}/videos")
    def page_videos_graph(self, req: Request) -> Response:
        return self._page_videos(req)

    @route("POST", "/graph-video/{ver}/{node}/videos")
    def page_videos(self, req: Request) -> Response:
        return self._page_videos(req)

    def _page_videos(self, req: Request) -> Response:
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
        return self.invalid("The sandbox only supports upload_phase=start/transfer/finish.")

    def _new_video(self, kind: str) -> Video:
        v = Video(id=self.new_id(), kind=kind, blob=self.new_blob(self.new_id()),
                  created=self.now(), polls_left=self.processing_polls,
                  publish_polls_left=self.publish_polls,
                  error=self.fail_processing.pop(0) if self.fail_processing else None)
        self.videos[v.id] = v
        return v

    def _start(self, form: dict[str, str]) -> Response:
        try:
            size = int(form["file_size"])
        except (KeyError, ValueError):
            return self.invalid("(#100) The parameter file_size is required")
        if size <= 0:
            return self.invalid("(#100) file_size must be positive")
        v = self._new_video("video")
        v.blob.declared = size
        v.session = self.new_id()
        self.sessions[v.session] = v.id
        start, end = self._window(v)
        return Response(200, {"upload_session_id": v.session, "video_id": v.id,
                              "start_offset": str(start), "end_offset": str(end)})

    def _window(self, v: Video) -> tuple[int, int]:
        start = v.blob.size
        return start, min(start + self.chunk_window, v.blob.declared or 0)

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
        if v.finished or chunk is None or offset != start or len(chunk[1]) != end - start:
            data = ({"start_offset": str(start), "end_offset": str(end)}
                    if self.reading("transfer_resume") == "window_in_error" else None)
            return self.error(6000, "There was a problem uploading your video file. Please try "
                                    "again with another file.", subcode=1363037, data=data)
        v.blob.append(chunk[1])
        self._bytes_arrived(v)
        start, end = self._window(v)
        return Response(200, {"start_offset": str(start), "end_offset": str(end)})

    def _bytes_arrived(self, v: Video) -> None:
        if v.blob.complete and self.reading("processing_starts") == "last_chunk":
            self._start_processing(v)

    @staticmethod
    def _start_processing(v: Video) -> None:
        """Processing begins; a Reel that breaks the Reels specification will end in an error
        (PLATFORM-APIS, Facebook simulator notes: 540x960 at least, 24-60 fps, 3-90 s)."""
        if not v.processing_started and v.kind == "reel" and v.error is None:
            v.error = reel_problem(v.blob.path, FACEBOOK_REEL)
        v.processing_started = True

    def _finish_video(self, form: dict[str, str]) -> Response:
        unknown = set(form) - _FINISH_PARAMS
        if unknown:
            return self.invalid(f"(#100) Invalid parameter: {sorted(unknown)[0]}")
        vid = self.sessions.get(form.get("upload_session_id", ""))
        if vid is None:
            return self.invalid("Invalid upload_session_id")
        v = self.videos[vid]
        refused = self._finish_refused(v)
        if refused:
            return refused
        published = form.get("published", "true").lower() != "false"
        when = form.get("scheduled_publish_time")
        if when is not None:
            if published:
                return self.invalid("(#100) scheduled_publish_time requires published=false")
            bad = self._bad_schedule(when)
            if bad:
                return bad
            v.scheduled_at = float(when)
        dims = mp4_dimensions(v.blob.path)
        v.draft = not published and when is None
        if published and dims and dims[1] > dims[0]:
            v.draft = True  # a vertical upload to /videos is kept as a reel draft
        v.publish = published and not v.draft
        return self._finished(v, form)

    def _finish_refused(self, v: Video) -> Response | None:
        if v.finished:
            return self.error(6000, "This upload session has already been finished.",
                              subcode=1363040)
        if not v.blob.complete:
            return self.error(6000, "The video file you tried to upload is incomplete.",
                              subcode=1363019)
        return None

    def _finished(self, v: Video, form: dict[str, str]) -> Response:
        v.finished, v.finished_at = True, self.now()
        self._start_processing(v)
        v.title = form.get("title", "")
        v.description = form.get("description", "")
        v.settle(self.now())
        if self.reading("finish_answer") == "success_with_id":
            return Response(200, {"success": True, "video_id": v.id})
        return Response(200, {"success": True})

    def _bad_schedule(self, when: str) -> Response | None:
        try:
            t = float(when)
        except ValueError:
            return self.invalid("(#100) The specified scheduled publish time is invalid.")
        now = self.now()
        if t < now + 600 or t > now + self.schedule_max_days * DAY:
            return self.invalid("(#100) The specified scheduled publish time is invalid.")
        return None

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
                url = f"{self.url}/rupload/video-upload/{self.version}/{v.id}"
                return Response(200, {"video_id": v.id, "upload_url": url})
            if phase == "finish":
                return self._finish_reel(form)
        return self.invalid("(#100) upload_phase must be one of start, finish")

    def _finish_reel(self, form: dict[str, str]) -> Response:
        unknown = set(form) - _REEL_FINISH_PARAMS
        if unknown:
            return self.invalid(f"(#100) Invalid parameter: {sorted(unknown)[0]}")
        v = self.videos.get(form.get("video_id", ""))
        if v is None or v.kind != "reel":
            return self.invalid("(#100) Invalid video_id")
        refused = self._finish_refused(v)
        if refused:
            return refused
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
            used = sum(1 for r in self.videos.values() if r.kind == "reel" and r.finished
                       and not r.draft and (r.finished_at or 0) > day_ago)
            if used >= self.reels_limit:
                # the limit is documented [FB-REELS]; its error code is not [unverified]
                return self.error(4, "(#4) Reels publishing limit reached: 30 API-published "
                                     "reels per 24 hours.")
        if when is not None:
            v.scheduled_at = float(when)
        v.draft = state == "DRAFT"
        v.publish = state == "PUBLISHED"
        return self._finished(v, form)

    @route("POST", "/rupload/video-upload/{ver}/{video_id}", stream=True)
    def rupload(self, req: Request) -> Response:
        if not req.headers.get("authorization", "").lower().startswith("oauth "):
            return self.rupload_error(400, "NotAuthorizedError",
                                      "User not authorized to perform this request")
        denied = self.authorize(req, {}, kind="page", header_only=True)
        if denied:
            return denied
        with self.lock:
            v = self.videos.get(req.params["video_id"])
            if v is None or v.kind != "reel":
                return self.rupload_error(400, "InvalidRequest", "Invalid video id")
            if v.finished or v.dead:
                return self.rupload_error(400, "InvalidRequest",
                                          "This upload session no longer accepts bytes")
            reading = self.reading("reel_resume")
            held = v.blob.size
            resp, cut = self.receive_rupload(req, v.blob, restart_at_zero=reading == "restart")
            if cut and reading == "restart":
                v.blob.truncate(0)
            elif cut and reading == "fresh_session":
                v.dead = True
            elif resp.status != 200 and reading == "fresh_session" and held:
                v.dead = True  # a resumed POST the session cannot take
            self._bytes_arrived(v)
            return resp

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
            v.tick(self.now())
            return Response(200, v.fields(form.get("fields", "id"), self.page_id,
                                          self.readings))

    @route("DELETE", "/graph/{ver}/{node}")
    def delete_node(self, req: Request) -> Response:
        """``DELETE /{video-id}`` (Meta SDK ``AdVideo.api_delete``): ``{"success": true}``;
        an id that does not exist (any more) -> code 100, subcode 33."""
        denied = self.authorize(req, req.form(), kind="page")
        if denied:
            return denied
        with self.lock:
            if self.videos.pop(req.params["node"], None) is None:
                return self.error(100, f"Unsupported delete request. Object with ID "
                                       f"'{req.params['node']}' does not exist.",
                                  type_="GraphMethodException", subcode=33)
            self.deleted.append(req.params["node"])
        return Response(200, {"success": True})

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
            items = [v for v in self.videos.values() if v.kind == kind and v.finished]
            items.sort(key=lambda v: v.created, reverse=True)
            return Response(200, {"data": [v.fields(fields, self.page_id, self.readings)
                                           for v in items[:limit]]})

"""Routes of the YouTube sandbox for a video resource: ``videos.list`` and ``videos.update``,
with processing, scheduled publishing (``private`` + ``publishAt``) and their readings.

A mixin of :class:`sandbox.youtube.YouTubeSandbox`, which holds the state these routes use.
Sources: docs/platforms/youtube.md ("Publish", "Scheduling", "Status").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .base import Request, Response, route
from .youtube_rules import check_publish_at, google_error, parse_time


class VideoRoutes:
    """videos.list (advances processing, flips due schedules) and videos.update."""

    videos: dict[str, Any]
    deleted: list[str]
    processing_polls: int
    lock: Any

    def _guard(self, req: Request, method: str) -> Response | None:
        raise NotImplementedError

    if TYPE_CHECKING:  # provided by Sandbox (a stub here would shadow it)
        def reading(self, point: str) -> str: ...

    def _resource(self, v: Any, parts: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#video", "id": v.id}
        if "snippet" in parts:
            out["snippet"] = dict(v.snippet)
        if "status" in parts:
            out["status"] = dict(v.status)
        if "processingDetails" in parts:
            done = v.status["uploadStatus"] != "uploaded"
            state = {"processed": "succeeded", "failed": "failed"}.get(
                v.status["uploadStatus"], "terminated") if done else "processing"
            out["processingDetails"] = {"processingStatus": state, "processingProgress": {
                "partsTotal": self.processing_polls, "partsProcessed": v.polls,
                "timeLeftMs": max(0, self.processing_polls - v.polls) * 1000}}
        return out

    def _advance(self, v: Any) -> None:
        """One look at a video: processing moves on one step, a due schedule flips."""
        if v.status["uploadStatus"] == "uploaded":
            v.polls += 1
            if v.polls >= self.processing_polls:
                kind, reason = v.outcome
                v.status["uploadStatus"] = kind
                if kind == "failed":
                    v.status["failureReason"] = reason
                elif kind == "rejected":
                    v.status["rejectionReason"] = reason
        self._flip_due(v)

    def _flip_due(self, v: Any) -> None:
        """YouTube's own scheduler: a private video whose publishAt has come becomes public
        (once processed)."""
        at = v.status.get("publishAt")
        if at and v.status["uploadStatus"] == "processed" and parse_time(at) <= datetime.now(UTC):
            v.status["privacyStatus"] = "public"
            v.status.pop("publishAt")
            v.ever_public = True

    @route("GET", "/youtube/v3/videos")
    def list_videos(self, req: Request) -> Response:
        denied = self._guard(req, "videos.list")
        if denied:
            return denied
        parts = set(req.query.get("part", "").split(","))
        items = []
        with self.lock:
            for vid in filter(None, req.query.get("id", "").split(",")):
                v = self.videos.get(vid)
                if v is not None:
                    self._advance(v)
                    items.append(self._resource(v, parts))
        return Response(200, {"kind": "youtube#videoListResponse", "items": items,
                              "pageInfo": {"totalResults": len(items)}})

    @route("DELETE", "/youtube/v3/videos")
    def delete_video(self, req: Request) -> Response:
        """videos.delete: 204; an unknown id 404 ``videoNotFound`` (the documented errors)."""
        denied = self._guard(req, "videos.delete")
        if denied:
            return denied
        with self.lock:
            if self.videos.pop(req.query.get("id", ""), None) is None:
                return google_error(404, "videoNotFound", "The video that you are trying to "
                                    "delete cannot be found.")
            self.deleted.append(req.query["id"])
        return Response(204)

    @route("PUT", "/youtube/v3/videos")
    def update_video(self, req: Request) -> Response:
        denied = self._guard(req, "videos.update")
        if denied:
            return denied
        body = req.json()
        parts = set(req.query.get("part", "").split(","))
        v = self.videos.get(body.get("id", ""))
        if v is None:
            return google_error(404, "videoNotFound", "The video that you are trying to update "
                                "cannot be found.")
        status = dict(body.get("status") or {})
        if "status" not in parts or status.get("privacyStatus") not in {"public", "private",
                                                                         "unlisted"}:
            return google_error(400, "invalidVideoMetadata", "status.privacyStatus is required")
        going_out = status["privacyStatus"] != "private" or status.get("publishAt")
        with self.lock:
            if going_out and v.status["uploadStatus"] in {"failed", "rejected"}:
                return google_error(403, "forbiddenPrivacySetting",
                                    "The video failed processing and cannot be published.")
            if going_out and v.status["uploadStatus"] != "processed" and \
                    self.reading("update_while_processing") == "refuse":
                return google_error(400, "failedPrecondition",
                                    "sandbox: video is still processing; publish afterwards")
            if status.get("publishAt"):
                if v.ever_public:
                    return google_error(400, "invalidPublishAt", "already published")
                problem, now = check_publish_at(status, self.reading("publish_at_past"),
                                                self.reading("publish_at_steps"))
                if problem:
                    return problem
                if now:  # "scheduled for the past": the same as making it public
                    status["privacyStatus"] = "public"
                    status.pop("publishAt")
            keep = {k: v.status[k] for k in ("uploadStatus", "failureReason", "rejectionReason")
                    if k in v.status}
            v.status = dict(status, **keep)
            v.ever_public = v.ever_public or status["privacyStatus"] == "public"
            if "snippet" in parts and body.get("snippet"):
                v.snippet.update(body["snippet"])
            return Response(200, self._resource(v, parts))

"""Routes of the YouTube sandbox around a finished video: captions, thumbnails, playlists and
the channel (whose uploads playlist is how a client finds a video it lost the id of).

A mixin of :class:`sandbox.youtube.YouTubeSandbox`, which holds the state these routes use.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from .base import Request, Response, route
from .youtube_rules import google_error, multipart_related


class ChannelRoutes:
    """captions.insert/list, thumbnails.set, playlistItems.insert/list, channels.list."""

    videos: dict[str, Any]
    captions: list[dict[str, Any]]
    playlists: dict[str, list[dict[str, Any]]]
    channel_id: str
    thumbnail_max_bytes: int
    caption_answers_lost: int
    lock: Any

    def _guard(self, req: Request, method: str) -> Response | None:
        raise NotImplementedError

    if TYPE_CHECKING:  # provided by Sandbox (a stub here would shadow it)
        def reading(self, point: str) -> str: ...

    @route("POST", "/upload/youtube/v3/captions")
    def insert_caption(self, req: Request) -> Response:
        denied = self._guard(req, "captions.insert")
        if denied:
            return denied
        try:
            meta, data = multipart_related(req)
        except ValueError as exc:
            return google_error(400, "badRequest", str(exc))
        snip = meta.get("snippet") or {}
        if snip.get("videoId") not in self.videos:
            return google_error(404, "videoNotFound", "The video could not be found.")
        if not snip.get("language") or not snip.get("name") or not data.strip():
            return google_error(400, "invalidMetadata", "language, name and a file are required")
        with self.lock:
            if self.reading("caption_duplicate") == "conflict_409":
                for c in self.captions:
                    if (c["videoId"], c["language"], c["name"]) == (
                            snip["videoId"], snip["language"], snip["name"]):
                        return google_error(409, "captionExists",
                                            "The caption track already exists.")
            cap = {"id": "cap-" + secrets.token_urlsafe(6), "videoId": snip["videoId"],
                   "language": snip["language"], "name": snip["name"], "status": "serving",
                   "sha256": hashlib.sha256(data).hexdigest()}
            self.captions.append(cap)
            lost = self.caption_answers_lost > 0
            self.caption_answers_lost = max(0, self.caption_answers_lost - 1)
        if lost:  # stored, but the answer is a 503 (a gateway timing out)
            return google_error(503, "backendError", "The service is currently unavailable.")
        return Response(200, {"kind": "youtube#caption", "id": cap["id"],
                              "snippet": {**snip, "status": "serving"}})

    @route("GET", "/youtube/v3/captions")
    def list_captions(self, req: Request) -> Response:
        denied = self._guard(req, "captions.list")
        if denied:
            return denied
        items = [{"kind": "youtube#caption", "id": c["id"], "snippet": {
            "videoId": c["videoId"], "language": c["language"], "name": c["name"],
            "status": c["status"], "trackKind": "standard"}}
            for c in self.captions if c["videoId"] == req.query.get("videoId")]
        return Response(200, {"kind": "youtube#captionListResponse", "items": items})

    @route("POST", "/upload/youtube/v3/thumbnails/set")
    def set_thumbnail(self, req: Request) -> Response:
        denied = self._guard(req, "thumbnails.set")
        if denied:
            return denied
        v = self.videos.get(req.query.get("videoId", ""))
        if v is None:
            return google_error(404, "videoNotFound", "The video could not be found.")
        if not req.body:
            return google_error(400, "mediaBodyRequired", "The request has no image content.")
        is_image = req.body[:3] == b"\xff\xd8\xff" or req.body[:8] == b"\x89PNG\r\n\x1a\n"
        if len(req.body) > self.thumbnail_max_bytes or not is_image:
            return google_error(400, "invalidImage", "The image is invalid or too large.")
        with self.lock:
            v.thumbnail_sha256 = hashlib.sha256(req.body).hexdigest()
        return Response(200, {"kind": "youtube#thumbnailSetResponse",
                              "items": [{"default": {"url": f"https://i.ytimg.com/vi/{v.id}/"}}]})

    @route("POST", "/youtube/v3/playlistItems")
    def insert_playlist_item(self, req: Request) -> Response:
        denied = self._guard(req, "playlistItems.insert")
        if denied:
            return denied
        snip = req.json().get("snippet") or {}
        items = self.playlists.get(snip.get("playlistId", ""))
        if items is None:
            return google_error(404, "playlistNotFound", "The playlist cannot be found.")
        if (snip.get("resourceId") or {}).get("videoId") not in self.videos:
            return google_error(404, "videoNotFound", "The video cannot be found.")
        item = {"kind": "youtube#playlistItem", "id": "PLI" + secrets.token_urlsafe(8),
                "snippet": {"playlistId": snip["playlistId"], "resourceId": snip["resourceId"]}}
        with self.lock:
            items.append(item)
        return Response(200, item)

    @route("GET", "/youtube/v3/playlistItems")
    def list_playlist_items(self, req: Request) -> Response:
        denied = self._guard(req, "playlistItems.list")
        if denied:
            return denied
        pid = req.query.get("playlistId", "")
        if pid == "UU" + self.channel_id[2:]:
            items = [{"kind": "youtube#playlistItem", "id": "UPL" + v.id, "snippet": {
                "title": v.snippet.get("title"), "description": v.snippet.get("description"),
                "resourceId": {"kind": "youtube#video", "videoId": v.id}}}
                for v in reversed(self.videos.values())]
        elif pid in self.playlists:
            items = list(self.playlists[pid])
        else:
            return google_error(404, "playlistNotFound", "The playlist cannot be found.")
        if req.query.get("videoId"):
            items = [i for i in items
                     if i["snippet"]["resourceId"]["videoId"] == req.query["videoId"]]
        limit = int(req.query.get("maxResults", "5"))
        return Response(200, {"kind": "youtube#playlistItemListResponse", "items": items[:limit]})

    @route("GET", "/youtube/v3/channels")
    def list_channels(self, req: Request) -> Response:
        denied = self._guard(req, "channels.list")
        if denied:
            return denied
        return Response(200, {"kind": "youtube#channelListResponse", "items": [{
            "kind": "youtube#channel", "id": self.channel_id, "contentDetails": {
                "relatedPlaylists": {"uploads": "UU" + self.channel_id[2:]}}}]})

"""The YouTube adapter's upload: Google's resumable protocol (docs/platforms/youtube.md,
"Upload").

A mixin of :class:`~workers.platforms.youtube.YouTube`: a session is started once and its URI
recorded at once; chunks (multiples of 256 KiB) follow with the confirmed offset recorded after
every answer; after any error the status query (``bytes */N``) says what arrived -- only the
server's ``Range`` is trusted (a 308 without ``Range`` means nothing is stored).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import requests

from episodes.capabilities.text import tags_with_marker

from .base import PostContext
from .errors import CredentialsExpired, ProtocolError, TransientError
from .http import read_chunks
from .youtube_client import PLATFORM

if TYPE_CHECKING:
    from episodes.capabilities.youtube import YouTubeOptions

    from .youtube_client import YouTubeClient


class ResumableUpload:
    """videos.insert with ``uploadType=resumable``."""

    client: YouTubeClient
    opts: YouTubeOptions

    if TYPE_CHECKING:  # provided by the adapter
        def _status(self, privacy: str) -> dict[str, Any]: ...

        def check_text(self, text: Any) -> list[str]: ...

    def _start_session(self, ctx: PostContext) -> str:
        o = self.opts
        body = {"snippet": {"title": ctx.text.title, "description": ctx.text.body,
                            "tags": tags_with_marker(ctx.text, ctx.marker),
                            "categoryId": o.category_id, "defaultLanguage": o.language,
                            "defaultAudioLanguage": o.language},
                "status": self._status("private")}
        resp = self.client.call(
            ctx.quota, "videos.insert", "POST", self.client.upload_url("videos"),
            params={"uploadType": "resumable", "part": "snippet,status",
                    "notifySubscribers": str(o.notify_subscribers).lower()},
            headers={"Content-Type": "application/json; charset=UTF-8",
                     "X-Upload-Content-Length": str(ctx.video.size),
                     "X-Upload-Content-Type": ctx.video.mime},
            data=json.dumps(body).encode())
        url = resp.headers.get("Location")
        if not url:
            raise ProtocolError(PLATFORM, "resumable init answered without Location")
        ctx.record({"upload_url": url, "upload_size": ctx.video.size,
                    "upload_sha256": ctx.video.sha256, "upload_offset": 0})
        return url

    def _put(self, ctx: PostContext, url: str, content_range: str, data: bytes
             ) -> requests.Response:
        return self.client.call(None, None, "PUT", url, ok=(200, 201, 308), data=data,
                                refresh_on_401=False,
                                headers={"Content-Range": content_range,
                                         "Content-Type": ctx.video.mime})

    def _query_offset(self, ctx: PostContext, url: str) -> int | None:
        """The server's confirmed offset (None: the upload is complete, id recorded)."""
        try:
            resp = self._put(ctx, url, f"bytes */{ctx.video.size}", b"")
        except CredentialsExpired as exc:
            if exc.status != 401:
                raise
            self.client.refresh()
            resp = self._put(ctx, url, f"bytes */{ctx.video.size}", b"")
        return self._after_put(ctx, resp)

    def _after_put(self, ctx: PostContext, resp: requests.Response) -> int | None:
        if resp.status_code in (200, 201):
            vid = resp.json().get("id")
            if not vid:
                raise ProtocolError(PLATFORM, "upload finished without a video id")
            ctx.record({"video_id": vid, "upload_offset": ctx.video.size})
            return None
        if resp.headers.get("Location"):
            ctx.record({"upload_url": resp.headers["Location"]})
        m = re.fullmatch(r"bytes=0-(\d+)", resp.headers.get("Range", "").strip())
        offset = int(m.group(1)) + 1 if m else 0
        ctx.record({"upload_offset": offset})
        return offset

    def _send(self, ctx: PostContext, url: str, offset: int | None) -> None:
        size, stalls = ctx.video.size, 0
        with open(ctx.video.path, "rb") as fh:
            while offset is not None:
                start, data = next(read_chunks(fh, offset, size, self.opts.chunk_size))
                crange = f"bytes {start}-{start + len(data) - 1}/{size}"
                try:
                    resp = self._put(ctx, url, crange, data)
                except CredentialsExpired as exc:
                    if exc.status != 401:
                        raise
                    self.client.refresh()  # then ask what arrived before sending more
                    offset = self._query_offset(ctx, url)
                    continue
                del data
                url = resp.headers.get("Location") or url
                new = self._after_put(ctx, resp)
                stalls = stalls + 1 if new is not None and new <= start else 0
                if stalls >= 3:
                    raise TransientError(PLATFORM, f"no progress at byte {start}",
                                         code="noProgress")
                offset = new
                if ctx.progress is not None:
                    ctx.progress(size if new is None else new, size)



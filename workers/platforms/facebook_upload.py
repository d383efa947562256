"""The two Facebook transfers: Page video (chunked ``upload_phase``) and Page Reel (rupload).

Page video [code FB-SDK video_uploader.py; doc FB-PAGEVID; docs/platforms/facebook.md FB-V*]:
``start`` (``file_size``) answers ``upload_session_id``, ``video_id`` and the first window
``start_offset``/``end_offset``; each ``transfer`` sends exactly that window as the multipart file
``video_file_chunk`` and answers the next window, until ``start == end``. After an interruption
the recorded window is sent again: the server either takes it or refuses with subcode 1363037,
carrying the window it wants in ``error_data`` (the SDK's reading) or not (then
``uploading_phase.bytes_transferred`` tells where it stands, and the window keeps its length).

Reel [code FB-REELS-SAMPLE index.js; doc FB-REELS]: ``video_reels`` ``start`` answers
``video_id`` and ``upload_url``; the bytes go to the rupload host (:mod:`.rupload`); resuming
asks ``uploading_phase.bytes_transferred``, and where the host keeps nothing or the session is
dead a fresh session is started (the old video is never finished, so never published).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import facebook_status as fs
from .base import PostContext
from .errors import ConnectionLost, PlatformUnavailable
from .graph import TransferWindow, read_only
from .http import read_chunks
from .rupload import Rupload

if TYPE_CHECKING:
    from .facebook import Facebook

_WINDOW_CORRECTIONS = 5
_CHUNK_RETRIES = 3


def upload_page_video(fb: Facebook, ctx: PostContext) -> None:
    """Send the file in the windows the server dictates; returns once it holds every byte."""
    size = ctx.video.size
    if ctx.remote.get("upload_session_id"):
        session, video_id = str(ctx.remote["upload_session_id"]), str(ctx.remote["video_id"])
        start, end = int(ctx.remote["start_offset"]), int(ctx.remote["end_offset"])
    else:
        body = fb.video_http.json("POST", f"{fb.page_id}/videos", headers=fb.auth(),
                                  data={"upload_phase": "start", "file_size": str(size)})
        session, video_id = str(body["upload_session_id"]), str(body["video_id"])
        start, end = int(body["start_offset"]), int(body["end_offset"])
        ctx.record({"upload_session_id": session, "video_id": video_id,
                    "start_offset": start, "end_offset": end})
    corrections = failures = 0
    with ctx.video.path.open("rb") as fh:
        while start < end:
            data = b"".join(piece for _, piece in read_chunks(fh, start, end, end - start))
            try:
                body = fb.video_http.json(
                    "POST", f"{fb.page_id}/videos", headers=fb.auth(),
                    data={"upload_phase": "transfer", "upload_session_id": session,
                          "start_offset": str(start)},
                    files={"video_file_chunk": ("chunk", data, "application/octet-stream")},
                )
            except TransferWindow as exc:  # the server holds other bytes than we thought
                corrections += 1
                if corrections > _WINDOW_CORRECTIONS:
                    raise
                if exc.start_offset is not None and exc.end_offset is not None:
                    start, end = exc.start_offset, exc.end_offset
                else:
                    start, end = _window_from_status(fb, video_id, size, end - start)
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
                ctx.progress(start, size)


def _window_from_status(fb: Facebook, video_id: str, size: int, length: int) -> tuple[int, int]:
    """The window to send when a refusal did not say which: from the bytes the server holds,
    as long as the last window (the server dictates one length)."""
    node = fb.status(video_id)
    held = fs.bytes_held(node)
    if held is None:
        raise PlatformUnavailable(fb.SPEC.name, "transfer refused and the status does not say "
                                  "how many bytes Facebook holds")
    return held, min(size, held + max(length, 1))


def upload_reel(fb: Facebook, ctx: PostContext) -> None:
    """Start a Reel session (unless one is recorded) and send the bytes to its upload URL."""
    current: dict[str, Any] = {"video_id": ctx.remote.get("video_id"),
                               "url": ctx.remote.get("upload_url")}
    abandoned = list(ctx.remote.get("abandoned_videos") or [])

    def start() -> str:
        body = fb.http.json("POST", f"{fb.page_id}/video_reels", headers=fb.auth(),
                            data={"upload_phase": "start"})
        if current["video_id"]:
            abandoned.append(current["video_id"])
        current.update(video_id=str(body["video_id"]), url=str(body["upload_url"]))
        ctx.record({"video_id": current["video_id"], "upload_url": current["url"], "offset": 0,
                    "rupload_started": False, "abandoned_videos": abandoned})
        return str(current["url"])

    def held() -> int | None:
        node = read_only(fb.SPEC.name, "reel status",
                         lambda: fb.status(str(current["video_id"])))
        if fs.bytes_held(node) is None and fs.phase(node, "uploading_phase").get(
                "status") != "error":
            return 0  # the host reports nothing: it wants the file from the start
        return fs.bytes_held(node)

    resume = bool(current["video_id"] and ctx.remote.get("rupload_started"))
    url = str(current["url"]) if current["video_id"] else start()
    if not ctx.remote.get("rupload_started"):
        ctx.record({"rupload_started": True})
    sender = Rupload(fb.http, fb.credentials.require("access_token"),
                     per_request=fb.chunk_size)

    def fresh() -> str:
        new_url = start()
        ctx.record({"rupload_started": True})
        return new_url

    sender.upload(ctx, url, resume=resume, held=held, fresh=fresh)

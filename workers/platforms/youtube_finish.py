"""The YouTube steps after publishing: German captions, thumbnail, season playlist.

Each step runs at most once per post: its result is recorded in ``ctx.remote``, and a step whose
earlier attempt was never confirmed (``*_pending``: a lost answer, a reset, a 503 that may have
come after YouTube stored the track) first looks on YouTube before repeating. Whether a second
``captions.insert`` with the same language and name is refused (409 ``captionExists``) or adds a
second track is not settled by what we could read (docs/platforms/youtube.md, "Captions"), so
the look comes first either way. Transient answers (5xx, 429, resets) stay transient: the
orchestrator retries the part until its deadline.
"""

from __future__ import annotations

import json
import secrets

from .base import PostContext
from .errors import CredentialsExpired, PlatformUnavailable, ProcessingFailed, RejectedByPlatform
from .youtube_client import PLATFORM, SCOPE_FORCE_SSL, YouTubeClient


def finish_caption(client: YouTubeClient, ctx: PostContext, vid: str) -> None:
    """captions.insert of ``ctx.captions_srt`` (needs youtube.force-ssl), once."""
    if ctx.captions_srt is None or ctx.remote.get("caption_id"):
        return
    o = client.opts
    if ctx.remote.get("caption_pending") and _existing_caption(client, ctx, vid):
        return
    ctx.record({"caption_pending": True})
    meta = {"snippet": {"videoId": vid, "language": o.language, "name": o.caption_name,
                        "isDraft": False}}
    boundary = "wtg" + secrets.token_hex(12)
    body = b"".join([
        f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
        json.dumps(meta).encode(),
        f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n".encode(),
        ctx.captions_srt.read_bytes(), f"\r\n--{boundary}--\r\n".encode()])
    try:
        resp = client.call(
            ctx.quota, "captions.insert", "POST", client.upload_url("captions"),
            params={"part": "snippet", "uploadType": "multipart"}, data=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"})
    except CredentialsExpired as exc:
        if exc.code != "insufficientPermissions":
            raise
        raise CredentialsExpired(PLATFORM, exc.detail, code=exc.code, status=exc.status,
                                 message_de=(
            "Untertitel konnten nicht zu YouTube hochgeladen werden: dem Zugang fehlt die "
            f"Berechtigung „{SCOPE_FORCE_SSL}“ („youtube.upload“ reicht dafür nicht). "
            "Bitte das YouTube-Konto neu verbinden und diesen Zugriff erlauben; das Video "
            "selbst ist veröffentlicht.")) from exc
    except RejectedByPlatform as exc:
        if exc.code != "captionExists":
            raise
        if _existing_caption(client, ctx, vid):
            return
        raise PlatformUnavailable(PLATFORM, "captionExists but not listed yet",
                                  code="captionExists", status=exc.status, message_de=(
            "YouTube meldet die Untertitelspur als vorhanden, listet sie aber noch nicht. wtg "
            "prüft gleich erneut.")) from exc
    body = resp.json()
    ctx.record({"caption_id": body["id"], "caption_pending": False})
    if (body.get("snippet") or {}).get("status") == "failed":
        raise ProcessingFailed(PLATFORM, "caption track failed", code="captionFailed",
                               message_de=(
            "YouTube hat die Untertiteldatei angenommen, aber nicht verarbeiten können. Bitte "
            "die SRT-Datei prüfen; das Video selbst ist veröffentlicht."))


def _existing_caption(client: YouTubeClient, ctx: PostContext, vid: str) -> bool:
    """Record and report a caption track an earlier, unconfirmed attempt left."""
    items = client.call(ctx.quota, "captions.list", "GET", client.api("captions"),
                             params={"part": "snippet", "videoId": vid}).json()["items"]
    for item in items:
        snip = item.get("snippet") or {}
        if (snip.get("language"), snip.get("name")) == (client.opts.language,
                                                         client.opts.caption_name):
            ctx.record({"caption_id": item["id"], "caption_pending": False})
            return True
    return False


def finish_thumbnail(client: YouTubeClient, ctx: PostContext, vid: str) -> None:
    """thumbnails.set with ``ctx.thumbnail`` (JPEG/PNG, size checked first), once."""
    if ctx.thumbnail is None or ctx.remote.get("thumbnail_set"):
        return
    data = ctx.thumbnail.read_bytes()
    mime = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else (
        "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "")
    limit = client.opts.thumbnail_max_bytes
    if not mime or len(data) > limit:
        raise RejectedByPlatform(PLATFORM, f"thumbnail {len(data)} bytes {mime or '?'}",
                                 code="thumbnail", message_de=(
            f"Das Vorschaubild {ctx.thumbnail.name} muss ein JPEG oder PNG bis "
            f"{limit // (1024 * 1024)} MB sein (es hat {len(data) / 1048576:.1f} MB)."))
    client.call(ctx.quota, "thumbnails.set", "POST",
                     client.upload_url("thumbnails/set"), params={"videoId": vid},
                     data=data, headers={"Content-Type": mime})
    ctx.record({"thumbnail_set": True})


def finish_playlist(client: YouTubeClient, ctx: PostContext, vid: str) -> None:
    """playlistItems.insert into ``ctx.playlist_id``, once (an unconfirmed try is looked up)."""
    pid = ctx.playlist_id
    if not pid or ctx.remote.get("playlist_item_id"):
        return
    if ctx.remote.get("playlist_pending"):
        items = client.call(ctx.quota, "playlistItems.list", "GET",
                                 client.api("playlistItems"),
                                 params={"part": "snippet", "playlistId": pid,
                                         "videoId": vid}).json().get("items") or []
        if items:
            ctx.record({"playlist_item_id": items[0]["id"], "playlist_pending": False})
            return
    ctx.record({"playlist_pending": True})
    item = client.call(ctx.quota, "playlistItems.insert", "POST",
                            client.api("playlistItems"), params={"part": "snippet"},
                            json={"snippet": {"playlistId": pid, "resourceId": {
                                "kind": "youtube#video", "videoId": vid}}}).json()
    ctx.record({"playlist_item_id": item["id"], "playlist_pending": False})

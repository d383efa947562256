"""The YouTube sandbox's rules as pure functions: scopes, costs, metadata checks, error shapes.

Kept apart from the server in :mod:`sandbox.youtube` so that module stays about routes and state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .base import BodyStream, Request, Response

CHUNK = 256 * 1024
_AUTH = "https://www.googleapis.com/auth/"
UPLOAD, YOUTUBE = _AUTH + "youtube.upload", _AUTH + "youtube"
FORCE_SSL = _AUTH + "youtube.force-ssl"
PARTNER, READONLY = _AUTH + "youtubepartner", _AUTH + "youtube.readonly"
#: scopes each method accepts (from the methods' "Authorization" sections)
SCOPES = {
    "videos.insert": {UPLOAD, YOUTUBE, FORCE_SSL, PARTNER},
    "videos.list": {YOUTUBE, FORCE_SSL, PARTNER, READONLY},
    "videos.update": {YOUTUBE, FORCE_SSL, PARTNER},
    "videos.delete": {YOUTUBE, FORCE_SSL, PARTNER},
    "captions.insert": {FORCE_SSL, PARTNER},
    "captions.list": {FORCE_SSL, PARTNER},
    "thumbnails.set": {UPLOAD, YOUTUBE, FORCE_SSL, PARTNER},
    "playlistItems.insert": {YOUTUBE, FORCE_SSL, PARTNER},
    "playlistItems.list": {YOUTUBE, FORCE_SSL, PARTNER, READONLY},
    "channels.list": {YOUTUBE, FORCE_SSL, PARTNER, READONLY},
}
#: units per call (determine_quota_cost, 2026-06); videos.insert is its own bucket of calls
COSTS = {"videos.list": 1, "videos.update": 50, "videos.delete": 50, "captions.insert": 400,
         "captions.list": 50, "thumbnails.set": 50, "playlistItems.insert": 50,
         "playlistItems.list": 1, "channels.list": 1}
CATEGORIES = {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28",
              "29"}
PACIFIC = ZoneInfo("America/Los_Angeles")


def google_error(status: int, reason: str, message: str, domain: str = "youtube") -> Response:
    """An error answer in Google's JSON shape."""
    return Response(status, {"error": {"code": status, "message": message, "errors": [
        {"message": message, "domain": domain, "reason": reason}]}})


def tags_length(tags: list[str]) -> int:
    """Tag length as YouTube counts it: commas between tags, quotes around tags with spaces."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def unauthorized(shape: str = "google_errors") -> Response:
    """401 for a missing or expired token: Google's classic body with ``errors[].reason``, or
    (reading ``status_only``) only ``code``/``message``/``status`` as newer Google APIs send."""
    message = "Request had invalid authentication credentials. Expected OAuth 2 access token."
    if shape == "status_only":
        resp = Response(401, {"error": {"code": 401, "message": message,
                                        "status": "UNAUTHENTICATED"}})
    else:
        resp = google_error(401, "authError", message, "global")
    resp.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return resp


def quota_exceeded() -> Response:
    return google_error(403, "quotaExceeded", "The request cannot be completed because you have "
                        "exceeded your quota.", "youtube.quota")


def parse_time(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def check_publish_at(status: dict[str, Any], past: str = "publish_now",
                     steps: str = "any") -> tuple[Response | None, bool]:
    """(error, publish at once) for a ``status`` carrying ``publishAt``.

    ``publishAt`` needs ``privacyStatus=private``. A time in the past publishes the video right
    away (videos resource, quoted in claudiob/yt#253) or, under the other reading, is refused
    ``invalidPublishAt``; under ``steps=half_hour`` only :00 and :30 are taken (a third-party
    claim, unverified)."""
    invalid = google_error(400, "invalidPublishAt", "The request metadata specifies an invalid "
                           "scheduled publishing time.")
    try:
        at = parse_time(str(status["publishAt"]))
    except ValueError:
        return invalid, False
    if status.get("privacyStatus") != "private":
        return invalid, False
    if steps == "half_hour" and (at.minute % 30 or at.second or at.microsecond):
        return invalid, False
    if at <= datetime.now(UTC):
        return (invalid, False) if past == "invalid" else (None, True)
    return None, False


def check_metadata(snippet: dict[str, Any], status: dict[str, Any]) -> Response | None:
    title, desc = snippet.get("title") or "", snippet.get("description") or ""
    if not title.strip() or len(title) > 100 or "<" in title or ">" in title:
        return google_error(400, "invalidTitle", "The request metadata specifies an invalid "
                            "or empty video title.")
    if len(desc.encode()) > 5000 or "<" in desc or ">" in desc:
        return google_error(400, "invalidDescription", "The request metadata specifies an "
                            "invalid video description.")
    if tags_length(list(snippet.get("tags") or [])) > 500:
        return google_error(400, "invalidTags", "The request metadata specifies invalid tags.")
    if str(snippet.get("categoryId", "")) not in CATEGORIES:
        return google_error(400, "invalidCategoryId", "The category is invalid.")
    if status.get("privacyStatus") not in {"public", "private", "unlisted"}:
        return google_error(400, "invalidVideoMetadata", "status.privacyStatus is invalid")
    if not isinstance(status.get("selfDeclaredMadeForKids"), bool):
        return google_error(400, "invalidVideoMetadata", "set status.selfDeclaredMadeForKids")
    return check_publish_at(status)[0] if status.get("publishAt") else None


def receive(stream: BodyStream, sha: Any, accept: int) -> int:
    """Hash up to ``accept`` bytes of the body in 256 KiB units; a body cut short keeps only
    whole units (like a server that persists in blocks). Returns the bytes taken."""
    pending, taken = bytearray(), 0
    while True:
        data = stream.read(1 << 16)
        if not data:
            break
        if taken < accept:
            pending += data
        while len(pending) >= CHUNK and taken + CHUNK <= accept:
            sha.update(pending[:CHUNK])
            del pending[:CHUNK]
            taken += CHUNK
    if not stream.truncated and pending and taken + len(pending) <= accept:
        sha.update(pending)
        taken += len(pending)
    return taken


def multipart_related(req: Request) -> tuple[dict[str, Any], bytes]:
    """(JSON metadata, media bytes) of a ``multipart/related`` upload (captions.insert)."""
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("multipart/related") or "boundary=" not in ctype:
        raise ValueError("captions.insert needs a multipart/related body")
    boundary = ctype.split("boundary=", 1)[1].split(";")[0].strip().strip('"').encode()
    parts = [p for p in req.body.split(b"--" + boundary) if p.strip() not in (b"", b"--")]
    if len(parts) != 2:
        raise ValueError(f"expected 2 parts (metadata, file), got {len(parts)}")
    bodies = []
    for part in parts:
        head, sep, content = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a multipart part has no header block")
        bodies.append((head.lower(), content.removesuffix(b"\r\n")))
    if b"application/json" not in bodies[0][0]:
        raise ValueError("the first part must be the JSON metadata")
    return json.loads(bodies[0][1]), bodies[1][1]

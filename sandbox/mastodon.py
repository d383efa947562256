"""A local Mastodon server: media upload and processing, statuses with Idempotency-Key.

Enforces what the adapter depends on (mastodon/documentation and ``post_status_service.rb``):
202 + ``url: null`` for a new video; 206 from ``GET /api/v1/media/:id`` for ``processing_polls``
looks, then 200 with ``url``; 422 "Cannot attach files that have not finished processing" when a
status names unprocessed media; the same ``Idempotency-Key`` within ``idempotency_ttl`` returns
the same status; ``scheduled_at`` at most 5 minutes ahead -> 422, in the past -> posted at once;
status text over ``max_characters`` (URLs count 23) -> 422; a revoked token -> 401; a per-token
rate limit answering 429 with ``X-RateLimit-Reset`` (ISO 8601) and no Retry-After.

Uploaded bytes are kept as size and sha256 only.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from episodes.captions import LengthUnit, measure
from workers.platforms.base import Account

from .base import Request, Response, Sandbox, route

_INVALID = {"error": "The access token is invalid"}
_NOT_READY = {"error": "Cannot attach files that have not finished processing. "
                       "Try again in a moment!"}


class MastodonSandbox(Sandbox):
    platform = "mastodon"

    def __init__(
        self, *, port: int = 0, processing_polls: int = 2, max_characters: int = 500,
        video_size_limit: int = 99 * 1024 * 1024, idempotency_ttl: float = 3600.0,
        rate_limit: int = 300, rate_window: float = 300.0,
    ) -> None:
        super().__init__(port=port)
        self.processing_polls = processing_polls
        self.max_characters = max_characters
        self.video_size_limit = video_size_limit
        self.idempotency_ttl = idempotency_ttl
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.clock_offset = timedelta(0)
        self.tokens = {"mastodon-token-1": "1"}  # access token -> account id
        self.media: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, str, datetime]] = {}
        self.fail_processing: list[str] = []  # reasons for the next uploads' processing
        self.hold_media: threading.Event | None = None
        self.media_posts_seen = 0
        self._windows: dict[str, tuple[datetime, int]] = {}
        self._ids = itertools.count(110_000_000_000_000_001)

    # --- test helpers ---------------------------------------------------------------------
    def account(self, name: str = "mastodon-test") -> tuple[Account, dict[str, str]]:
        acc = Account(name=name, platform="mastodon", display_name="Landkreis (Sandbox)",
                      api_base=self.url, options={"visibility": "public", "poll_interval": 1.0})
        return acc, {"access_token": "mastodon-token-1"}

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += timedelta(seconds=seconds)

    def revoke(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def snapshot(self) -> dict[str, Any]:
        published = [
            _public(s) for s in self.statuses.values() if s["visibility"] in ("public", "unlisted")
        ] + [_public(s) for s in self.scheduled.values()]
        return {
            "platform": self.platform,
            "published": published,
            "statuses": len(self.statuses),
            "scheduled": len(self.scheduled),
            "media": {k: {"processed": v["url"] is not None, "sha256": v["sha256"]}
                      for k, v in self.media.items()},
        }

    # --- plumbing -------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        with self.lock:
            owner = self.tokens.get(req.bearer() or "")
        if owner is None:
            return Response(401, dict(_INVALID))
        limited, headers = self._count(req.bearer() or "")
        if limited:
            return Response(429, {"error": "Too many requests"}, headers)
        resp = super().dispatch(req)
        resp.headers.update(headers)
        return resp

    def _count(self, token: str) -> tuple[bool, dict[str, str]]:
        with self.lock:
            now = self.now()
            start, used = self._windows.get(token, (now, 0))
            if now - start >= timedelta(seconds=self.rate_window):
                start, used = now, 0
            used += 1
            self._windows[token] = (start, used)
            reset = start + timedelta(seconds=self.rate_window)
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }
        return used > self.rate_limit, headers

    def _owner(self, req: Request) -> str:
        return self.tokens[req.bearer() or ""]

    def _new_id(self) -> str:
        return str(next(self._ids))

    # --- routes ---------------------------------------------------------------------------
    @route("GET", "/api/v1/accounts/verify_credentials")
    def verify_credentials(self, req: Request) -> Response:
        owner = self._owner(req)
        return Response(200, {"id": owner, "username": "landkreis", "acct": "landkreis",
                              "url": f"{self.url}/@landkreis"})

    @route("GET", "/api/v2/instance")
    def instance(self, req: Request) -> Response:
        return Response(200, {"domain": "sandbox.local", "configuration": {
            "statuses": {"max_characters": self.max_characters, "max_media_attachments": 4,
                         "characters_reserved_per_url": 23},
            "media_attachments": {"video_size_limit": self.video_size_limit,
                                  "description_limit": 1500,
                                  "supported_mime_types": ["video/mp4", "video/quicktime"]},
        }})

    @route("POST", "/api/v2/media")
    def post_media(self, req: Request) -> Response:
        with self.lock:
            self.media_posts_seen += 1
            hold = self.hold_media
        if hold is not None:
            hold.wait(30)
        parts = _multipart(req)
        if parts is None or "file" not in parts:
            return Response(422, {"error": "Validation failed: File can't be blank"})
        ctype, data = parts["file"]
        if not ctype.startswith("video/"):
            return Response(422, {"error": "Validation failed: File content type is invalid, "
                                           "File is invalid"})
        if len(data) > self.video_size_limit:
            return Response(422, {"error": "Validation failed: File file size must be less "
                                           f"than {self.video_size_limit} Bytes"})
        description = parts.get("description", ("", b""))[1].decode("utf-8")
        if len(description) > 1500:
            return Response(422, {"error": "Validation failed: Description is too long"})
        with self.lock:
            mid = self._new_id()
            self.media[mid] = {
                "id": mid, "type": "video", "url": None, "description": description,
                "preview_url": f"{self.url}/media/{mid}/small.png", "owner": self._owner(req),
                "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                "polls_left": self.processing_polls,
                "error": self.fail_processing.pop(0) if self.fail_processing else None,
            }
            return Response(202, _media_json(self.media[mid]))

    @route("GET", "/api/v1/media/{id}")
    def get_media(self, req: Request) -> Response:
        with self.lock:
            m = self.media.get(req.params["id"])
            if m is None or m["owner"] != self._owner(req):
                return Response(404, {"error": "Record not found"})
            if m["polls_left"] > 0:
                m["polls_left"] -= 1
                return Response(206, _media_json(m))
            if m["error"]:
                return Response(422, {"error": m["error"]})
            if m["url"] is None:
                m["url"] = f"{self.url}/media/{m['id']}/original.mp4"
            return Response(200, _media_json(m))

    @route("POST", "/api/v1/statuses")
    def post_status(self, req: Request) -> Response:
        form = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True)
        values = {k: v for k, v in form}
        media_ids = [v for k, v in form if k == "media_ids[]"]
        owner = self._owner(req)
        key = req.headers.get("idempotency-key")
        with self.lock:
            now = self.now()
            if key and (owner, key) in self.idempotency:
                kind, sid, at = self.idempotency[(owner, key)]
                if (now - at).total_seconds() < self.idempotency_ttl:
                    store = self.statuses if kind == "status" else self.scheduled
                    return Response(200, _status_json(store[sid]))
            error = self._validate(owner, values, media_ids)
            if error:
                return Response(422, {"error": error})
            text = values.get("status", "")
            attachments = [_media_json(self.media[i]) for i in media_ids]
            media = self.media[media_ids[0]] if media_ids else None
            common = {
                "text": text, "visibility": values.get("visibility", "public"),
                "language": values.get("language"), "media_attachments": attachments,
                "sha256": media["sha256"] if media else None,
                "size": media["size"] if media else 0, "idempotency_key": key,
            }
            sid = self._new_id()
            when = values.get("scheduled_at")
            at = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
            if at is not None and at > now:
                self.scheduled[sid] = {"id": sid, "scheduled_at": at.isoformat(), **common}
                kind = "scheduled"
            else:
                self.statuses[sid] = {"id": sid, "url": f"{self.url}/@landkreis/{sid}",
                                      "created_at": now.isoformat(), "owner": owner, **common}
                kind = "status"
            if key:
                self.idempotency[(owner, key)] = (kind, sid, now)
            store = self.statuses if kind == "status" else self.scheduled
            return Response(200, _status_json(store[sid]))

    def _validate(self, owner: str, values: dict[str, str], media_ids: list[str]) -> str | None:
        text = values.get("status", "")
        if not text and not media_ids:
            return "Validation failed: Text can't be blank"
        if measure(text, LengthUnit.MASTODON) > self.max_characters:
            return f"Validation failed: Text character limit of {self.max_characters} exceeded"
        if values.get("visibility", "public") not in ("public", "unlisted", "private", "direct"):
            return "Validation failed: Visibility is not included in the list"
        if len(media_ids) > 4:
            return "Validation failed: Cannot attach more than 4 files"
        for mid in media_ids:
            m = self.media.get(mid)
            if m is None or m["owner"] != owner:
                return "Validation failed: Media attachments is invalid"
            if m["url"] is None:
                return _NOT_READY["error"]
        if len(media_ids) > 1:
            return "Validation failed: Cannot attach a video to a post that already contains images"
        when = values.get("scheduled_at")
        if when:
            try:
                at = datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                return "Validation failed: Scheduled at is invalid"
            if self.now() < at <= self.now() + timedelta(minutes=5):
                return "Validation failed: Scheduled at The scheduled date must be in the future"
        return None

    @route("GET", "/api/v1/statuses/{id}")
    def get_status(self, req: Request) -> Response:
        with self.lock:
            s = self.statuses.get(req.params["id"])
            return Response(200, _status_json(s)) if s else Response(
                404, {"error": "Record not found"})

    @route("GET", "/api/v1/scheduled_statuses/{id}")
    def get_scheduled(self, req: Request) -> Response:
        with self.lock:
            s = self.scheduled.get(req.params["id"])
            return Response(200, _status_json(s)) if s else Response(
                404, {"error": "Record not found"})

    @route("GET", "/api/v1/scheduled_statuses")
    def list_scheduled(self, req: Request) -> Response:
        with self.lock:
            return Response(200, [_status_json(s) for s in self.scheduled.values()])

    @route("GET", "/api/v1/accounts/{id}/statuses")
    def account_statuses(self, req: Request) -> Response:
        limit = min(int(req.query.get("limit", "20")), 40)
        max_id = int(req.query.get("max_id", str(2**63)))
        with self.lock:
            mine = [s for s in self.statuses.values()
                    if s["owner"] == req.params["id"] and int(s["id"]) < max_id]
            mine.sort(key=lambda s: int(s["id"]), reverse=True)
            return Response(200, [_status_json(s) for s in mine[:limit]])


def _media_json(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in ("id", "type", "url", "preview_url", "description")}


def _status_json(s: dict[str, Any]) -> dict[str, Any]:
    if "scheduled_at" in s:
        return {"id": s["id"], "scheduled_at": s["scheduled_at"],
                "params": {"text": s["text"], "visibility": s["visibility"],
                           "language": s["language"]},
                "media_attachments": s["media_attachments"]}
    return {"id": s["id"], "url": s["url"], "uri": s["url"], "created_at": s["created_at"],
            "content": f"<p>{s['text']}</p>", "visibility": s["visibility"],
            "language": s["language"], "media_attachments": s["media_attachments"]}


def _public(s: dict[str, Any]) -> dict[str, Any]:
    return {"id": s["id"], "url": s.get("url", ""), "sha256": s["sha256"], "size": s["size"],
            "text": s["text"], "visibility": s["visibility"], "language": s["language"],
            "scheduled_at": s.get("scheduled_at")}


def _multipart(req: Request) -> dict[str, tuple[str, bytes]] | None:
    """name -> (content type, bytes) of a multipart/form-data body."""
    m = re.search(r"boundary=\"?([^\";]+)\"?", req.headers.get("content-type", ""))
    if not m:
        return None
    delimiter = b"--" + m.group(1).encode()
    out: dict[str, tuple[str, bytes]] = {}
    for part in req.body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        text = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', text)
        ctype = re.search(r"content-type:\s*([^\r\n]+)", text, re.I)
        if name:
            out[name.group(1)] = (ctype.group(1).strip() if ctype else "text/plain", data)
    return out

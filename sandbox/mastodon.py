"""A local Mastodon server: media upload and processing, statuses, scheduled statuses.

Written from mastodon/documentation (``methods/media.md``, ``statuses.md``,
``scheduled_statuses.md``, ``accounts.md``, ``api/rate-limits.md``) and the server source
(``post_status_service.rb``, ``scheduled_status.rb``, ``publish_scheduled_status_worker.rb``,
``status_length_validator.rb``, ``api/v1/media_controller.rb``); see docs/platforms/mastodon.md.

* ``POST /api/v2/media`` -> 202 with ``url: null``; ``GET /api/v1/media/:id`` -> 206 while
  processing (or, under one reading, 200 with ``url: null``), then 200 with ``url``; 422 when
  processing failed; 404 once the media belongs to a status;
* ``POST /api/v1/statuses``: unprocessed media -> 422; text over ``max_characters`` as the server
  measures it (:mod:`sandbox.mastodon_text`) -> 422; ``Idempotency-Key`` kept for an hour;
  ``scheduled_at`` in the past -> posted at once; not more than ``min_schedule_lead`` ahead ->
  422 ``too_soon`` (or, on older servers, posted at once); 25 scheduled per day, 300 in all;
* a scheduled status is published at its time (plus ``publish_lag``): it is destroyed and a new
  status with a NEW id is created (``publish_gap`` later); afterwards
  ``GET /api/v1/scheduled_statuses/:id`` answers 404;
* per-token rate limit: 429 with ``X-RateLimit-Reset`` (ISO 8601, server clock), no Retry-After;
  every answer carries a ``Date`` header from the server's clock (``clock_offset``).

Uploaded bytes are kept as size and sha256 only.
"""

from __future__ import annotations

import email.utils
import hashlib
import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from .base import Request, Response, Sandbox, SandboxAccount, route
from .mastodon_entities import (
    media_json,
    multipart,
    page,
    parse_time,
    public_entry,
    scheduled_json,
    status_json,
)
from .mastodon_text import status_length
from .oauth_platforms import MastodonOAuth

_INVALID = {"error": "The access token is invalid"}
_NOT_FOUND = {"error": "Record not found"}
_NOT_READY = ("Cannot attach files that have not finished processing. Try again in a moment!")
_TOO_SOON = "Validation failed: Scheduled at The scheduled date must be in the future"
TOTAL_SCHEDULED, DAILY_SCHEDULED = 300, 25


class MastodonSandbox(MastodonOAuth, Sandbox):
    platform = "mastodon"
    READINGS: ClassVar[dict[str, tuple[str, ...]]] = {
        # scheduled_at closer than the minimum: 422 too_soon (scheduled_status.rb, current) or
        # silently posted at once (post_status_service.rb of older releases: "in the past")
        "schedule_too_soon": ("reject_422", "post_now"),
        # GET /api/v1/scheduled_statuses/:id after the status was published: destroyed first by
        # PublishScheduledStatusWorker (404), or still answered by a lagging cache/fork
        "scheduled_after_publish": ("gone", "kept"),
        # the same Idempotency-Key again for a scheduled post: upstream looks the id up among
        # statuses before it knows the post is scheduled (404), or returns the scheduled status
        "idempotent_scheduled": ("record_not_found", "returns_scheduled"),
        # GET /api/v1/accounts/:id/statuses: answered, or 404 (hidden/limited account, proxies)
        "account_statuses": ("ok", "not_found"),
        # GET /api/v1/media/:id while processing: 206 (media_controller.rb), or 200, url null
        "media_processing": ("206", "200_url_null"),
        # the server's clock: in sync with ours, or ``skew`` seconds ahead
        "server_clock": ("synced", "ahead"),
    }

    def __init__(
        self, *, port: int = 0, processing_polls: int = 2, max_characters: int = 500,
        video_size_limit: int = 99 * 1024 * 1024, idempotency_ttl: float = 3600.0,
        rate_limit: int = 300, rate_window: float = 300.0, min_schedule_lead: float = 300.0,
        publish_lag: float = 0.0, publish_gap: float = 0.0, skew: float = 180.0,
    ) -> None:
        super().__init__(port=port)
        self.processing_polls = processing_polls
        self.max_characters = max_characters
        self.video_size_limit = video_size_limit
        self.idempotency_ttl = idempotency_ttl
        self.rate_limit, self.rate_window = rate_limit, rate_window
        self.min_schedule_lead = min_schedule_lead
        self.publish_lag, self.publish_gap, self.skew = publish_lag, publish_gap, skew
        self.clock_offset = timedelta(0)
        self.tokens = {"mastodon-token-1": "1"}  # access token -> account id
        self.media: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.published_scheduled: dict[str, dict[str, Any]] = {}  # destroyed scheduled statuses
        self._creating: list[tuple[datetime, dict[str, Any]]] = []  # published, not yet visible
        self.idempotency: dict[tuple[str, str], tuple[str, str, datetime]] = {}
        self.fail_processing: list[str] = []  # reasons for the next uploads' processing
        self.hold_media: threading.Event | None = None
        self.media_posts_seen = 0
        self.deleted: list[str] = []  # status / scheduled status ids deleted through the API
        self._windows: dict[str, tuple[datetime, int]] = {}
        self._ids = itertools.count(110_000_000_000_000_001)

    # --- test helpers ---------------------------------------------------------------------
    def account(self, name: str = "mastodon-test") -> tuple[SandboxAccount, dict[str, str]]:
        options: dict[str, Any] = {"visibility": "public", "poll_interval": 1.0}
        if self.min_schedule_lead < 300.0:  # a test server: tell the client its minimum
            options["min_schedule_lead"] = self.min_schedule_lead * 1.5 + 0.5
        acc = SandboxAccount(name=name, platform="mastodon", display_name="Landkreis (Sandbox)",
                             api_base=self.url, options=options)
        return acc, {"access_token": "mastodon-token-1"}

    def now(self) -> datetime:
        ahead = self.skew if self.reading("server_clock") == "ahead" else 0.0
        return datetime.now(UTC) + self.clock_offset + timedelta(seconds=ahead)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += timedelta(seconds=seconds)

    def revoke(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def snapshot(self) -> dict[str, Any]:
        self._publish_due()
        published = [
            public_entry(s, public=True) for s in self.statuses.values()
            if s["visibility"] in ("public", "unlisted")
        ] + [public_entry(s, public=False) for s in self.scheduled.values()]
        return {
            "platform": self.platform,
            "published": published,
            "statuses": len(self.statuses),
            "scheduled": len(self.scheduled), "deleted": list(self.deleted),
            "media": {k: {"processed": v["url"] is not None, "sha256": v["sha256"]}
                      for k, v in self.media.items()},
        }

    # --- plumbing -------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        date = {"Date": email.utils.format_datetime(self.now(), usegmt=True)}
        with self.lock:
            owner = self.tokens.get(req.bearer() or "")
        if owner is None:
            return Response(401, dict(_INVALID), date)
        limited, headers = self._count(req.bearer() or "")
        if limited:
            return Response(429, {"error": "Too many requests"}, headers | date)
        self._publish_due()
        resp = super().dispatch(req)
        resp.headers.update(headers | date)
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

    def _publish_due(self) -> None:
        """PublishScheduledStatusWorker: destroy the due scheduled status, then create the status
        (a new id) through PostStatusService."""
        with self.lock:
            now = self.now()
            lag = timedelta(seconds=self.publish_lag)
            for sid, s in list(self.scheduled.items()):
                if s["at"] + lag <= now:
                    del self.scheduled[sid]
                    self.published_scheduled[sid] = s
                    self._creating.append((now + timedelta(seconds=self.publish_gap), s))
            waiting = []
            for when, s in self._creating:
                if when <= now:
                    self._create_status(s["owner"], s["common"], now)
                else:
                    waiting.append((when, s))
            self._creating = waiting

    def _create_status(self, owner: str, common: dict[str, Any], now: datetime) -> dict[str, Any]:
        sid = self._new_id()
        for m in common["media_ids"]:
            self.media[m]["status_id"] = sid
        self.statuses[sid] = {"id": sid, "url": f"{self.url}/@landkreis/{sid}",
                              "created_at": now.isoformat(), "owner": owner, **common}
        return self.statuses[sid]

    def _owner(self, req: Request) -> str:
        return self.tokens[req.bearer() or ""]

    def _new_id(self) -> str:
        return str(next(self._ids))

    # --- accounts and instance ------------------------------------------------------------
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

    # --- media ----------------------------------------------------------------------------
    @route("POST", "/api/v2/media")
    def post_media(self, req: Request) -> Response:
        with self.lock:
            self.media_posts_seen += 1
            hold = self.hold_media
        if hold is not None:
            hold.wait(30)
        parts = multipart(req)
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
                "polls_left": self.processing_polls, "status_id": None,
                "error": self.fail_processing.pop(0) if self.fail_processing else None,
            }
            return Response(202, media_json(self.media[mid]))

    @route("GET", "/api/v1/media/{id}")
    def get_media(self, req: Request) -> Response:
        with self.lock:
            m = self.media.get(req.params["id"])
            if m is None or m["owner"] != self._owner(req) or m["status_id"]:
                return Response(404, dict(_NOT_FOUND))
            if m["polls_left"] > 0:
                m["polls_left"] -= 1
                code = 206 if self.reading("media_processing") == "206" else 200
                return Response(code, media_json(m))
            if m["error"]:
                return Response(422, {"error": m["error"]})
            if m["url"] is None:
                m["url"] = f"{self.url}/media/{m['id']}/original.mp4"
            return Response(200, media_json(m))

    # --- statuses -------------------------------------------------------------------------
    @route("POST", "/api/v1/statuses")
    def post_status(self, req: Request) -> Response:
        form = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True)
        values = dict(form)
        media_ids = [v for k, v in form if k == "media_ids[]"]
        owner = self._owner(req)
        key = req.headers.get("idempotency-key")
        with self.lock:
            now = self.now()
            if key and (owner, key) in self.idempotency:
                kind, sid, at = self.idempotency[(owner, key)]
                if (now - at).total_seconds() < self.idempotency_ttl:
                    return self._duplicate(kind, sid)
            error = self._validate(owner, values, media_ids)
            if error:
                return Response(422, {"error": error})
            try:
                at = parse_time(values["scheduled_at"]) if values.get("scheduled_at") else None
            except ValueError:
                return Response(422, {"error": "Validation failed: Scheduled at is invalid"})
            soon = now + timedelta(seconds=self.min_schedule_lead)
            if at is not None and (at <= now or (
                    self.reading("schedule_too_soon") == "post_now" and at <= soon)):
                at = None  # "scheduled in the past": posted at once
            common = {
                "text": values.get("status", ""), "visibility": values.get("visibility", "public"),
                "language": values.get("language"), "media_ids": media_ids,
                "media_attachments": [media_json(self.media[i]) for i in media_ids],
                "sha256": self.media[media_ids[0]]["sha256"] if media_ids else None,
                "size": self.media[media_ids[0]]["size"] if media_ids else 0,
                "idempotency_key": key,
            }
            if at is None:
                status, kind = self._create_status(owner, common, now), "status"
                body = status_json(status)
            else:
                refused = self._schedule_problem(owner, at, now)
                if refused:
                    return Response(422, {"error": refused})
                sid, kind = self._new_id(), "scheduled"
                self.scheduled[sid] = status = {"id": sid, "at": at, "owner": owner,
                                                "common": common}
                body = scheduled_json(status)
            if key:
                self.idempotency[(owner, key)] = (kind, status["id"], now)
            return Response(200, body)

    def _duplicate(self, kind: str, sid: str) -> Response:
        if kind == "scheduled":
            s = self.scheduled.get(sid)
            if self.reading("idempotent_scheduled") == "record_not_found" or s is None:
                return Response(404, dict(_NOT_FOUND))  # looked up among statuses
            return Response(200, scheduled_json(s))
        status = self.statuses.get(sid)
        return Response(200, status_json(status)) if status else Response(404, dict(_NOT_FOUND))

    def _schedule_problem(self, owner: str, at: datetime, now: datetime) -> str | None:
        if at <= now + timedelta(seconds=self.min_schedule_lead):
            return _TOO_SOON
        mine = [s for s in self.scheduled.values() if s["owner"] == owner]
        if len(mine) >= TOTAL_SCHEDULED:
            return (f"Validation failed: You have exceeded the limit of {TOTAL_SCHEDULED} "
                    "scheduled posts")
        if sum(1 for s in mine if s["at"].date() == at.date()) >= DAILY_SCHEDULED:
            return (f"Validation failed: You have exceeded the limit of {DAILY_SCHEDULED} "
                    "scheduled posts for today")
        return None

    def _validate(self, owner: str, values: dict[str, str], media_ids: list[str]) -> str | None:
        text = values.get("status", "")
        if not text and not media_ids:
            return "Validation failed: Text can't be blank"
        if status_length(text, values.get("spoiler_text", "")) > self.max_characters:
            return f"Validation failed: Text character limit of {self.max_characters} exceeded"
        if values.get("visibility", "public") not in ("public", "unlisted", "private", "direct"):
            return "Validation failed: Visibility is not included in the list"
        if len(media_ids) > 4:
            return "Validation failed: Cannot attach more than 4 files"
        for mid in media_ids:
            m = self.media.get(mid)
            if m is None or m["owner"] != owner or m["status_id"]:
                return f"Validation failed: Media attachments {mid} could not be found"
            if m["url"] is None:
                return _NOT_READY
        if len(media_ids) > 1:
            return "Validation failed: Cannot attach a video to a post that already contains images"
        return None

    @route("GET", "/api/v1/statuses/{id}")
    def get_status(self, req: Request) -> Response:
        with self.lock:
            s = self.statuses.get(req.params["id"])
            return Response(200, status_json(s)) if s else Response(404, dict(_NOT_FOUND))

    @route("DELETE", "/api/v1/statuses/{id}")
    def delete_status(self, req: Request) -> Response:
        """Delete one of your own statuses: 200 with the Status (source ``text``); 404 for an
        unknown (or already deleted) id or another account's status (statuses.md#delete)."""
        with self.lock:
            s = self.statuses.get(req.params["id"])
            if s is None or s["owner"] != self._owner(req):
                return Response(404, dict(_NOT_FOUND))
            del self.statuses[req.params["id"]]
            self.deleted.append(req.params["id"])
            return Response(200, {**status_json(s), "text": s["text"]})

    @route("DELETE", "/api/v1/scheduled_statuses/{id}")
    def cancel_scheduled(self, req: Request) -> Response:
        """Cancel a scheduled status: 200 ``{}``; 404 once published or unknown."""
        with self.lock:
            s = self.scheduled.get(req.params["id"])
            if s is None or s["owner"] != self._owner(req):
                return Response(404, dict(_NOT_FOUND))
            del self.scheduled[req.params["id"]]
            self.deleted.append(req.params["id"])
            return Response(200, {})

    @route("GET", "/api/v1/scheduled_statuses/{id}")
    def get_scheduled(self, req: Request) -> Response:
        with self.lock:
            s = self.scheduled.get(req.params["id"])
            if s is None and self.reading("scheduled_after_publish") == "kept":
                s = self.published_scheduled.get(req.params["id"])
            if s is None or s["owner"] != self._owner(req):
                return Response(404, dict(_NOT_FOUND))
            return Response(200, scheduled_json(s))

    @route("GET", "/api/v1/scheduled_statuses")
    def list_scheduled(self, req: Request) -> Response:
        with self.lock:
            mine = [s for s in self.scheduled.values() if s["owner"] == self._owner(req)]
            if self.reading("scheduled_after_publish") == "kept":
                mine += [s for s in self.published_scheduled.values()
                         if s["owner"] == self._owner(req)]
            return Response(200, page(mine, req.query, scheduled_json))

    @route("GET", "/api/v1/accounts/{id}/statuses")
    def account_statuses(self, req: Request) -> Response:
        if self.reading("account_statuses") == "not_found" or req.params["id"] not in set(
                self.tokens.values()):
            return Response(404, dict(_NOT_FOUND))
        with self.lock:
            mine = [s for s in self.statuses.values() if s["owner"] == req.params["id"]]
            if req.query.get("only_media") in ("true", "1"):
                mine = [s for s in mine if s["media_ids"]]
            return Response(200, page(mine, req.query, status_json))

    @route("GET", "/api/v1/timelines/home")
    def home(self, req: Request) -> Response:
        """The user's home feed: here only their own statuses (nobody else posts)."""
        with self.lock:
            mine = [s for s in self.statuses.values() if s["owner"] == self._owner(req)]
            return Response(200, page(mine, req.query, status_json))

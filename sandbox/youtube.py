"""A local server that speaks the YouTube Data API v3 upload protocol strictly.

What it enforces (PLATFORM-APIS.md §3 and §8): Google's resumable upload (init with
``X-Upload-Content-Length``/``-Type`` -> ``Location``; chunks in multiples of 256 KiB except the
last; ``308`` + ``Range``; the ``bytes */N`` status query; sessions that expire -> 404), the
metadata rules of ``videos.insert`` (title, description bytes, tags, category, publishAt), the
processing states (``uploaded`` for a configurable number of polls, then ``processed``,
``failed`` or ``rejected``; identical bytes are rejected as ``duplicate``), per-day quota in two
buckets (``videos.insert`` calls and units for everything else; reset at midnight Pacific),
OAuth access-token expiry and per-method scopes (captions need ``youtube.force-ssl``), captions,
thumbnails, playlists and the channel's uploads playlist for reconciliation.

Where the documents are silent or ambiguous the server follows one reading per point
(``READINGS``, first = default; docs/platforms/youtube.md lists them with their sources).
Uploaded bytes are never held: each session keeps a running sha256 of the bytes it accepted.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from .base import Request, Response, Sandbox, SandboxAccount, route
from .oauth_platforms import GoogleOAuth
from .youtube_channel import ChannelRoutes
from .youtube_rules import (
    CHUNK,
    COSTS,
    FORCE_SSL,
    PACIFIC,
    SCOPES,
    UPLOAD,
    check_metadata,
    google_error,
    quota_exceeded,
    receive,
    unauthorized,
)
from .youtube_videos import VideoRoutes


@dataclass
class _Token:
    scopes: frozenset[str]
    expires_at: float


@dataclass
class _Session:
    id: str
    size: int
    meta: dict[str, Any]
    created: float
    offset: int = 0
    sha: Any = field(default_factory=hashlib.sha256)
    video_id: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    partial_seen: set[int] = field(default_factory=set)


@dataclass
class _Video:
    id: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    sha256: str
    size: int
    outcome: tuple[str, str] = ("processed", "")
    polls: int = 0
    ever_public: bool = False
    thumbnail_sha256: str | None = None


class YouTubeSandbox(ChannelRoutes, VideoRoutes, GoogleOAuth, Sandbox):
    """YouTube Data API v3 on 127.0.0.1: ``/youtube/v3``, ``/upload/youtube/v3``, ``/token``."""

    platform = "youtube"
    READINGS: ClassVar[dict[str, tuple[str, ...]]] = {
        # videos.update with publishAt in the past: published right away (videos resource, as
        # quoted in claudiob/yt#253) or refused invalidPublishAt (third-party reports)
        "publish_at_past": ("publish_now", "invalid"),
        # publishAt only on the half hour (a third-party claim) or any time (nothing documented)
        "publish_at_steps": ("any", "half_hour"),
        # videos.update to public/scheduled while processing: accepted (goes out when processed,
        # as in YouTube Studio) or refused 400 -- the documents say nothing
        "update_while_processing": ("accept", "refuse"),
        # an expired upload session: 404 (resumable upload guide, via a research note) or 410
        "expired_session": ("404", "410"),
        # a chunk is stored whole, or only in part (Range ends early; the client must trust it)
        "chunk_acceptance": ("whole", "partial"),
        # captions.insert with a language+name that exists: 409 captionExists, or a second track
        "caption_duplicate": ("conflict_409", "second_track"),
        # the 401 body: Google's errors[].reason, or only code/message/status
        "auth_error_body": ("google_errors", "status_only"),
    }

    def __init__(self, *, port: int = 0, processing_polls: int = 2, session_ttl: float = 86400.0,
                 token_ttl: float = 3600.0, daily_units: int = 10_000, daily_uploads: int = 100,
                 channel_upload_cap: int | None = None,
                 thumbnail_max_bytes: int = 50 * 1024 * 1024,
                 reject_duplicates: bool = True) -> None:
        super().__init__(port=port)
        self.processing_polls = processing_polls
        self.session_ttl = session_ttl
        self.token_ttl = token_ttl
        self.daily_units, self.daily_uploads = daily_units, daily_uploads
        self.channel_upload_cap = channel_upload_cap
        self.thumbnail_max_bytes = thumbnail_max_bytes
        self.reject_duplicates = reject_duplicates
        self.client_id = "wtg-sandbox.apps.googleusercontent.com"
        self.client_secret = secrets.token_urlsafe(16)
        self.channel_id = "UCwtgSandboxChannel0001"
        self.refresh_tokens: dict[str, frozenset[str]] = {}
        self.tokens: dict[str, _Token] = {}
        self.sessions: dict[str, _Session] = {}
        self.videos: dict[str, _Video] = {}
        self.deleted: list[str] = []  # video ids deleted through videos.delete
        self.captions: list[dict[str, Any]] = []
        self.playlists: dict[str, list[dict[str, Any]]] = {"PLwtgSeason1": []}
        self.quota_day = ""
        self.units_used = self.uploads_used = 0
        self.upload_times: list[float] = []
        self.next_outcomes: list[tuple[str, str]] = []
        self.partial_accepts = 0
        self.caption_answers_lost = 0  # captions.insert: store, then answer 503
        self.chunks_received = self.token_refreshes = self.held = 0
        self.hold_at: int | None = None
        self._release = threading.Event()

    # --- test controls ----------------------------------------------------------------------
    def account(self, name: str = "youtube-test", *,
                scopes: tuple[str, ...] = (UPLOAD, FORCE_SSL)
                ) -> tuple[SandboxAccount, dict[str, str]]:
        """An account pointed at this server and the secrets it accepts."""
        refresh = "1//sandbox-" + secrets.token_urlsafe(12)
        access = self._issue(frozenset(scopes))
        with self.lock:
            self.refresh_tokens[refresh] = frozenset(scopes)
        account = SandboxAccount(
            name=name, platform="youtube", display_name="YouTube (Sandbox)",
            api_base=f"{self.url}/youtube/v3",
            options={"upload_base": f"{self.url}/upload/youtube/v3",
                     "token_url": f"{self.url}/token", "chunk_size": CHUNK})
        return account, {"client_id": self.client_id, "client_secret": self.client_secret,
                         "refresh_token": refresh, "access_token": access}

    def expire_access_tokens(self) -> None:
        with self.lock:
            for tok in self.tokens.values():
                tok.expires_at = 0.0

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()

    def expire_sessions(self) -> None:
        with self.lock:
            for s in self.sessions.values():
                s.created = 0.0

    def set_outcome(self, upload_status: str, reason: str) -> None:
        """The next finished upload ends ``failed``/``rejected`` with ``reason``."""
        with self.lock:
            self.next_outcomes.append((upload_status, reason))

    def hold_uploads_at(self, offset: int) -> None:
        """Chunks starting at ``offset`` or later wait (session locked) until released."""
        self._release.clear()
        self.hold_at = offset

    def release_uploads(self) -> None:
        self.hold_at = None
        self._release.set()

    def snapshot(self) -> dict[str, Any]:
        for v in self.videos.values():
            self._flip_due(v)
        published = [
            {"id": v.id, "url": f"https://youtu.be/{v.id}", "sha256": v.sha256, "size": v.size,
             "text": v.snippet.get("description", ""), "title": v.snippet.get("title"),
             "privacy": v.status["privacyStatus"], "publishAt": v.status.get("publishAt")}
            for v in self.videos.values()
            if v.status["privacyStatus"] == "public" or v.status.get("publishAt")
        ]
        return {"platform": self.platform, "published": published,
                "videos": {k: {"sha256": v.sha256, "privacy": v.status["privacyStatus"],
                               "uploadStatus": v.status["uploadStatus"],
                               "thumbnail_sha256": v.thumbnail_sha256}
                           for k, v in self.videos.items()},
                "sessions": {k: {"offset": s.offset, "size": s.size}
                             for k, s in self.sessions.items()},
                "captions": list(self.captions), "deleted": list(self.deleted),
                "playlists": {k: [i["snippet"]["resourceId"]["videoId"] for i in v]
                              for k, v in self.playlists.items()},
                "units_used": self.units_used, "uploads_used": self.uploads_used,
                "chunks_received": self.chunks_received, "held": self.held,
                "token_refreshes": self.token_refreshes}

    # --- auth and quota -----------------------------------------------------------------------
    def _issue(self, scopes: frozenset[str]) -> str:
        token = "ya29.sandbox-" + secrets.token_urlsafe(16)
        with self.lock:
            self.tokens[token] = _Token(scopes, time.time() + self.token_ttl)
        return token

    def _guard(self, req: Request, method: str) -> Response | None:
        """401 for a missing/expired token, 403 for a missing scope or exhausted quota."""
        tok = self.tokens.get(req.bearer() or "")
        if tok is None or tok.expires_at <= time.time():
            return unauthorized(self.reading("auth_error_body"))
        if not tok.scopes & SCOPES[method]:
            return google_error(403, "insufficientPermissions",
                                "Request had insufficient authentication scopes.", "global")
        with self.lock:
            day = datetime.now(PACIFIC).date().isoformat()
            if day != self.quota_day:
                self.quota_day, self.units_used, self.uploads_used = day, 0, 0
            if method == "videos.insert":
                if self.uploads_used + 1 > self.daily_uploads:
                    return quota_exceeded()
                self.uploads_used += 1
            else:
                if self.units_used + COSTS[method] > self.daily_units:
                    return quota_exceeded()
                self.units_used += COSTS[method]
        return None

    @route("POST", "/token")
    def token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                   self.client_secret):
            return Response(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        scopes = self.refresh_tokens.get(form.get("refresh_token", ""))
        if scopes is None:
            return Response(400, {"error": "invalid_grant",
                                  "error_description": "Token has been expired or revoked."})
        with self.lock:
            self.token_refreshes += 1
        return Response(200, {"access_token": self._issue(scopes), "token_type": "Bearer",
                              "expires_in": int(self.token_ttl), "scope": " ".join(sorted(scopes))})

    # --- resumable upload ---------------------------------------------------------------------
    @route("POST", "/upload/youtube/v3/videos")
    def insert(self, req: Request) -> Response:
        if req.query.get("uploadType") != "resumable":
            return google_error(400, "badRequest", "this sandbox only speaks uploadType=resumable")
        parts = set(req.query.get("part", "").split(","))
        if not {"snippet", "status"} <= parts:
            return google_error(400, "missingRequiredParameter", "part must name snippet,status")
        try:
            size = int(req.headers.get("x-upload-content-length", ""))
        except ValueError:
            return google_error(400, "badRequest", "X-Upload-Content-Length is required")
        mime = req.headers.get("x-upload-content-type", "")
        if size <= 0 or not (mime.startswith("video/") or mime == "application/octet-stream"):
            return google_error(400, "badRequest", "X-Upload-Content-Type must be video/*")
        if "application/json" not in req.headers.get("content-type", ""):
            return google_error(400, "badRequest", "metadata must be application/json")
        meta = req.json()
        problem = check_metadata(meta.get("snippet") or {}, meta.get("status") or {})
        if problem:
            return problem
        denied = self._guard(req, "videos.insert")
        if denied:
            return denied
        with self.lock:
            now = time.time()
            self.upload_times = [t for t in self.upload_times if t > now - 86400]
            if self.channel_upload_cap is not None and \
                    len(self.upload_times) >= self.channel_upload_cap:
                return google_error(400, "uploadLimitExceeded",
                                    "The user has exceeded the number of videos they may upload.")
            self.upload_times.append(now)
            sid = secrets.token_urlsafe(18)
            self.sessions[sid] = _Session(sid, size, meta, now)
        location = f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={sid}"
        return Response(200, b"", {"Location": location})

    @route("PUT", "/upload/youtube/v3/videos", stream=True)
    def put_chunk(self, req: Request) -> Response:
        sess = self.sessions.get(req.query.get("upload_id", ""))
        if sess is None or time.time() - sess.created > self.session_ttl:
            code = int(self.reading("expired_session"))
            return google_error(code, "notFound" if code == 404 else "gone",
                                "upload session not found or expired", "global")
        tok = self.tokens.get(req.bearer() or "")
        if tok is None or tok.expires_at <= time.time():
            return unauthorized(self.reading("auth_error_body"))
        with sess.lock:
            return self._chunk(req, sess)

    def _chunk(self, req: Request, sess: _Session) -> Response:
        assert req.stream is not None
        crange = req.headers.get("content-range", "")
        if crange == f"bytes */{sess.size}" and req.stream.length == 0:
            return self._progress(sess)
        try:
            unit, spec = crange.split(" ", 1)
            span, total = spec.split("/")
            first, last = (int(x) for x in span.split("-"))
        except ValueError:
            return google_error(400, "badRequest", f"bad Content-Range {crange!r}")
        if unit != "bytes" or int(total) != sess.size or last >= sess.size or first > last:
            return google_error(400, "badRequest", f"Content-Range {crange!r} does not fit")
        if sess.video_id is not None:
            return self._progress(sess)
        if first != sess.offset:
            return google_error(400, "badRequest",
                                f"chunk starts at {first}, expected {sess.offset}")
        length = last - first + 1
        if length != req.stream.length:
            return google_error(400, "badRequest", "Content-Length does not match Content-Range")
        if last + 1 < sess.size and length % CHUNK:
            return google_error(400, "badRequest", "chunk size must be a multiple of 262144")
        if self.hold_at is not None and first >= self.hold_at:
            with self.lock:
                self.held += 1
            self._release.wait(timeout=60)
        with self.lock:
            self.chunks_received += 1
            accept = length
            # reading "partial": the first try of each chunk keeps only whole 256 KiB units of
            # its first half (none at all for a short chunk: 308 without a new Range)
            partial = self.reading("chunk_acceptance") == "partial" and \
                first not in sess.partial_seen
            if partial:
                sess.partial_seen.add(first)
            if self.partial_accepts > 0 or partial:
                self.partial_accepts = max(0, self.partial_accepts - 1)
                accept = (length // 2) // CHUNK * CHUNK
        sess.offset += receive(req.stream, sess.sha, accept)
        if sess.offset == sess.size:
            self._finish_upload(sess)
        return self._progress(sess)

    def _progress(self, sess: _Session) -> Response:
        if sess.video_id is not None:
            return Response(201, self._resource(self.videos[sess.video_id], {"snippet", "status"}))
        headers = {"Range": f"bytes=0-{sess.offset - 1}"} if sess.offset else {}
        return Response(308, b"", headers)

    def _finish_upload(self, sess: _Session) -> None:
        sha = sess.sha.hexdigest()
        vid = secrets.token_urlsafe(8)[:11]
        snippet = dict(sess.meta["snippet"], channelId=self.channel_id,
                       publishedAt=datetime.now(UTC).isoformat())
        status = dict(sess.meta["status"], uploadStatus="uploaded")
        with self.lock:
            outcome = self.next_outcomes.pop(0) if self.next_outcomes else ("processed", "")
            if self.reject_duplicates and any(v.sha256 == sha for v in self.videos.values()):
                outcome = ("rejected", "duplicate")
            self.videos[vid] = _Video(vid, snippet, status, sha, sess.size, outcome)
            sess.video_id = vid

"""A local TikTok Content Posting API (Direct Post, FILE_UPLOAD) with OAuth token rotation.

Enforces (developers.tiktok.com media transfer guide, direct post, status, oauth):

* chunk rules at ``init``: ``total_chunk_count == floor(video_size / chunk_size)``; chunks between
  ``min_chunk`` (5 MiB; lower it in tests) and 64 MiB; videos under ``min_chunk`` in one chunk of
  exactly their size; videos over 64 MiB in more than one chunk; the last chunk (the remainder)
  at most 128 MiB; 1–1000 chunks;
* chunk ``PUT`` s in order, with ``Content-Range`` on the expected boundaries and a matching
  length; the upload URL expires after ``upload_url_ttl``. What TikTok answers per chunk, to a
  chunk sent again, and whether the status reports ``uploaded_bytes`` is not documented in
  what we could read: ``READINGS`` (docs/platforms/tiktok.md);
* the privacy rule: an unaudited client may only post ``SELF_ONLY``
  (``unaudited_client_can_only_post_to_private_accounts``), and only options creator info offers
  (``privacy_level_option_mismatch``);
* status ``PROCESSING_UPLOAD`` for ``processing_polls`` fetches after the last chunk, then
  ``PUBLISH_COMPLETE`` (or ``FAILED`` with ``fail_reason``); a public post's
  ``publicaly_available_post_id`` comes with it or (reading) only after moderation,
  ``moderation_polls`` fetches later; a ``SELF_ONLY`` post never gets one; a publish id that
  never received all its bytes ends ``FAILED`` when its upload URL expires;
* access tokens expire (``access_token_invalid``); a refresh returns a NEW refresh token and the
  old one stops working (``invalid_grant``); per-token per-minute rate limits
  (``rate_limit_exceeded``) and a daily post cap (``spam_risk_too_many_posts``).

Received bytes are kept as per-chunk and whole-file sha256 only.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import threading
import time
from typing import Any, ClassVar

from .base import Request, Response, Sandbox, SandboxAccount, route
from .oauth_platforms import TikTokOAuth

MIB = 1024 * 1024
PRIVACY_ALL = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
LIMITS_PER_MINUTE = {"creator_info": 20, "init": 6, "status": 30}


def _env(data: Any = None, code: str = "ok", message: str = "") -> dict[str, Any]:
    return {"data": data if data is not None else {},
            "error": {"code": code, "message": message, "log_id": secrets.token_hex(8)}}


def _err(status: int, code: str, message: str) -> Response:
    return Response(status, _env(None, code, message))


class TikTokSandbox(TikTokOAuth, Sandbox):
    platform = "tiktok"
    READINGS: ClassVar[dict[str, tuple[str, ...]]] = {
        # the answer to each chunk PUT: 206 then 201 after the last (third-party code, widely
        # implemented), 200 each, or 201 each -- the official table was not readable
        "chunk_codes": ("206_201", "200_each", "201_each"),
        # the chunk just received sent again (its answer was lost): taken again with the same
        # answer, or refused 400 like an out-of-order chunk
        "chunk_resend": ("accept_again", "refuse"),
        # status/fetch reports uploaded_bytes (third-party field lists) or leaves it out
        "uploaded_bytes": ("reported", "absent"),
        # publicaly_available_post_id with PUBLISH_COMPLETE, or only after moderation (the status
        # page: "developers are not provided with the post_id until this process is complete")
        "post_id": ("with_complete", "after_moderation"),
        # a chunk PUT to an expired upload URL: 403 or 404
        "expired_upload_url": ("403", "404"),
    }

    def __init__(
        self, *, port: int = 0, audited: bool = True, min_chunk: int = 5 * MIB,
        processing_polls: int = 2, upload_url_ttl: float = 3600.0, access_ttl: int = 7200,
        daily_post_cap: int = 15, max_duration: int = 600, moderation_polls: int = 2,
    ) -> None:
        super().__init__(port=port)
        self.moderation_polls = moderation_polls
        self._clock_offset = 0.0
        self.audited = audited
        self.min_chunk, self.max_chunk, self.max_final = min_chunk, 64 * MIB, 128 * MIB
        self.processing_polls = processing_polls
        self.upload_url_ttl = upload_url_ttl
        self.access_ttl = access_ttl
        self.daily_post_cap = daily_post_cap
        self.max_duration = max_duration
        self.client = ("tiktok-client-key", "tiktok-client-secret")
        self.access: dict[str, float] = {"tiktok-access-1": self.now() + access_ttl}
        self.refresh: set[str] = {"tiktok-refresh-1"}
        self.rotations = 0
        self.publishes: dict[str, dict[str, Any]] = {}
        self.fail_processing: list[str] = []  # fail_reason for the next completed uploads
        self.hold_after: int | None = None  # block chunk PUTs once this many chunks arrived
        self.hold = threading.Event()
        self._calls: dict[tuple[str, str], list[float]] = {}
        self._ids = itertools.count(1)

    # --- test helpers ---------------------------------------------------------------------
    def account(self, name: str = "tiktok-test") -> tuple[SandboxAccount, dict[str, str]]:
        acc = SandboxAccount(name=name, platform="tiktok", display_name="Landkreis (Sandbox)",
                             api_base=self.url,
                             options={"audited": self.audited, "poll_interval": 1.0})
        return acc, {"access_token": "tiktok-access-1", "refresh_token": "tiktok-refresh-1",
                     "client_key": self.client[0], "client_secret": self.client[1]}

    def now(self) -> float:
        return time.monotonic() + self._clock_offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self._clock_offset += seconds

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access:
                self.access[token] = self.now() - 1

    def chunks_received(self) -> int:
        with self.lock:
            return sum(len(p["chunks"]) for p in self.publishes.values())

    def snapshot(self) -> dict[str, Any]:
        posts = [_post_json(p) for p in self.publishes.values()]
        return {
            "platform": self.platform,
            "published": [p for p in posts if p["status"] == "PUBLISH_COMPLETE"
                          and p["privacy_level"] != "SELF_ONLY"],
            "posts": posts,
            "rotations": self.rotations,
        }

    # --- plumbing -------------------------------------------------------------------------
    def _user(self, req: Request, bucket: str) -> Response | None:
        token = req.bearer() or ""
        with self.lock:
            expires = self.access.get(token)
            if expires is None or expires <= self.now():
                return _err(401, "access_token_invalid",
                            "The access token is invalid or not found in the request.")
            calls = [t for t in self._calls.get((token, bucket), []) if t > self.now() - 60]
            if len(calls) >= LIMITS_PER_MINUTE[bucket]:
                self._calls[(token, bucket)] = calls
                return _err(429, "rate_limit_exceeded",
                            "The API rate limit was exceeded. Try again later.")
            calls.append(self.now())
            self._calls[(token, bucket)] = calls
        return None

    # --- OAuth ----------------------------------------------------------------------------
    @route("POST", "/v2/oauth/token")
    def token(self, req: Request) -> Response:
        form = req.form()
        if (form.get("client_key"), form.get("client_secret")) != self.client:
            return Response(401, {"error": "invalid_client", "log_id": secrets.token_hex(8),
                                  "error_description": "Client key or secret is invalid."})
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "invalid_request", "log_id": secrets.token_hex(8),
                                  "error_description": "Unsupported grant_type."})
        with self.lock:
            old = form.get("refresh_token", "")
            if old not in self.refresh:
                return Response(400, {"error": "invalid_grant", "log_id": secrets.token_hex(8),
                                      "error_description": "Refresh token is invalid or "
                                                           "expired."})
            self.refresh.discard(old)  # rotation: the old refresh token stops working
            self.rotations += 1
            access = f"tiktok-access-{secrets.token_hex(6)}"
            refresh = f"tiktok-refresh-{secrets.token_hex(6)}"
            self.access[access] = self.now() + self.access_ttl
            self.refresh.add(refresh)
        return Response(200, {"access_token": access, "expires_in": self.access_ttl,
                              "refresh_token": refresh, "refresh_expires_in": 15_552_000,
                              "open_id": "sandbox-open-id", "scope": "video.publish",
                              "token_type": "Bearer"})

    # --- Content Posting API --------------------------------------------------------------
    def _options(self) -> list[str]:
        # unaudited clients must post to private accounts, which offer no public option
        return PRIVACY_ALL if self.audited else PRIVACY_ALL[1:]

    @route("POST", "/v2/post/publish/creator_info/query")
    def creator_info(self, req: Request) -> Response:
        if (denied := self._user(req, "creator_info")) is not None:
            return denied
        return Response(200, _env({
            "creator_avatar_url": f"{self.url}/avatar.jpg", "creator_username": "landkreis_lup",
            "creator_nickname": "Landkreis Ludwigslust-Parchim",
            "privacy_level_options": self._options(), "comment_disabled": False,
            "duet_disabled": False, "stitch_disabled": False,
            "max_video_post_duration_sec": self.max_duration,
        }))

    @route("POST", "/v2/post/publish/video/init")
    def init(self, req: Request) -> Response:
        if (denied := self._user(req, "init")) is not None:
            return denied
        body = req.json()
        post, source = body.get("post_info") or {}, body.get("source_info") or {}
        privacy = post.get("privacy_level")
        if not self.audited and privacy != "SELF_ONLY":
            return _err(403, "unaudited_client_can_only_post_to_private_accounts",
                        "Please review our integration guidelines.")
        if privacy not in self._options():
            return _err(400, "privacy_level_option_mismatch",
                        "privacy_level is not one of the creator's privacy_level_options")
        if len(str(post.get("title", "")).encode("utf-16-le")) // 2 > 2200:
            return _err(400, "invalid_params", "title is longer than 2200 characters")
        if source.get("source") != "FILE_UPLOAD":
            return _err(403, "url_ownership_unverified", "only FILE_UPLOAD in the sandbox")
        problem = self._chunk_problem(source)
        if problem:
            return _err(400, "invalid_params", problem)
        with self.lock:
            if len(self.publishes) >= self.daily_post_cap:
                return _err(403, "spam_risk_too_many_posts",
                            "The daily post cap from the API is reached for the current user.")
            n = next(self._ids)
            pid, upload_id = f"v_pub_file~v2-1.{7000 + n}", f"up{n}"
            token = secrets.token_hex(12)
            self.publishes[pid] = {
                "publish_id": pid, "upload_id": upload_id, "upload_token": token,
                "expires": self.now() + self.upload_url_ttl, "title": post.get("title", ""),
                "privacy_level": privacy, "video_size": int(source["video_size"]),
                "chunk_size": int(source["chunk_size"]),
                "count": int(source["total_chunk_count"]), "chunks": [], "uploaded": 0,
                "hash": hashlib.sha256(), "sha256": None, "status": "PROCESSING_UPLOAD",
                "polls_left": None, "fail_reason": None, "post_id": None, "moderation_left": 0,
            }
        url = f"{self.url}/upload/?upload_id={upload_id}&upload_token={token}"
        return Response(200, _env({"publish_id": pid, "upload_url": url}))

    def _chunk_problem(self, s: dict[str, Any]) -> str | None:
        try:
            size, chunk, count = (int(s["video_size"]), int(s["chunk_size"]),
                                  int(s["total_chunk_count"]))
        except (KeyError, TypeError, ValueError):
            return "video_size, chunk_size and total_chunk_count are required"
        if size <= 0:
            return "video_size must be positive"
        if size < self.min_chunk:
            if chunk != size or count != 1:
                return "videos under 5 MB must be uploaded whole: chunk_size = video_size"
            return None
        if not self.min_chunk <= chunk <= self.max_chunk:
            return "chunk_size must be between 5 MB and 64 MB"
        if count != size // chunk:
            return "total_chunk_count must be video_size / chunk_size rounded down"
        if not 1 <= count <= 1000:
            return "total_chunk_count must be between 1 and 1000"
        if size > self.max_chunk and count == 1:
            return "videos over 64 MB must be uploaded in several chunks"
        if size - (count - 1) * chunk > self.max_final:
            return "the final chunk may be at most 128 MB"
        return None

    @route("PUT", "/upload")
    def put_chunk(self, req: Request) -> Response:
        with self.lock:
            p = next((p for p in self.publishes.values()
                      if p["upload_id"] == req.query.get("upload_id")), None)
            if p is None or p["upload_token"] != req.query.get("upload_token"):
                return _err(404, "invalid_upload_url", "upload url not found")
            if p["expires"] <= self.now():
                return _err(int(self.reading("expired_upload_url")), "upload_url_expired",
                            "the upload url has expired")
            hold = self.hold_after is not None and len(p["chunks"]) >= self.hold_after
        if hold:
            self.hold.wait(30)
        if req.headers.get("content-type") not in ("video/mp4", "video/quicktime", "video/webm"):
            return _err(400, "invalid_file_upload", "unsupported Content-Type")
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", req.headers.get("content-range", ""))
        if not m:
            return _err(400, "invalid_file_upload", "Content-Range missing or malformed")
        first, last, total = (int(g) for g in m.groups())
        if len(req.body) != last - first + 1:
            return _err(400, "invalid_file_upload", "Content-Length does not match the range")
        with self.lock:
            if total != p["video_size"]:
                return _err(400, "invalid_file_upload", "total size differs from video_size")
            digest = hashlib.sha256(req.body).hexdigest()
            done = len(p["chunks"])
            if done and (first, last) == self._range(p, done - 1):
                if p["chunks"][-1] != digest:
                    return _err(400, "invalid_file_upload", "chunk resent with other bytes")
                if self.reading("chunk_resend") == "refuse":
                    return _err(400, "invalid_file_upload", "chunk already uploaded")
                return Response(self._chunk_code(done == p["count"]))
            if done >= p["count"] or (first, last) != self._range(p, done):
                want = self._range(p, min(done, p["count"] - 1))
                return _err(400, "invalid_file_upload", "chunks must be uploaded sequentially: "
                            f"expected bytes {want[0]}-{want[1]}")
            p["chunks"].append(digest)
            p["hash"].update(req.body)
            p["uploaded"] += len(req.body)
            if len(p["chunks"]) < p["count"]:
                return Response(self._chunk_code(False))
            p["sha256"] = p["hash"].hexdigest()
            p["polls_left"] = self.processing_polls
            p["fail_reason"] = self.fail_processing.pop(0) if self.fail_processing else None
            return Response(self._chunk_code(True))

    def _chunk_code(self, last: bool) -> int:
        reading = self.reading("chunk_codes")
        if reading == "206_201":
            return 201 if last else 206
        return 200 if reading == "200_each" else 201

    @staticmethod
    def _range(p: dict[str, Any], index: int) -> tuple[int, int]:
        start = index * p["chunk_size"]
        end = p["video_size"] if index == p["count"] - 1 else start + p["chunk_size"]
        return start, end - 1

    @route("POST", "/v2/post/publish/status/fetch")
    def status(self, req: Request) -> Response:
        if (denied := self._user(req, "status")) is not None:
            return denied
        with self.lock:
            p = self.publishes.get(str(req.json().get("publish_id")))
            if p is None:
                return _err(400, "invalid_params", "publish_id not found")
            if p["sha256"] is None and p["expires"] <= self.now():
                p["status"], p["fail_reason"] = "FAILED", "upload_url_expired"
            elif p["sha256"] is not None and p["status"] == "PROCESSING_UPLOAD":
                if p["polls_left"] > 0:
                    p["polls_left"] -= 1
                elif p["fail_reason"]:
                    p["status"] = "FAILED"
                else:
                    p["status"] = "PUBLISH_COMPLETE"
                    p["post_id"] = str(7_300_000_000_000_000_000 + next(self._ids))
                    late = self.reading("post_id") == "after_moderation"
                    p["moderation_left"] = self.moderation_polls if late else 0
            elif p["status"] == "PUBLISH_COMPLETE" and p["moderation_left"] > 0:
                p["moderation_left"] -= 1
            data: dict[str, Any] = {"status": p["status"]}
            if self.reading("uploaded_bytes") == "reported":
                data["uploaded_bytes"] = p["uploaded"]
            if p["status"] == "FAILED":
                data["fail_reason"] = p["fail_reason"]
            if p["status"] == "PUBLISH_COMPLETE":
                public = p["privacy_level"] != "SELF_ONLY" and p["moderation_left"] == 0
                data["publicaly_available_post_id"] = [int(p["post_id"])] if public else []
            return Response(200, _env(data))


def _post_json(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["post_id"], "publish_id": p["publish_id"],
        "url": f"https://www.tiktok.com/@landkreis_lup/video/{p['post_id']}" if p["post_id"]
        else "",
        "sha256": p["sha256"], "size": p["uploaded"], "text": p["title"],
        "privacy_level": p["privacy_level"], "status": p["status"],
        "chunks": len(p["chunks"]), "fail_reason": p["fail_reason"],
    }

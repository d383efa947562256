"""A local Instagram professional account: REELS containers with resumable upload, publishing.

What it enforces comes from docs/platforms/instagram.md (the conformance table, with sources):

* ``POST /{ig-user}/media`` needs ``media_type=REELS`` (``VIDEO`` outside a carousel is
  retired -> error) and ``upload_type=resumable`` (the sandbox does not fetch ``video_url``);
  unknown parameters (a scheduling time, say) -> code 100; the caption over 2,200 characters,
  over ``hashtag_limit`` hashtags or over 20 mentions -> code 100. Answers ``id`` and ``uri``.
* rupload (``/rupload/ig-api-upload/[{ver}/]{container}``): ``Authorization: OAuth`` header,
  ``offset`` equal to the bytes held, ``file_size``; bytes that arrive before a connection drops
  are kept. How an interrupted upload is resumed is not documented: the reading
  ``rupload_resume``.
* the container's ``status_code``: ``IN_PROGRESS`` until all bytes are there and for
  ``processing_polls`` looks more, then ``FINISHED`` (or ``ERROR`` with a subcode in
  ``status``); ``EXPIRED`` ``container_ttl`` seconds after creation unless published;
  ``PUBLISHED`` after publishing.
* ``media_publish`` on a container that is not ``FINISHED``: the reading
  ``publish_while_in_progress``; expired -> -2 / subcode 2207020; more than ``quota_total``
  publishes in 24 h -> code 9 / subcode 2207042; ``content_publishing_limit`` reports
  ``quota_usage`` and ``config``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from .base import Request, Response, SandboxAccount, route
from .graph import Blob, GraphSandbox
from .mp4spec import INSTAGRAM_REEL, reel_problem
from .oauth_platforms import InstagramOAuth

_MEDIA_PARAMS = {"access_token", "media_type", "upload_type", "caption", "share_to_feed",
                 "collaborators", "cover_url", "audio_name", "user_tags", "location_id",
                 "thumb_offset", "video_url", "is_carousel_item"}
_HASHTAG = re.compile(r"(?<!\w)#\w+")
_MENTION = re.compile(r"(?<!\w)@[\w.]+")
DAY = 86_400.0
#: looks for which a published container still says FINISHED (reading published_status_lag)
LAG_LOOKS = 2


@dataclass
class Container:
    id: str
    blob: Blob
    caption: str
    created: float
    polls_left: int
    error: str | None = None
    media_id: str | None = None
    lag_left: int = 0  # looks that still report FINISHED after publishing
    deferred: bool = False  # media_publish accepted before FINISHED (publishes when done)


class InstagramSandbox(InstagramOAuth, GraphSandbox):
    platform = "instagram"
    throttle_code = 4
    READINGS: ClassVar[dict[str, tuple[str, ...]]] = {
        # resuming an interrupted rupload POST: GET on the upload URL answers {"offset": n}
        # (the rupload convention in Meta's own mapillary_tools); or that GET does not exist
        # (404 / 405); or it answers 0 whatever the host holds
        "rupload_resume": ("offset_lookup", "unsupported_404", "unsupported_405",
                           "stale_zero"),
        "rupload_chunks": ("accepted", "single_request"),
        # media_publish before FINISHED: 9007/2207027 (widely reported), a plain code 100, or
        # accepted and carried out once processing is done
        "publish_while_in_progress": ("refused_9007", "refused_generic", "accepted_later"),
        # after media_publish the container says PUBLISHED at once, or FINISHED a while longer
        "published_status_lag": ("immediate", "lagging"),
    }

    def __init__(
        self,
        *,
        port: int = 0,
        processing_polls: int = 2,
        quota_total: int = 50,
        hashtag_limit: int = 30,
        container_ttl: float = DAY,
        rate_limit: int | None = None,
        rate_window: float = 3600.0,
    ) -> None:
        super().__init__(port=port, processing_polls=processing_polls, rate_limit=rate_limit,
                         rate_window=rate_window)
        self.quota_total = quota_total
        self.hashtag_limit = hashtag_limit
        self.container_ttl = container_ttl
        self.ig_user_id = "17841400000000077"
        self.user_token = "EAAUSER-sandbox-token-1"
        self.tokens[self.user_token] = {"kind": "user", "expired": False}
        self.containers: dict[str, Container] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.publish_times: list[float] = []

    def account(self, name: str = "instagram-test") -> tuple[SandboxAccount, dict[str, str]]:
        return SandboxAccount(
            name=name, platform="instagram", display_name="@landkreis (Sandbox)",
            api_base=f"{self.url}/graph/{self.version}",
            options={"ig_user_id": self.ig_user_id, "rupload_base": f"{self.url}/rupload"},
        ), {"access_token": self.user_token}

    def snapshot(self) -> dict[str, Any]:
        out = []
        for m in self.media.values():
            c = self.containers[m["container"]]
            if self._visible(c):
                out.append({"id": m["id"], "url": m["permalink"], "sha256": c.blob.sha256,
                            "size": c.blob.size, "text": m["caption"], "container": c.id})
        return {"platform": self.platform, "published": out,
                "containers": {k: self._state(c) for k, c in self.containers.items()}}

    # --- containers --------------------------------------------------------------------------
    @route("POST", "/graph/{ver}/{node}/media")
    def create_container(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="user")
        if denied:
            return denied
        if req.params["node"] != self.ig_user_id:
            return self.invalid("Unsupported post request: unknown IG user.", subcode=33)
        unknown = set(form) - _MEDIA_PARAMS
        if unknown:
            return self.invalid(f"(#100) Invalid parameter: {sorted(unknown)[0]}")
        media_type = form.get("media_type", "")
        if media_type == "VIDEO" and form.get("is_carousel_item") != "true":
            return self.invalid("The VIDEO media type is no longer supported for feed posts. "
                                "Please use the REELS media type.", subcode=2207023)
        if media_type != "REELS":
            return self.invalid("(#100) media_type must be REELS in this sandbox")
        if form.get("upload_type") != "resumable" or "video_url" in form:
            return self.invalid("(#100) This sandbox supports upload_type=resumable only")
        bad = self._caption_problem(form.get("caption", ""))
        if bad:
            return self.invalid(bad)
        with self.lock:
            cid = self.new_id()
            self.containers[cid] = Container(
                id=cid, blob=self.new_blob(cid), caption=form.get("caption", ""),
                created=self.now(), polls_left=self.processing_polls,
                error=self.fail_processing.pop(0) if self.fail_processing else None)
        uri = f"{self.url}/rupload/ig-api-upload/{self.version}/{cid}"
        return Response(200, {"id": cid, "uri": uri})

    def _caption_problem(self, caption: str) -> str | None:
        if len(caption) > 2200:
            return "(#100) The caption is too long: at most 2200 characters."
        if len(_HASHTAG.findall(caption)) > self.hashtag_limit:
            return f"(#100) The caption has more than {self.hashtag_limit} hashtags."
        if len(_MENTION.findall(caption)) > 20:
            return "(#100) The caption has more than 20 mentions."
        return None

    def _processing(self, c: Container) -> bool:
        return not c.blob.complete or c.polls_left > 0

    def _visible(self, c: Container) -> bool:
        """Whether the container's media is out (a deferred publish waits for processing)."""
        return c.media_id is not None and not (c.deferred and self._processing(c))

    def _state(self, c: Container) -> str:
        if c.media_id is not None:
            if c.deferred and self._processing(c):
                return "IN_PROGRESS"
            return "FINISHED" if c.lag_left > 0 else "PUBLISHED"
        if self.now() > c.created + self.container_ttl:
            return "EXPIRED"
        if self._processing(c):
            return "IN_PROGRESS"
        return "ERROR" if c.error else "FINISHED"

    # --- rupload -------------------------------------------------------------------------------
    @route("POST", "/rupload/ig-api-upload/{ver}/{cid}", stream=True)
    def rupload(self, req: Request) -> Response:
        return self._rupload(req)

    @route("POST", "/rupload/ig-api-upload/{cid}", stream=True)
    def rupload_unversioned(self, req: Request) -> Response:
        return self._rupload(req)

    def _rupload(self, req: Request) -> Response:
        if not req.headers.get("authorization", "").lower().startswith("oauth "):
            return self.rupload_error(400, "NotAuthorizedError",
                                      "User not authorized to perform this request")
        denied = self.authorize(req, {}, kind="user", header_only=True)
        if denied:
            return denied
        with self.lock:
            c = self.containers.get(req.params["cid"])
            if c is None:
                return self.rupload_error(400, "InvalidRequest", "Invalid container id")
            if self._state(c) != "IN_PROGRESS" or c.blob.complete:
                return self.rupload_error(400, "InvalidRequest",
                                          "This container does not accept more bytes")
            resp, _cut = self.receive_rupload(req, c.blob)
            if resp.status == 200:
                resp.body = {"success": True, "message": "Upload successful."}
            if c.blob.complete and c.error is None:
                # processing checks the Reel specification (PLATFORM-APIS 2.9); a breach
                # ends the container in ERROR
                c.error = reel_problem(c.blob.path, INSTAGRAM_REEL)
            return resp

    @route("GET", "/rupload/ig-api-upload/{ver}/{cid}")
    def rupload_offset(self, req: Request) -> Response:
        return self._offset(req)

    @route("GET", "/rupload/ig-api-upload/{cid}")
    def rupload_offset_unversioned(self, req: Request) -> Response:
        return self._offset(req)

    def _offset(self, req: Request) -> Response:
        reading = self.reading("rupload_resume")
        if reading == "unsupported_404":
            return self.rupload_error(404, "NotFound", "Unsupported request")
        if reading == "unsupported_405":
            return self.rupload_error(405, "MethodNotAllowed", "GET is not supported here")
        denied = self.authorize(req, {}, kind="user", header_only=True)
        if denied:
            return denied
        with self.lock:
            c = self.containers.get(req.params["cid"])
            if c is None:
                return self.rupload_error(400, "InvalidRequest", "Invalid container id")
            held = 0 if reading == "stale_zero" else c.blob.size
            return Response(200, {"offset": held})

    # --- publishing ----------------------------------------------------------------------------
    @route("POST", "/graph/{ver}/{node}/media_publish")
    def media_publish(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="user")
        if denied:
            return denied
        with self.lock:
            c = self.containers.get(form.get("creation_id", ""))
            if c is None or req.params["node"] != self.ig_user_id:
                return self.invalid("(#100) Invalid creation_id")
            state = self._state(c)
            if c.media_id is not None:
                return self.invalid("(#100) This media has already been published.")
            if state == "EXPIRED":
                return self.error(-2, "The media you are trying to access has expired. Please "
                                      "try to upload again.", subcode=2207020)
            if state == "ERROR":
                return self.error(-1, "unknown upload error", subcode=2207053)
            deferred = False
            if state != "FINISHED":
                reading = self.reading("publish_while_in_progress")
                if reading == "refused_9007":
                    return self.error(9007, "Media ID is not available", subcode=2207027)
                if reading == "refused_generic":
                    return self.invalid("(#100) The media is not ready for publishing, please "
                                        "wait for a moment")
                deferred = True
            now = self.now()
            self.publish_times = [t for t in self.publish_times if t > now - DAY]
            if len(self.publish_times) >= self.quota_total:
                return self.error(9, "Application request limit reached: you reached the "
                                     "maximum number of posts allowed in 24 hours.",
                                  subcode=2207042)
            self.publish_times.append(now)
            mid = self.new_id()
            c.media_id, c.deferred = mid, deferred
            if self.reading("published_status_lag") == "lagging":
                c.lag_left = LAG_LOOKS
            stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
            self.media[mid] = {"id": mid, "container": c.id, "caption": c.caption,
                               "permalink": f"{self.url}/ig/reel/{mid}/", "timestamp": stamp,
                               "created": now}
            return Response(200, {"id": mid})

    @route("GET", "/graph/{ver}/{node}/content_publishing_limit")
    def publishing_limit(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="user")
        if denied:
            return denied
        with self.lock:
            now = self.now()
            used = sum(1 for t in self.publish_times if t > now - DAY)
        item: dict[str, Any] = {"quota_usage": used}
        if "config" in form.get("fields", ""):
            item["config"] = {"quota_total": self.quota_total, "quota_duration": int(DAY)}
        return Response(200, {"data": [item]})

    # --- reading -------------------------------------------------------------------------------
    @route("GET", "/graph/{ver}/{node}/media")
    def list_media(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="user")
        if denied:
            return denied
        limit = int(form.get("limit", "25"))
        fields = form.get("fields", "id")
        with self.lock:
            items = [m for m in self.media.values()
                     if self._visible(self.containers[m["container"]])]
            items.sort(key=lambda m: m["created"], reverse=True)
            return Response(200, {"data": [self._media_fields(m, fields)
                                           for m in items[:limit]]})

    @route("GET", "/graph/{ver}/{node}")
    def node(self, req: Request) -> Response:
        form = req.form()
        denied = self.authorize(req, form, kind="user")
        if denied:
            return denied
        node = req.params["node"]
        fields = form.get("fields", "id")
        with self.lock:
            if node in (self.ig_user_id, "me"):
                return Response(200, {"id": self.ig_user_id, "username": "landkreis_sandbox"})
            if node in self.media:
                return Response(200, self._media_fields(self.media[node], fields))
            c = self.containers.get(node)
            if c is None:
                return self.error(100, f"Unsupported get request. Object with ID '{node}' does "
                                       "not exist.", type_="GraphMethodException", subcode=33)
            if c.blob.complete and c.polls_left > 0:
                c.polls_left -= 1
            state = self._state(c)
            if c.media_id is not None and c.lag_left > 0:
                c.lag_left -= 1
            out: dict[str, Any] = {"id": c.id, "status_code": state}
            if state == "ERROR":
                out["status"] = f"Error: {c.error} (2207053)"
            elif state == "EXPIRED":
                out["status"] = "Expired: not published within 24 hours"
            return Response(200, out)

    @staticmethod
    def _media_fields(m: dict[str, Any], fields: str) -> dict[str, Any]:
        wanted = {f.strip() for f in fields.split(",")}
        out: dict[str, Any] = {"id": m["id"]}
        for key in ("caption", "permalink", "timestamp"):
            if key in wanted:
                out[key] = m[key]
        if "media_product_type" in wanted:
            out["media_product_type"] = "REELS"
        return out

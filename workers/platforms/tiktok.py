"""TikTok Content Posting API, Direct Post with ``FILE_UPLOAD``.

Every step is sourced in docs/platforms/tiktok.md (PLATFORM-APIS.md §5, developers.tiktok.com:
content-posting-api-reference-direct-post, media-transfer-guide, get-video-status,
query-creator-info, oauth refresh, error handling), with the points the documents leave open.

    POST /v2/post/publish/creator_info/query/   privacy options, max duration, username
    POST /v2/post/publish/video/init/           post_info + source_info -> publish_id, upload_url
    PUT  {upload_url}                           one chunk, ``Content-Range``, in order; 206 / 201
    POST /v2/post/publish/status/fetch/         PROCESSING_UPLOAD ... PUBLISH_COMPLETE | FAILED
    POST /v2/oauth/token/                       refresh; the refresh token ROTATES

``init`` commits to a post: once the bytes arrive TikTok publishes by itself
(``SPEC.upload_publishes``: the orchestrator starts the upload at the slot, never before). So
``upload`` records ``publish_id`` and ``upload_url`` before the first chunk and never calls
``init`` again while a ``publish_id`` is recorded; it resumes from the bytes TikTok reports
(``uploaded_bytes``) or, where the status leaves them out, from the recorded chunk count -- and
then the first chunk sent again may be one TikTok already holds (its answer was lost): if TikTok
refuses it, the next chunk is tried (the last one: the upload counts as complete and the status
tells). Any 2xx answers a chunk (206/201 by third-party code, 200 or 201 under other readings).
(An ``init`` whose answer was lost may be sent again: a publish id that never receives bytes
cannot become a post.) ``publish`` only confirms; ``poll`` reports PUBLISHED at
``PUBLISH_COMPLETE``. ``Published.public`` is True once TikTok gives the public post id (after
moderation) and for a ``SELF_ONLY`` post, which never gets one and is as public as it will be.

Chunk rules (media transfer guide): ``total_chunk_count = floor(video_size / chunk_size)``; each
chunk 5–64 MB except the last, which takes the remainder (up to 128 MB); videos under 5 MB in one
chunk; at most 1000 chunks; sequential. :func:`plan_chunks` implements them.

Account options (``self.opts``: ``TikTokOptions`` of ``episodes.capabilities.tiktok``, which
holds the defaults and bounds): ``audited`` (default false: an unaudited app may only post
``SELF_ONLY``), ``privacy_level`` (default ``PUBLIC_TO_EVERYONE``; used when audited and only if
creator info offers it), ``chunk_size`` (default 10 000 000 bytes, at most 64 000 000; real TikTok
needs 5–64 MB, smaller only against the sandbox), ``poll_interval`` (default 10 s), ``web_base``
(default ``https://www.tiktok.com``, for post links).

Secrets: ``access_token``, ``refresh_token``, ``client_key``, ``client_secret``. After a refresh
both new tokens are persisted with one ``credentials.update`` before the new access token is used.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from episodes.capabilities.text import LIMITS, TIKTOK_TITLE_MAX
from episodes.capabilities.tiktok import TikTokOptions

from .base import (
    Platform,
    PlatformSpec,
    PostContext,
    Processing,
    ProcessingState,
    Published,
    register,
)
from .errors import (
    CredentialsExpired,
    PermanentError,
    PlatformError,
    PlatformUnavailable,
    ProcessingFailed,
    ProtocolError,
    QuotaExhausted,
    RateLimited,
    RejectedByPlatform,
)
from .http import PlatformHTTP, retry_after_seconds
from .tiktok_chunks import FileSlice, chunk_range, plan_chunks

NAME = "tiktok"
TITLE_MAX = TIKTOK_TITLE_MAX  # UTF-16 code units (episodes/capabilities/text.py)
PRIVATE = "SELF_ONLY"
_REFRESH_LOCK = threading.Lock()
_AUTH_CODES = {"access_token_invalid", "scope_not_authorized", "scope_permission_missed",
               "invalid_grant", "invalid_client", "unauthorized_client"}
_REASONS_DE = {
    "spam_risk_user_banned_from_posting": "das TikTok-Konto darf derzeit nichts veröffentlichen",
    "unaudited_client_can_only_post_to_private_accounts":
        "die wtg-App ist von TikTok noch nicht geprüft und darf nur privat (SELF_ONLY) an ein "
        "privates Konto posten; bitte Kontoeinstellung 'audited' prüfen",
    "privacy_level_option_mismatch":
        "die gewählte Sichtbarkeit bietet dieses TikTok-Konto nicht an",
    "url_ownership_unverified": "die Domain der Video-Adresse ist bei TikTok nicht verifiziert",
    "invalid_file_upload": "TikTok hat die Videodatei oder einen Teil davon nicht angenommen",
}


class UploadExpired(PermanentError):
    """The upload URL expired (or TikTok gave up) before all bytes arrived. No second post is
    started automatically: staff decide (needs attention)."""

    kind = "upload_expired"

    def _default_message_de(self) -> str:
        return (
            "TikTok: die Upload-Adresse ist abgelaufen, bevor das Video vollständig übertragen "
            "war. wtg legt nicht von selbst einen zweiten Beitrag an. Bitte in TikTok prüfen, "
            "dass kein Beitrag entstanden ist, und den Beitrag in wtg neu freigeben."
        )


def classify(status: int, body: Any, headers: Mapping[str, str]) -> PlatformError | None:
    """TikTok's answer as a typed error (None when fine). Pure; tested from a table."""
    code, message = _error(body)
    if status < 400 and code in ("", "ok"):
        return None
    detail = message or code or f"HTTP {status}"
    kw: dict[str, Any] = {"status": status, "code": code or None}
    if code in _AUTH_CODES or (status == 401 and not code):
        return CredentialsExpired(NAME, detail, **kw)
    if code == "rate_limit_exceeded" or status == 429:
        wait = retry_after_seconds(headers)
        return RateLimited(NAME, detail, retry_after=60.0 if wait is None else wait, **kw)
    if code in ("spam_risk_too_many_posts", "reached_active_user_cap"):
        return QuotaExhausted(
            NAME, detail, **kw,
            message_de="TikTok: das tägliche Beitragslimit dieses Kontos ist erreicht. Der "
                       "Beitrag wartet und wird später erneut versucht.",
        )
    if code == "internal_error" or status >= 500:
        return PlatformUnavailable(NAME, detail, **kw)
    if code == "invalid_params":
        return ProtocolError(NAME, detail, **kw)
    reason = _REASONS_DE.get(code, detail)
    return RejectedByPlatform(
        NAME, detail, **kw,
        message_de=f"TikTok hat den Beitrag abgelehnt: {reason}. Der Beitrag wartet auf Prüfung.",
    )


def _error(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        return "", str(body or "")[:300]
    err = body.get("error")
    if isinstance(err, dict):
        return str(err.get("code") or ""), str(err.get("message") or "")
    if isinstance(err, str):  # the OAuth endpoint: {"error": "invalid_grant", ...}
        return err, str(body.get("error_description") or "")
    return "", ""


@register
class TikTok(Platform):
    SPEC = PlatformSpec(
        name=NAME,
        label="TikTok",
        text=LIMITS["tiktok"],  # episodes/capabilities/text.py
        chunk_size=TikTokOptions.model_fields["chunk_size"].default,  # the option's default
        refreshable_tokens=True,
        upload_publishes=True,
        processing_deadline=3600.0,  # status page: < 30 s for 512 MB, > 2 min for 4 GB
        confirm_deadline=3 * 3600.0,  # moderation "usually within one minute ... a few hours"
    )

    opts: TikTokOptions

    def __init__(self, account: Any, credentials: Any) -> None:
        super().__init__(account, credentials)
        self.http = PlatformHTTP(NAME, account.api_base, classify)

    # --- tokens ---------------------------------------------------------------------------
    def _api(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST JSON with the access token; on ``access_token_invalid`` refresh once."""
        for attempt in (1, 2):
            token = self.credentials.require("access_token")
            headers = {"Authorization": f"Bearer {token}",
                       "Content-Type": "application/json; charset=UTF-8"}
            try:
                return self.http.json("POST", path, json=dict(payload), headers=headers)
            except CredentialsExpired as exc:
                if attempt == 2 or exc.code != "access_token_invalid":
                    raise
                self._refresh(stale_access=token)
        raise AssertionError("unreachable")

    def _refresh(self, *, stale_access: str) -> None:
        with _REFRESH_LOCK:
            if self.credentials.get("access_token") != stale_access:
                return  # refreshed meanwhile by another call
            old = self.credentials.get("refresh_token")
            if not old:
                raise CredentialsExpired(NAME, "no refresh token", code="no_refresh_token")
            form = {
                "client_key": self.credentials.require("client_key"),
                "client_secret": self.credentials.require("client_secret"),
                "grant_type": "refresh_token",
                "refresh_token": old,
            }
            try:
                body = self.http.json("POST", "/v2/oauth/token/", data=form)
            except CredentialsExpired:
                if self.credentials.get("refresh_token") not in (None, old):
                    return  # another process rotated first; its tokens are stored now
                raise
            access, refresh = str(body["access_token"]), str(body["refresh_token"])
            # persist BOTH before using either: the old refresh token is dead from now on
            try:
                self.credentials.update({"access_token": access, "refresh_token": refresh})
            except (OSError, RuntimeError) as exc:
                raise CredentialsExpired(
                    NAME, f"rotated tokens not stored: {type(exc).__name__}", code="not_stored",
                    message_de="TikTok hat neue Zugangstokens ausgegeben, wtg konnte sie aber "
                               "nicht speichern (Verzeichnis für Zugangsdaten prüfen). Bitte das "
                               "TikTok-Konto neu verbinden; der Beitrag wartet.",
                ) from exc

    # --- hooks ----------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        self._api("/v2/post/publish/creator_info/query/", {})

    def _upload(self, ctx: PostContext) -> None:
        if ctx.remote.get("publish_id"):
            self._resume(ctx)
            return
        creator = self._api("/v2/post/publish/creator_info/query/", {})["data"]
        privacy = self._privacy(creator)
        max_seconds = creator.get("max_video_post_duration_sec")
        if ctx.video.duration and max_seconds and ctx.video.duration > float(max_seconds):
            raise RejectedByPlatform(
                NAME, f"duration {ctx.video.duration:.0f}s > {max_seconds}s", code="too_long",
                message_de=f"TikTok: das Video ist {ctx.video.duration:.0f} Sekunden lang, dieses "
                           f"Konto erlaubt höchstens {max_seconds} Sekunden.",
            )
        size = ctx.video.size
        chunk_size, count = plan_chunks(size, self.opts.chunk_size)
        payload = {
            "post_info": {
                "title": ctx.text.body,
                "privacy_level": privacy,
                "disable_comment": bool(creator.get("comment_disabled", False)),
                "disable_duet": bool(creator.get("duet_disabled", False)),
                "disable_stitch": bool(creator.get("stitch_disabled", False)),
                "video_cover_timestamp_ms": 1000,
            },
            "source_info": {"source": "FILE_UPLOAD", "video_size": size,
                            "chunk_size": chunk_size, "total_chunk_count": count},
        }
        data = self._api("/v2/post/publish/video/init/", payload)["data"]
        ctx.record({
            "publish_id": str(data["publish_id"]), "upload_url": str(data["upload_url"]),
            "chunk_size": chunk_size, "total_chunk_count": count, "video_size": size,
            "privacy_level": privacy, "username": str(creator.get("creator_username") or ""),
            "chunks_done": 0,
        })
        self._send_chunks(ctx, str(data["upload_url"]), chunk_size, count, 0)

    def _resume(self, ctx: PostContext) -> None:
        r = ctx.remote
        if r.get("upload_done"):
            return
        chunk_size, count, size = (int(r["chunk_size"]), int(r["total_chunk_count"]),
                                   int(r["video_size"]))
        if size != ctx.video.size:
            raise ProtocolError(NAME, f"recorded size {size} != file size {ctx.video.size}")
        status = self._status(str(r["publish_id"]))
        uploaded = status.get("uploaded_bytes")
        complete = isinstance(uploaded, int) and uploaded >= size
        if status.get("status") == "FAILED":
            reason = str(status.get("fail_reason") or "failed")
            error = ProcessingFailed if complete else UploadExpired
            raise error(NAME, reason, code=reason)
        if complete or status.get("status") == "PUBLISH_COMPLETE":
            ctx.record({"upload_done": True, "chunks_done": count})
            return
        if isinstance(uploaded, int):  # TikTok says what it holds: no doubt about any chunk
            self._send_chunks(ctx, str(r["upload_url"]), chunk_size, count,
                              min(uploaded // chunk_size, count - 1))
        else:  # only our record: the chunk after it may have arrived with its answer lost
            self._send_chunks(ctx, str(r["upload_url"]), chunk_size, count,
                              int(r.get("chunks_done", 0)), maybe_held=True)

    def _send_chunks(self, ctx: PostContext, url: str, chunk_size: int, count: int,
                     first: int, *, maybe_held: bool = False) -> None:
        """PUT chunks ``first``..``count-1`` in order. ``maybe_held``: TikTok may already hold
        chunk ``first`` (a lost answer); if it refuses it, go on with the next one."""
        size, index = ctx.video.size, first
        while index < count:
            start, end = chunk_range(index, size, chunk_size, count)
            headers = {"Content-Type": ctx.video.mime,
                       "Content-Range": f"bytes {start}-{end - 1}/{size}"}
            try:
                self.http.request("PUT", url, data=FileSlice(ctx.video.path, start, end),
                                  headers=headers, ok=(200, 201, 206), timeout=(5.0, 300.0))
            except RejectedByPlatform as exc:
                if exc.status in (403, 404, 410):
                    raise UploadExpired(NAME, exc.detail, status=exc.status) from exc
                if not (maybe_held and index == first and exc.status in (400, 409, 416)):
                    raise
                maybe_held = False  # refused: TikTok most likely holds it already
                if index + 1 < count:
                    index += 1  # the next chunk tells: taken (it had it) or refused (raise)
                    continue
                end = size  # the last chunk: the status will tell whether TikTok has it all
            done = index + 1 == count
            ctx.record({"chunks_done": index + 1, "offset": end, **({"upload_done": True}
                                                                    if done else {})})
            if ctx.progress:
                ctx.progress(end, size)
            index += 1

    def _poll(self, ctx: PostContext) -> Processing:
        status = self._status(str(ctx.remote["publish_id"]))
        state = status.get("status")
        if state == "PUBLISH_COMPLETE":
            self._record_post(ctx, status)
            return Processing(state=ProcessingState.PUBLISHED)
        self._raise_terminal(status)
        return Processing(state=ProcessingState.PENDING, detail=str(state),
                          retry_after=self.opts.poll_interval)

    @staticmethod
    def _raise_terminal(status: Mapping[str, Any]) -> None:
        if status.get("status") == "FAILED":
            reason = str(status.get("fail_reason") or "")
            raise ProcessingFailed(NAME, reason, code=reason or None)
        if status.get("status") == "SEND_TO_USER_INBOX":  # a draft, not a post
            raise ProcessingFailed(NAME, "sent to the user's inbox", code="sent_to_inbox",
                                   message_de=(
                "TikTok hat das Video nur als Entwurf in den Posteingang des Kontos gelegt, "
                "nicht veröffentlicht. Bitte in der TikTok-App prüfen und dort veröffentlichen "
                "oder verwerfen."))

    def _publish(self, ctx: PostContext) -> Published:
        found = self._find_published(ctx)
        if found is not None:
            return found
        raise PlatformUnavailable(
            NAME, "still processing", code="processing",
            message_de="TikTok verarbeitet das Video noch; wtg prüft gleich erneut.",
        )

    def _find_published(self, ctx: PostContext) -> Published | None:
        publish_id = ctx.remote.get("publish_id")
        if not publish_id:
            return None
        try:
            status = self._status(str(publish_id))
        except RejectedByPlatform as exc:  # a read-only lookup never rejects the post
            raise PlatformUnavailable(
                NAME, f"status lookup failed: {exc.detail}", status=exc.status,
                code="lookup_failed", message_de=(
                    "TikTok beantwortet die Nachfrage nach dem Beitrag gerade nicht. Das sagt "
                    "nichts über den Beitrag selbst; wtg fragt später erneut.")) from exc
        self._raise_terminal(status)
        if status.get("status") != "PUBLISH_COMPLETE":
            return None
        return self._record_post(ctx, status)

    # --- helpers --------------------------------------------------------------------------
    def _status(self, publish_id: str) -> dict[str, Any]:
        data = self._api("/v2/post/publish/status/fetch/", {"publish_id": publish_id})["data"]
        if not isinstance(data, dict):
            raise ProtocolError(NAME, "status without data")
        return data

    def _record_post(self, ctx: PostContext, status: Mapping[str, Any]) -> Published:
        ids = status.get("publicaly_available_post_id") or []
        publish_id = str(ctx.remote["publish_id"])
        if not ids:  # moderation still running -- or SELF_ONLY, which never gets a public id
            private = ctx.remote.get("privacy_level") == PRIVATE
            return Published(remote_id=publish_id, url="", public=private)
        post_id = str(ids[0])
        web = self.opts.web_base
        user = ctx.remote.get("username") or ""
        url = f"{web}/@{user}/video/{post_id}"
        if ctx.remote.get("post_id") != post_id:
            ctx.record({"post_id": post_id, "post_url": url})
        # the publish id stays the remote id (known from init on, stable while moderation
        # runs); the public post id is in the URL and recorded as ``post_id``
        return Published(remote_id=publish_id, url=url, public=True)

    def _privacy(self, creator: Mapping[str, Any]) -> str:
        offered = [str(x) for x in creator.get("privacy_level_options") or []]
        wanted = self.opts.privacy_level if self.opts.audited else PRIVATE
        if wanted not in offered:
            raise RejectedByPlatform(
                NAME, f"privacy {wanted} not in {offered}", code="privacy_level_option_mismatch",
                message_de=(
                    f"TikTok: dieses Konto bietet die Sichtbarkeit {wanted} nicht an (angeboten: "
                    f"{', '.join(offered) or 'keine'}). Bitte Konto- oder wtg-Einstellung "
                    "'privacy_level'/'audited' prüfen."
                ),
            )
        return wanted


__all__ = ["TikTok", "UploadExpired", "chunk_range", "classify", "plan_chunks"]

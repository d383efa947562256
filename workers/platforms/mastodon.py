"""Mastodon: one multipart media upload, a poll until processed, one status with the video.

Protocol (mastodon/documentation ``methods/media.md``, ``methods/statuses.md``):

    POST /api/v2/media            multipart ``file`` + ``description`` (alt text) -> 202, url null
    GET  /api/v1/media/:id        206 while processing, 200 with non-null ``url`` when done
    POST /api/v1/statuses         ``media_ids[]``, ``language=de``, ``visibility``, optional
                                  ``scheduled_at`` (>= 5 min ahead), ``Idempotency-Key`` header:
                                  the same key within 1 h returns the same status, never a second

Account options (``account.options``):

    visibility       public | unlisted | private | direct (default ``public``)
    max_characters   the instance's status limit; overrides what ``check_credentials`` read from
                     ``/api/v2/instance`` (default 500)
    poll_interval    seconds suggested between media polls (default 5)
    account_id       the posting account's id; read from ``verify_credentials`` when missing

Secret: ``access_token`` (scopes ``write:media write:statuses read:accounts read:statuses``).
Mastodon tokens do not expire; a revoked one gives 401 -> ``CredentialsExpired``.

Recorded in ``ctx.remote``: ``media_id``, ``media_ready``, ``status_attempt_at`` (written *before*
the status POST, so reconciliation knows whether the idempotency window is still open),
``status_id``, ``status_url``, ``scheduled``.

Reconciliation (``find_published``): a recorded ``status_id`` is confirmed with a GET (a deleted
status raises instead of posting again); within 55 minutes of a recorded attempt the status POST
is re-sent with the same Idempotency-Key (the documented way: it returns the existing status, or
completes the interrupted publish exactly once); later, the account's scheduled and recent
statuses are searched for our media id or the post's marker.

Memory: the multipart body is produced by :class:`MultipartFile`, which streams the video from
disk in ``SPEC.chunk_size`` blocks with a known Content-Length; nothing holds the whole file.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from episodes.captions import LengthUnit, TextLimits

from .base import (
    Orientation,
    Platform,
    PlatformSpec,
    PostContext,
    Processing,
    ProcessingState,
    Published,
    VideoSpec,
    register,
)
from .errors import (
    CredentialsExpired,
    PlatformError,
    PlatformUnavailable,
    ProcessingFailed,
    RateLimited,
    RejectedByPlatform,
)
from .http import PlatformHTTP, read_chunks, retry_after_seconds

NAME = "mastodon"
#: the server keeps Idempotency-Keys for 1 h; stay clear of the edge
IDEMPOTENCY_WINDOW = timedelta(minutes=55)
#: ``scheduled_at`` must be at least 5 minutes ahead; closer than this we post at once
MIN_SCHEDULE_LEAD = timedelta(minutes=6)
VISIBILITIES = ("public", "unlisted", "private", "direct")
DESCRIPTION_LIMIT = 1500
_NOT_READY = "not finished processing"
_SEARCH_PAGES = 5


def classify(status: int, body: Any, headers: Mapping[str, str]) -> PlatformError | None:
    """Mastodon's answer as a typed error (None when fine). Pure; tested from a table."""
    if status < 400:
        return None
    message = body.get("error", "") if isinstance(body, dict) else str(body or "")[:300]
    if status == 401:
        return CredentialsExpired(NAME, message, status=status)
    if status == 403:
        return CredentialsExpired(
            NAME, message, status=status,
            message_de=(
                "Mastodon verweigert den Zugriff: das Konto ist gesperrt, noch nicht bestätigt "
                "oder dem Zugangstoken fehlt eine Berechtigung (write:media, write:statuses). "
                "Bitte das Konto prüfen; der Beitrag wartet."
            ),
        )
    if status == 429:
        wait = retry_after_seconds(headers)
        return RateLimited(NAME, message or "too many requests", status=status,
                           retry_after=300.0 if wait is None else wait)
    if status == 422 and _NOT_READY in message:
        return PlatformUnavailable(
            NAME, message, status=status, code="media_not_ready",
            message_de="Mastodon verarbeitet das Video noch. wtg versucht es gleich erneut.",
        )
    if status >= 500:
        return PlatformUnavailable(NAME, message or f"server error {status}", status=status)
    if status == 413:
        return RejectedByPlatform(
            NAME, message or "file too large", status=status,
            message_de="Mastodon: das Video ist für diesen Server zu groß. Bitte kürzer oder "
                       "kleiner exportieren.",
        )
    return RejectedByPlatform(
        NAME, message, status=status,
        message_de=f"Mastodon hat den Beitrag abgelehnt: {message or 'ohne Begründung'}. "
                   "Bitte Video und Text prüfen.",
    )


class MultipartFile:
    """A multipart/form-data body streamed from disk, with a known length.

    requests sends an object with ``__iter__`` and ``__len__`` as a stream with that
    Content-Length, so only one block of the file is in memory at a time.
    """

    def __init__(
        self, fields: list[tuple[str, str]], *, file_field: str, path: Path, size: int,
        mime: str, filename: str = "video.mp4", block: int = 1024 * 1024,
    ) -> None:
        self.boundary = "wtg-" + secrets.token_hex(16)
        self.path, self.size, self.block = path, size, block
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n" for name, value in fields
        ]
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
        )
        self.head = "".join(parts).encode("utf-8")
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as fh:
            for _offset, data in read_chunks(fh, 0, self.size, self.block):
                yield data
        yield self.tail


@register
class Mastodon(Platform):
    SPEC = PlatformSpec(
        name=NAME,
        label="Mastodon",
        text=TextLimits(body_max=500, body_unit=LengthUnit.MASTODON, url_weight=23),
        video=VideoSpec(
            orientations=(Orientation.LANDSCAPE, Orientation.VERTICAL, Orientation.SQUARE),
            max_bytes=99 * 1024 * 1024,  # mastodon.social's video_size_limit; older: 40 MiB
            min_seconds=0.5,
            max_seconds=3600.0,
            captions="burned",  # no subtitle API; the description is the alt text
        ),
        chunk_size=1024 * 1024,  # read block for the streamed multipart body
        native_scheduling=True,
    )

    def __init__(self, account: Any, credentials: Any) -> None:
        super().__init__(account, credentials)
        self.http = PlatformHTTP(NAME, account.api_base, classify)
        self._instance_max: int | None = None
        self._account_id: str | None = None

    # --- helpers --------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.require('access_token')}"}

    def _visibility(self) -> str:
        value = str(self.account.options.get("visibility", "public"))
        if value not in VISIBILITIES:
            raise RejectedByPlatform(
                NAME, f"visibility {value!r}", code="bad_option",
                message_de=f"Mastodon-Konto {self.account.name}: Sichtbarkeit {value!r} gibt es "
                           f"nicht (erlaubt: {', '.join(VISIBILITIES)}). Bitte Einstellung prüfen.",
            )
        return value

    def text_limits(self) -> TextLimits:
        option = self.account.options.get("max_characters")
        body_max = int(option) if option else (self._instance_max or self.SPEC.text.body_max)
        if body_max == self.SPEC.text.body_max:
            return self.SPEC.text
        return TextLimits(body_max=body_max, body_unit=LengthUnit.MASTODON, url_weight=23)

    def _poll_interval(self) -> float:
        return float(self.account.options.get("poll_interval", 5.0))

    def _own_account_id(self) -> str:
        if self._account_id is None:
            configured = self.account.options.get("account_id")
            if configured:
                self._account_id = str(configured)
            else:
                me = self.http.json("GET", "/api/v1/accounts/verify_credentials",
                                    headers=self._auth())
                self._account_id = str(me["id"])
        return self._account_id

    # --- hooks ----------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        me = self.http.json("GET", "/api/v1/accounts/verify_credentials", headers=self._auth())
        self._account_id = str(me["id"])
        try:
            info = self.http.json("GET", "/api/v2/instance", headers=self._auth())
        except RejectedByPlatform:  # very old servers have no v2 instance: keep the default
            return
        limit = info.get("configuration", {}).get("statuses", {}).get("max_characters")
        if isinstance(limit, int) and limit > 0:
            self._instance_max = limit

    def _upload(self, ctx: PostContext) -> None:
        if ctx.remote.get("media_id"):
            return  # a single request: once the id is recorded the server holds all bytes
        text = ctx.text.title or ctx.text.body
        body = MultipartFile(
            [("description", text[:DESCRIPTION_LIMIT])],
            file_field="file", path=ctx.video.path, size=ctx.video.size, mime=ctx.video.mime,
            block=self.SPEC.chunk_size,
        )
        headers = {**self._auth(), "Content-Type": body.content_type}
        # an upload whose answer is lost leaves an unattached media on the server, which
        # Mastodon removes by itself; uploading again is harmless
        media = self.http.json("POST", "/api/v2/media", data=body, headers=headers,
                               timeout=(5.0, 300.0))
        ready = bool(media.get("url"))
        ctx.record({"media_id": str(media["id"]), "media_ready": ready})
        if ctx.progress:
            ctx.progress(ctx.video.size, ctx.video.size)

    def _poll(self, ctx: PostContext) -> Processing:
        if ctx.remote.get("status_id"):
            return Processing(state=ProcessingState.PUBLISHED)
        media_id = ctx.remote["media_id"]
        try:
            resp = self.http.request("GET", f"/api/v1/media/{media_id}", headers=self._auth())
        except RejectedByPlatform as exc:
            if exc.status == 422:
                raise ProcessingFailed(NAME, exc.detail, status=422) from exc
            raise
        media = resp.json()
        if resp.status_code == 200 and media.get("url"):
            ctx.record({"media_ready": True})
            return Processing(state=ProcessingState.READY)
        return Processing(state=ProcessingState.PENDING, detail="processing",
                          retry_after=self._poll_interval())

    def _publish(self, ctx: PostContext) -> Published:
        if not ctx.remote.get("media_ready"):
            # never attach unprocessed media (the server answers 422): look once more first
            state = self._poll(ctx)
            if state.state is ProcessingState.PENDING:
                raise PlatformUnavailable(
                    NAME, "media still processing", code="media_not_ready",
                    message_de="Mastodon verarbeitet das Video noch; wtg veröffentlicht, sobald "
                               "es fertig ist.",
                )
        ctx.record({"status_attempt_at": datetime.now(UTC).isoformat()})
        return self._post_status(ctx)

    def _post_status(self, ctx: PostContext) -> Published:
        form: list[tuple[str, str]] = [
            ("status", ctx.text.body),
            ("media_ids[]", str(ctx.remote["media_id"])),
            ("visibility", self._visibility()),
            ("language", ctx.text.language or "de"),
        ]
        if ctx.scheduled_at and ctx.scheduled_at - datetime.now(UTC) >= MIN_SCHEDULE_LEAD:
            form.append(("scheduled_at", ctx.scheduled_at.astimezone(UTC).isoformat()))
        headers = {**self._auth(), "Idempotency-Key": ctx.idempotency_key}
        status = self.http.json("POST", "/api/v1/statuses", data=form, headers=headers)
        scheduled = "scheduled_at" in status and "params" in status
        url = "" if scheduled else str(status.get("url") or status.get("uri") or "")
        ctx.record({"status_id": str(status["id"]), "status_url": url, "scheduled": scheduled})
        return Published(remote_id=str(status["id"]), url=url)

    def _find_published(self, ctx: PostContext) -> Published | None:
        status_id = ctx.remote.get("status_id")
        if status_id:
            return self._confirm(ctx, str(status_id))
        attempt = ctx.remote.get("status_attempt_at")
        if not attempt or not ctx.remote.get("media_id"):
            return None  # no status POST was ever sent for this post
        sent = datetime.fromisoformat(str(attempt))
        if datetime.now(UTC) - sent < IDEMPOTENCY_WINDOW:
            # documented reconciliation: the same key returns the status the lost answer held
            return self._post_status(ctx)
        return self._search(ctx)

    def _confirm(self, ctx: PostContext, status_id: str) -> Published:
        path = (f"/api/v1/scheduled_statuses/{status_id}" if ctx.remote.get("scheduled")
                else f"/api/v1/statuses/{status_id}")
        try:
            status = self.http.json("GET", path, headers=self._auth())
        except RejectedByPlatform as exc:
            if exc.status != 404:
                raise
            if ctx.remote.get("scheduled"):  # a scheduled status turns into a status when due
                found = self._search(ctx)
                if found:
                    return found
            raise RejectedByPlatform(
                NAME, f"status {status_id} not found", status=404, code="deleted",
                message_de="Der Mastodon-Beitrag wurde inzwischen gelöscht. wtg veröffentlicht "
                           "ihn nicht erneut; bitte bei Bedarf in wtg neu freigeben.",
            ) from exc
        return Published(remote_id=status_id, url=str(status.get("url") or ""))

    def _search(self, ctx: PostContext) -> Published | None:
        """Our status among the account's recent and scheduled ones: it carries our media id
        (or, failing that, the post's marker in its text)."""
        media_id = str(ctx.remote.get("media_id") or "")
        scheduled = self.http.json("GET", "/api/v1/scheduled_statuses", headers=self._auth())
        for item in scheduled:
            if self._is_ours(ctx, item, media_id):
                ctx.record({"status_id": str(item["id"]), "status_url": "", "scheduled": True})
                return Published(remote_id=str(item["id"]), url="")
        path = f"/api/v1/accounts/{self._own_account_id()}/statuses"
        params: dict[str, str] = {"limit": "40"}
        for _page in range(_SEARCH_PAGES):
            statuses = self.http.json("GET", path, headers=self._auth(), params=params)
            for item in statuses:
                if self._is_ours(ctx, item, media_id):
                    url = str(item.get("url") or "")
                    ctx.record({"status_id": str(item["id"]), "status_url": url,
                                "scheduled": False})
                    return Published(remote_id=str(item["id"]), url=url)
            if len(statuses) < int(params["limit"]):
                break
            params["max_id"] = str(statuses[-1]["id"])
        return None

    @staticmethod
    def _is_ours(ctx: PostContext, item: Mapping[str, Any], media_id: str) -> bool:
        attachments = item.get("media_attachments") or []
        if media_id and any(str(m.get("id")) == media_id for m in attachments):
            return True
        text = str(item.get("content") or item.get("params", {}).get("text") or "")
        return bool(ctx.marker) and ctx.marker in text

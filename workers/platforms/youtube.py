"""YouTube: upload private with Google's resumable protocol, then make the video public.

Every step is sourced in docs/platforms/youtube.md (the conformance table: PLATFORM-APIS.md §3,
the Google pages and google-api-python-client, and where the documents are silent).

Steps (see :mod:`.base`):

* ``upload`` — ``videos.insert`` with ``uploadType=resumable`` and ``privacyStatus=private``;
  the session URL is recorded the moment it is known, the confirmed offset after every chunk
  (chunks of ``chunk_size``, a multiple of 256 KiB, streamed from disk). A later ``upload``
  resumes with the status query (``PUT`` ``Content-Range: bytes */SIZE`` -> ``308`` + ``Range``)
  and trusts only the server's ``Range``. Once a video id was recorded no session is ever
  started again; a session that expired (404/410) is replaced only after the channel's uploads
  show no video carrying the post's marker (a tag).
* ``poll`` — one ``videos.list part=status,processingDetails``.
* ``publish`` — ``videos.update part=status``: ``public``, or with ``ctx.scheduled_at``
  ``private`` + ``publishAt`` (YouTube's own scheduler). Never public at once when
  ``ctx.scheduled_at`` is set: a time nearer than ``min_schedule_lead`` (15 min; nothing is
  documented, and a past ``publishAt`` publishes right away) or YouTube's ``invalidPublishAt``
  raise ``ScheduleTooClose``. Refuses while YouTube is still processing (whether YouTube would
  take it then is undocumented).
* ``find_published`` — the recorded video id, else the marker in the channel's uploads;
  ``public=True`` only for ``privacyStatus == "public"`` (or the account's ``publish_privacy``)
  once processed; ``private`` + ``publishAt`` is ``public=False``; a video never published is
  None. A failing read-only lookup raises ``PlatformUnavailable``, never a rejection.
* finish parts — captions (``de``, needs ``youtube.force-ssl``), thumbnail, playlist
  (:mod:`.youtube_finish`); each recorded, an unconfirmed earlier attempt is looked up before it
  is repeated, and transient errors stay transient (the orchestrator retries).

Remote facts recorded in ``ctx.remote``: ``upload_url``, ``upload_size``, ``upload_sha256``,
``upload_offset``, ``video_id``, ``caption_id``/``caption_pending``, ``thumbnail_set``,
``playlist_item_id``/``playlist_pending``, ``published_url``.
Secrets: ``client_id``, ``client_secret``, ``refresh_token``; ``access_token`` and
``access_token_expires_at`` are rotated and written back with ``credentials.update``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from episodes.capabilities.text import LIMITS
from episodes.capabilities.youtube import YouTubeOptions

from .base import (
    Account,
    Credentials,
    Deleted,
    FinishPart,
    Platform,
    PlatformSpec,
    PostContext,
    Processing,
    ProcessingState,
    Published,
    register,
)
from .errors import (
    PlatformUnavailable,
    ProcessingFailed,
    ProtocolError,
    RejectedByPlatform,
    ScheduleTooClose,
    TransientError,
)
from .youtube_client import PLATFORM, YouTubeClient
from .youtube_finish import finish_caption, finish_playlist, finish_thumbnail
from .youtube_upload import ResumableUpload

#: native scheduling only this far ahead (seconds). Nothing is documented; a publishAt that has
#: passed publishes right away, so a margin for clock skew, the request and YouTube's own
#: scheduler is kept -- nearer than this wtg makes the video public at the slot itself
MIN_SCHEDULE_LEAD = 15 * 60.0

_FAILURE_DE = {
    "codec": "der Video- oder Audiocodec wird nicht unterstützt",
    "conversion": "die Umwandlung ist fehlgeschlagen",
    "emptyFile": "die Datei ist leer",
    "invalidFile": "die Datei ist kein gültiges Video",
    "tooSmall": "die Datei ist zu klein",
    "uploadAborted": "der Upload wurde abgebrochen",
    "duplicate": "YouTube hält es für ein Duplikat eines schon hochgeladenen Videos",
    "length": "es ist zu lang für diesen Kanal",
    "copyright": "es verletzt laut YouTube Urheberrechte",
    "claim": "es gibt einen Rechteanspruch darauf",
    "inappropriate": "YouTube stuft den Inhalt als unangemessen ein",
    "termsOfUse": "es verstößt laut YouTube gegen die Nutzungsbedingungen",
}


@register
class YouTube(ResumableUpload, Platform):
    SPEC = PlatformSpec(
        name=PLATFORM,
        label="YouTube",
        text=LIMITS["youtube"],  # episodes/capabilities/text.py
        chunk_size=YouTubeOptions.model_fields["chunk_size"].default,  # the option's default
        native_scheduling=True,
        min_schedule_lead=MIN_SCHEDULE_LEAD,
        max_schedule_lead=None,  # none documented
        refreshable_tokens=True,
        confirm_deadline=3600.0,  # YouTube flips private -> public at publishAt
    )

    opts: YouTubeOptions

    def __init__(self, account: Account, credentials: Credentials,
                 session: requests.Session | None = None) -> None:
        super().__init__(account, credentials)
        self.client = YouTubeClient(account, credentials, session, opts=self.opts)

    # --- text ---------------------------------------------------------------------------------
    # --- steps --------------------------------------------------------------------------------
    def _check_credentials(self) -> None:
        self._uploads_playlist(None)

    def _upload(self, ctx: PostContext) -> None:
        if ctx.remote.get("video_id"):
            return  # YouTube holds the whole file; never a second video for this post
        url = ctx.remote.get("upload_url")
        if url and ctx.remote.get("upload_sha256") not in (None, ctx.video.sha256):
            url = None  # the rendition changed before any video existed: a new session
        offset = 0
        if url:
            try:
                offset = self._query_offset(ctx, url)
            except RejectedByPlatform as exc:
                if exc.status not in (404, 410):
                    raise
                found = self._find_by_marker(ctx)  # the expired session may have finished
                if found is not None:
                    ctx.record({"video_id": found["id"]})
                    return
                url = None
            if offset is None:
                return  # the status query said: complete (video id recorded)
        if not url:
            problems = self.check_text(ctx.text)
            if problems:
                raise RejectedByPlatform(PLATFORM, "; ".join(problems), code="text",
                                         message_de=" ".join(problems))
            url, offset = self._start_session(ctx), 0
        self._send(ctx, url, offset)

    def _poll(self, ctx: PostContext) -> Processing:
        video = self._video(ctx, _video_id(ctx), "status,processingDetails")
        if video is None:
            raise ProcessingFailed(PLATFORM, "video not found", code="deleted", message_de=(
                "Das hochgeladene Video ist auf YouTube nicht mehr vorhanden (gelöscht?)."))
        status = video.get("status") or {}
        state = status.get("uploadStatus")
        if state == "processed":
            public = status.get("privacyStatus") == "public"
            return Processing(state=ProcessingState.PUBLISHED if public else ProcessingState.READY,
                              detail="processed")
        if state == "uploaded":
            progress = (video.get("processingDetails") or {}).get("processingProgress") or {}
            left = float(progress.get("timeLeftMs", 5000)) / 1000
            return Processing(state=ProcessingState.PENDING,
                              detail=f"{progress.get('partsProcessed', '?')}/"
                                     f"{progress.get('partsTotal', '?')}",
                              retry_after=min(60.0, max(5.0, left)))
        raise _processing_failed(status)

    def _publish(self, ctx: PostContext) -> Published:
        vid = _video_id(ctx)
        video = self._video(ctx, vid, "status")
        if video is None:
            raise ProcessingFailed(PLATFORM, "video not found", code="deleted")
        current = video.get("status") or {}
        at = ctx.scheduled_at
        seen = _visibility(current, self.opts.publish_privacy)
        if seen == "public":
            return self._published(ctx, vid, public=True)  # an earlier publish went through
        if at is not None and current.get("publishAt") and _same_time(current["publishAt"], at):
            return self._published(ctx, vid, public=False)  # handed over already
        if current.get("uploadStatus") != "processed":
            if current.get("uploadStatus") in ("failed", "rejected", "deleted"):
                raise _processing_failed(current)
            raise TransientError(PLATFORM, "still processing", code="notProcessed", message_de=(
                "YouTube verarbeitet das Video noch; wtg veröffentlicht es, sobald es fertig ist."))
        if at is None:
            status = self._status(self.opts.publish_privacy)
        else:
            status = self._status("private")
            status["publishAt"] = self._publish_at(at)
        try:
            self.client.call(ctx.quota, "videos.update", "PUT", self.client.api("videos"),
                             params={"part": "status"}, json={"id": vid, "status": status})
        except RejectedByPlatform as exc:
            if at is not None and exc.code == "invalidPublishAt":
                raise ScheduleTooClose(PLATFORM, exc.detail, code=exc.code,
                                       status=exc.status) from exc
            raise
        return self._published(ctx, vid, public=at is None)

    def _publish_at(self, at: datetime) -> str:
        """``publishAt`` for ``at`` (whole seconds, rounded up), or ScheduleTooClose when ``at``
        is too near: a past publishAt would make the video public at once."""
        lead = (at - datetime.now(UTC)).total_seconds()
        minimum = self.min_schedule_lead()
        if lead < minimum:
            raise ScheduleTooClose(PLATFORM, f"publishAt only {lead:.0f}s ahead (minimum "
                                   f"{minimum:.0f}s)", code="too_close")
        whole = at.astimezone(UTC).replace(microsecond=0)
        whole += timedelta(seconds=1 if at.microsecond else 0)
        return whole.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _find_published(self, ctx: PostContext) -> Published | None:
        try:
            vid = ctx.remote.get("video_id")
            if vid:
                video = self._video(ctx, vid, "status")
            else:
                video = self._find_by_marker(ctx)
                if video is not None:
                    vid = video["id"]
                    ctx.record({"video_id": vid})
        except RejectedByPlatform as exc:  # a read-only lookup never rejects the post
            raise PlatformUnavailable(
                PLATFORM, f"lookup failed: {exc.detail}", code="lookup_failed",
                status=exc.status, message_de=(
                    f"YouTube beantwortet die Nachfrage nach dem Video gerade nicht "
                    f"({exc.message_de}). Das sagt nichts über das Video selbst; wtg fragt "
                    "später erneut.")) from exc
        if video is None:
            return None
        seen = _visibility(video.get("status") or {}, self.opts.publish_privacy)
        if seen == "none":
            return None  # uploaded, never published
        return self._published(ctx, str(vid), public=seen == "public")

    def _finish_parts(self, ctx: PostContext) -> list[FinishPart]:
        parts = []
        if ctx.captions_srt is not None:
            parts.append(FinishPart.CAPTIONS)
        if ctx.thumbnail is not None:
            parts.append(FinishPart.THUMBNAIL)
        if ctx.playlist_id:
            parts.append(FinishPart.PLAYLIST)
        return parts

    def _finish_part(self, ctx: PostContext, part: FinishPart) -> None:
        step = {FinishPart.CAPTIONS: finish_caption, FinishPart.THUMBNAIL: finish_thumbnail,
                FinishPart.PLAYLIST: finish_playlist}[part]
        step(self.client, ctx, _video_id(ctx))

    def _delete(self, ctx: PostContext) -> Deleted:
        """``videos.delete`` (``DELETE /youtube/v3/videos?id=``, 204, 50 units) on the recorded
        video id; 404 ``videoNotFound`` means it was deleted before."""
        vid = ctx.remote.get("video_id")
        if not vid:
            return Deleted(remote_id="", existed=False)  # no upload was ever started
        try:
            self.client.call(ctx.quota, "videos.delete", "DELETE", self.client.api("videos"),
                             params={"id": str(vid)}, ok=(200, 204))
        except RejectedByPlatform as exc:
            if exc.status == 404:
                return Deleted(remote_id=str(vid), existed=False)
            raise
        return Deleted(remote_id=str(vid))

    # --- lookups ------------------------------------------------------------------------------
    def _video(self, ctx: PostContext | None, vid: str, part: str) -> dict[str, Any] | None:
        quota = ctx.quota if ctx else None
        body = self.client.call(quota, "videos.list", "GET", self.client.api("videos"),
                                params={"part": part, "id": vid}).json()
        items = body.get("items") or []
        return items[0] if items else None

    def _uploads_playlist(self, ctx: PostContext | None) -> str:
        quota = ctx.quota if ctx else None
        body = self.client.call(quota, "channels.list", "GET", self.client.api("channels"),
                                params={"part": "contentDetails", "mine": "true"}).json()
        try:
            return str(body["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"])
        except (KeyError, IndexError, TypeError):
            raise RejectedByPlatform(PLATFORM, "no channel", code="channelNotFound", message_de=(
                "Das verbundene Google-Konto hat keinen YouTube-Kanal.")) from None

    def _find_by_marker(self, ctx: PostContext) -> dict[str, Any] | None:
        """The newest upload of the channel whose tags carry ``ctx.marker``."""
        uploads = self._uploads_playlist(ctx)
        items = self.client.call(ctx.quota, "playlistItems.list", "GET",
                                 self.client.api("playlistItems"),
                                 params={"part": "snippet", "playlistId": uploads,
                                         "maxResults": "50"}).json().get("items") or []
        ids = [i["snippet"]["resourceId"]["videoId"] for i in items]
        if not ids:
            return None
        videos = self.client.call(ctx.quota, "videos.list", "GET", self.client.api("videos"),
                                  params={"part": "snippet,status", "id": ",".join(ids)}
                                  ).json().get("items") or []
        for video in videos:
            if ctx.marker in ((video.get("snippet") or {}).get("tags") or []):
                return dict(video)
        return None

    # --- helpers --------------------------------------------------------------------------------
    def _status(self, privacy: str) -> dict[str, Any]:
        """The whole ``status`` part (videos.update replaces it: every field is sent)."""
        return {"privacyStatus": privacy, "selfDeclaredMadeForKids": False,
                "containsSyntheticMedia": self.opts.contains_synthetic_media,
                "embeddable": True, "license": "youtube", "publicStatsViewable": True}

    def _published(self, ctx: PostContext, vid: str, *, public: bool) -> Published:
        url = self.opts.watch_url + vid
        if ctx.remote.get("published_url") != url:
            ctx.record({"published_url": url})
        return Published(remote_id=vid, url=url, public=public)


def _video_id(ctx: PostContext) -> str:
    vid = ctx.remote.get("video_id")
    if not vid:
        raise ProtocolError(PLATFORM, "no video id recorded: upload first")
    return str(vid)


def _visibility(status: dict[str, Any], wanted: str) -> str:
    """``public`` (out: the wanted privacy, processed), ``held`` (YouTube will publish it by
    itself: private + publishAt, or public while still processing) or ``none``."""
    privacy = status.get("privacyStatus")
    if privacy in ("public", wanted) and privacy != "private":
        return "public" if status.get("uploadStatus") == "processed" else "held"
    return "held" if privacy == "private" and status.get("publishAt") else "none"


def _same_time(value: str, at: datetime) -> bool:
    try:
        seen = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return abs((seen - at).total_seconds()) < 2


def _processing_failed(status: dict[str, Any]) -> ProcessingFailed:
    state = status.get("uploadStatus") or "unknown"
    reason = status.get("failureReason") or status.get("rejectionReason") or state
    why = _FAILURE_DE.get(reason, f"Grund: {reason}")
    verb = "abgelehnt" if state == "rejected" else "nicht verarbeiten können"
    return ProcessingFailed(PLATFORM, f"uploadStatus={state} reason={reason}", code=reason,
                            message_de=f"YouTube hat das Video {verb}: {why}. Bitte die "
                                       "Videodatei prüfen und den Beitrag neu einplanen.")


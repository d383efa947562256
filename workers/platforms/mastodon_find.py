"""Mastodon reconciliation: is our status out, only scheduled, or not there at all?

Read-only answers for ``find_published`` (sources and the ambiguous points:
docs/platforms/mastodon.md, "Status and reconciliation"):

* a real status (recorded ``status_id``) is confirmed with ``GET /api/v1/statuses/:id``; a 404
  there does not undo what was seen when it was created (a private status is 404 to a token
  without ``read:statuses``) -> still published;
* a scheduled status (recorded ``scheduled_id``) is ``public=False`` while
  ``GET /api/v1/scheduled_statuses/:id`` answers 200 and the slot has not passed. The server
  publishes it by destroying it and creating a NEW status with a new id, which no endpoint maps
  back: once the slot is due, the account's statuses are searched for our media id (or the
  post's marker) first -- found means ``public=True``, whatever the scheduled lookup says;
* a status POST whose answer was lost: within 55 minutes the POST is replayed with the same
  Idempotency-Key (documented; never for a scheduled post, whose replay the server answers 404),
  later the account's statuses (and scheduled statuses) are searched;
* a listing that fails (404 on ``/api/v1/accounts/:id/statuses`` -- the id is re-read from
  ``verify_credentials`` once, then the home timeline is tried --, 5xx, resets) raises
  ``PlatformUnavailable``: the orchestrator retries until its deadline and never turns a post
  into ``failed`` because a read-only lookup failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import PostContext, Published
from .errors import PlatformUnavailable, RejectedByPlatform, ScheduleTooClose

NAME = "mastodon"
#: the server keeps Idempotency-Keys for 1 h; stay clear of the edge
IDEMPOTENCY_WINDOW = timedelta(minutes=55)
PAGE = 40
STATUS_PAGES = 5  # 200 of the account's newest statuses
SCHEDULED_PAGES = 8  # 320 > the 300 scheduled statuses an account may hold


@dataclass(frozen=True)
class Ids:
    status_id: str | None
    scheduled_id: str | None


class Reconciler:
    """The lookups of one :class:`~workers.platforms.mastodon.Mastodon` adapter."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    @staticmethod
    def ids(ctx: PostContext) -> Ids:
        r = ctx.remote
        status, scheduled = r.get("status_id"), r.get("scheduled_id")
        if status and r.get("scheduled") and not scheduled:  # recorded before scheduled_id
            return Ids(None, str(status))
        return Ids(str(status) if status else None, str(scheduled) if scheduled else None)

    def record_answer(self, ctx: PostContext, body: dict[str, Any]) -> Published:
        """Record what the status POST returned: a Status or a ScheduledStatus."""
        if "scheduled_at" in body and "params" in body:
            sid = str(body["id"])
            ctx.record({"scheduled_id": sid, "scheduled_for": str(body.get("scheduled_at") or ""),
                        "scheduled": True})
            return Published(remote_id=sid, url="", public=False)
        return self._record_status(ctx, body)

    @staticmethod
    def _record_status(ctx: PostContext, body: dict[str, Any]) -> Published:
        sid, url = str(body["id"]), str(body.get("url") or body.get("uri") or "")
        ctx.record({"status_id": sid, "status_url": url})
        return Published(remote_id=sid, url=url, public=True)

    # --- find_published -------------------------------------------------------------------
    def published(self, ctx: PostContext) -> Published | None:
        ids = self.ids(ctx)
        if ids.status_id:
            return self._confirm_status(ctx, ids.status_id)
        if ids.scheduled_id:
            return self._confirm_scheduled(ctx, ids.scheduled_id)
        attempt = ctx.remote.get("status_attempt_at")
        if not attempt or not ctx.remote.get("media_id"):
            return None  # no status POST was ever sent for this post
        sent = _time(attempt)
        if ctx.remote.get("status_attempt_for"):  # a scheduled POST whose answer was lost
            return self._find_lost_scheduled(ctx, sent)
        if datetime.now(UTC) - sent < IDEMPOTENCY_WINDOW:
            return self._replay(ctx, sent)
        return self.search_statuses(ctx, since=sent)

    def _confirm_status(self, ctx: PostContext, sid: str) -> Published:
        recorded = str(ctx.remote.get("status_url") or "")
        try:
            body = self.adapter.json("GET", f"/api/v1/statuses/{sid}")
        except RejectedByPlatform as exc:
            if exc.status in (404, 410):  # seen when created; private or deleted since
                return Published(remote_id=sid, url=recorded, public=True)
            raise _lookup_failed(exc, "den Beitrag") from exc
        return Published(remote_id=sid, url=str(body.get("url") or recorded), public=True)

    def _confirm_scheduled(self, ctx: PostContext, sched_id: str) -> Published:
        due_at = _time(ctx.remote.get("status_attempt_for") or ctx.remote.get("scheduled_for"))
        sent = _time(ctx.remote.get("status_attempt_at"))
        due = due_at is None or due_at <= datetime.now(UTC)  # unknown time: look anyway
        if due:
            found = self.search_statuses(ctx, since=sent)
            if found is not None:
                return found
        try:
            self.adapter.json("GET", f"/api/v1/scheduled_statuses/{sched_id}")
        except RejectedByPlatform as exc:
            if exc.status not in (404, 410):
                raise _lookup_failed(exc, "den geplanten Beitrag") from exc
            if not due:
                found = self.search_statuses(ctx, since=sent)
                if found is not None:
                    return found
            raise PlatformUnavailable(
                NAME, f"scheduled status {sched_id} gone, no status with our media yet",
                status=exc.status, code="not_yet_visible",
                message_de="Mastodon führt den geplanten Beitrag nicht mehr als geplant, er ist "
                           "aber (noch) nicht unter den Beiträgen des Kontos zu sehen. wtg prüft "
                           "erneut; bleibt er verschwunden, bitte in Mastodon nachsehen.",
            ) from exc
        return Published(remote_id=sched_id, url="", public=False)

    def _replay(self, ctx: PostContext, sent: datetime) -> Published | None:
        """The documented reconciliation: the same Idempotency-Key returns the status the lost
        answer held (or completes the interrupted immediate publish exactly once)."""
        try:
            return self.adapter.post_status(ctx, None)  # type: ignore[no-any-return]
        except ScheduleTooClose:
            raise
        except RejectedByPlatform as exc:
            if exc.status != 404:
                raise
            found = self.search_statuses(ctx, since=sent)
            if found is not None:
                return found
            raise PlatformUnavailable(
                NAME, "idempotency key known, status not returned", status=404,
                code="replay_not_found",
                message_de="Mastodon kennt den Veröffentlichungsversuch, liefert den Beitrag "
                           "aber nicht (gelöscht?). wtg veröffentlicht nicht erneut; bitte in "
                           "Mastodon nachsehen.",
            ) from exc

    def _find_lost_scheduled(self, ctx: PostContext, sent: datetime) -> Published | None:
        media_id = str(ctx.remote.get("media_id") or "")
        params: dict[str, str] = {"limit": str(PAGE)}
        try:
            for _page in range(SCHEDULED_PAGES):
                items = self.adapter.json("GET", "/api/v1/scheduled_statuses", params=params)
                for item in items:
                    if _is_ours(ctx, item, media_id):
                        self.record_answer(ctx, item)
                        return self._confirm_scheduled(ctx, str(item["id"]))
                if len(items) < PAGE:
                    break
                params["max_id"] = str(items[-1]["id"])
        except RejectedByPlatform as exc:
            raise _lookup_failed(exc, "die geplanten Beiträge") from exc
        return self.search_statuses(ctx, since=sent)  # published meanwhile, or never arrived

    # --- the account's statuses -----------------------------------------------------------
    def search_statuses(self, ctx: PostContext, *, since: datetime | None) -> Published | None:
        """Our status among the account's newest ones (our media id, or the marker)."""
        error: RejectedByPlatform | None = None
        for source in ("account", "account-fresh", "home"):
            try:
                if source == "home":
                    path = "/api/v1/timelines/home"
                else:
                    own = self.adapter.own_account_id(fresh=source == "account-fresh")
                    path = f"/api/v1/accounts/{own}/statuses"
                return self._scan(ctx, path, since)
            except RejectedByPlatform as exc:
                error = exc
        assert error is not None
        raise _lookup_failed(error, "die Beiträge des Kontos")

    def _scan(self, ctx: PostContext, path: str, since: datetime | None) -> Published | None:
        media_id = str(ctx.remote.get("media_id") or "")
        params: dict[str, str] = {"limit": str(PAGE)}
        oldest = since - timedelta(hours=1) if since else None
        for _page in range(STATUS_PAGES):
            items = self.adapter.json("GET", path, params=params)
            for item in items:
                if _is_ours(ctx, item, media_id):
                    return self._record_status(ctx, item)
            if len(items) < PAGE:
                return None
            last = items[-1]
            if oldest and last.get("created_at") and _time(last["created_at"]) < oldest:
                return None  # older than our attempt: ours cannot come further down
            params["max_id"] = str(last["id"])
        return None


def _is_ours(ctx: PostContext, item: dict[str, Any], media_id: str) -> bool:
    attachments = item.get("media_attachments") or []
    if media_id and any(str(m.get("id")) == media_id for m in attachments):
        return True
    params = item.get("params") or {}
    if media_id and media_id in [str(m) for m in params.get("media_ids") or []]:
        return True
    text = str(item.get("content") or params.get("text") or "")
    return bool(ctx.marker) and ctx.marker in text


def _lookup_failed(exc: RejectedByPlatform, what: str) -> PlatformUnavailable:
    return PlatformUnavailable(
        NAME, f"lookup failed: {exc.detail}", status=exc.status, code="lookup_failed",
        message_de=f"Mastodon gibt {what} gerade nicht heraus (HTTP {exc.status}). Das sagt "
                   "nichts über den Beitrag selbst; wtg fragt später erneut.",
    )


def _time(value: Any) -> Any:
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)

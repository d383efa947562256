"""The Mastodon sandbox's entities as JSON (MediaAttachment, Status, ScheduledStatus), its
paging and its multipart parser (mastodon/documentation ``entities/*.md``, ``methods/*.md``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .base import Request


def page(items: list[dict[str, Any]], query: dict[str, str], render: Any) -> list[Any]:
    """Newest first, ``limit`` (default 20, at most 40) below ``max_id``."""
    limit = min(int(query.get("limit", "20")), 40)
    max_id = int(query.get("max_id", str(2**63)))
    chosen = sorted((s for s in items if int(s["id"]) < max_id), key=lambda s: -int(s["id"]))
    return [render(s) for s in chosen[:limit]]


def parse_time(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def media_json(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in ("id", "type", "url", "preview_url", "description")}


def scheduled_json(s: dict[str, Any]) -> dict[str, Any]:
    c = s["common"]
    return {"id": s["id"],
            "scheduled_at": s["at"].isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "params": {"text": c["text"], "visibility": c["visibility"],
                       "language": c["language"], "media_ids": c["media_ids"] or None,
                       "idempotency": None, "scheduled_at": None},
            "media_attachments": c["media_attachments"]}


def status_json(s: dict[str, Any]) -> dict[str, Any]:
    return {"id": s["id"], "url": s["url"], "uri": s["url"], "created_at": s["created_at"],
            "content": f"<p>{s['text']}</p>", "visibility": s["visibility"],
            "language": s["language"], "media_attachments": s["media_attachments"]}


def public_entry(s: dict[str, Any], *, public: bool) -> dict[str, Any]:
    c = s.get("common", s)
    at = s.get("at")
    return {"id": s["id"], "url": s.get("url", ""), "sha256": c["sha256"], "size": c["size"],
            "text": c["text"], "visibility": c["visibility"], "language": c["language"],
            "scheduled_at": at.isoformat() if at else None, "public": public}


def multipart(req: Request) -> dict[str, tuple[str, bytes]] | None:
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

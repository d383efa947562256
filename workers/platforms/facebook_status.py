"""Reading a Facebook video's ``status`` (pure; tested from tables).

``GET /{video-id}?fields=status,published,description`` answers ``status.video_status`` and three
phases ``uploading_phase`` / ``processing_phase`` / ``publishing_phase`` (each with ``status`` and
``errors``; uploading also ``bytes_transferred``, publishing also ``publish_status`` and
``publish_time``) [code FB-SDK videostatus*.py; docs/platforms/facebook.md FB-S1]. Which values
``video_status`` takes before and after ``finish`` is not documented beyond ``processing``,
``ready`` and ``error`` (FB-S2), so nothing here waits for ``ready``: decisions rest on the phases,
the ``published`` flag and the description ``finish`` set.
"""

from __future__ import annotations

from typing import Any

NOT_STARTED = (None, "", "not_started")


def phase(node: dict[str, Any], name: str) -> dict[str, Any]:
    status = node.get("status") or {}
    value = status.get(name) if isinstance(status, dict) else None
    return value if isinstance(value, dict) else {}


def failed(node: dict[str, Any]) -> bool:
    """Processing or publishing ended in an error (``video_status=error``, as Meta's Reels
    sample checks, or a phase in ``error``)."""
    status = node.get("status") or {}
    if str(status.get("video_status", "")) == "error":
        return True
    return any(phase(node, p).get("status") == "error"
               for p in ("uploading_phase", "processing_phase", "publishing_phase"))


def errors(node: dict[str, Any]) -> str:
    out = []
    for name in ("processing_phase", "publishing_phase", "uploading_phase"):
        for err in phase(node, name).get("errors") or []:
            out.append(str(err.get("message", err)) if isinstance(err, dict) else str(err))
    return "; ".join(out) or "video_status=error"


def bytes_held(node: dict[str, Any]) -> int | None:
    """``uploading_phase.bytes_transferred``; None when the host does not say or the upload
    session ended in an error (then only a fresh session helps)."""
    up = phase(node, "uploading_phase")
    if up.get("status") == "error":
        return None
    try:
        return int(up["bytes_transferred"])
    except (KeyError, TypeError, ValueError):
        return None


def finish_took_effect(node: dict[str, Any], marker: str) -> bool:
    """Whether ``finish`` went through: the description it set (with the post's marker) is
    there, or the video is published, scheduled or publishing. Processing alone proves nothing
    (it may start at the last chunk)."""
    if marker and marker in str(node.get("description") or ""):
        return True
    if node.get("published") is True:
        return True
    publishing = phase(node, "publishing_phase")
    return (publishing.get("status") not in NOT_STARTED
            or publishing.get("publish_status") in ("published", "scheduled"))


def public_now(node: dict[str, Any]) -> bool:
    return (node.get("published") is True
            or phase(node, "publishing_phase").get("publish_status") == "published")


def held_for_schedule(node: dict[str, Any]) -> bool:
    return phase(node, "publishing_phase").get("publish_status") == "scheduled"


def publishing_complete(node: dict[str, Any]) -> bool:
    """Meta's Reels sample reads ``publishing_phase.status == complete`` as published."""
    return phase(node, "publishing_phase").get("status") == "complete"


def draft_like(node: dict[str, Any]) -> bool:
    """Processed, yet publishing never started and not published: what a video kept as an
    unpublished draft looks like (a vertical video sent to ``/videos``)."""
    return (phase(node, "processing_phase").get("status") == "complete"
            and phase(node, "publishing_phase").get("status") in NOT_STARTED
            and not public_now(node))


def progress(node: dict[str, Any]) -> str:
    """A short word for logs and the dashboard: which phase is under way."""
    status = node.get("status") or {}
    for name in ("publishing_phase", "processing_phase", "uploading_phase"):
        value = phase(node, name).get("status")
        if value not in NOT_STARTED:
            return f"{name.split('_')[0]}:{value}"
    return str(status.get("video_status") or "unknown")

"""Queue work for the workers (by task name; the composition root may import everything)."""

from __future__ import annotations

from typing import Any

from episodes.models import Episode, MediaStatus
from workers.task_names import MEDIA_PREPARE


def queue_media_for(app: Any, series_id: int, *, send: bool = True) -> int:
    """Episodes whose media awaits preparation; with ``send``, hand them to the media queue."""
    with app.db.session() as s:
        ids = [e.id for e in s.query(Episode).filter(
            Episode.series_id == series_id, Episode.media_status == MediaStatus.QUEUED)]
    if send:
        for episode_id in ids:
            app.celery.send_task(MEDIA_PREPARE, args=[episode_id])
    return len(ids)

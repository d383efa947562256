"""The media stage as the worker runs it: load the episode, call the pure pipeline
(``workers.media.prepare``), record renditions and problems. The source is never touched.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from episodes import store
from episodes.capabilities import profile_for
from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, Rendition

from .media import FitOptions, MediaError, load_profiles, prepare
from .runtime import Runtime

log = logging.getLogger("wtg.media")
S = PostState


def profiles_for_episode(rt: Runtime, ep: Episode) -> list[str]:
    names = []
    for name in ep.series.accounts:
        try:
            acc = rt.settings.account(name)
        except KeyError:
            continue
        if acc.enabled and profile_for(acc) not in names:
            names.append(profile_for(acc))
    return names


def prepare_episode(rt: Runtime, episode_id: int, task: Any = None) -> dict[str, Any]:
    """probe -> transcode -> verify for one episode; returns a small JSON summary."""
    with rt.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            return {"episode": episode_id, "status": "missing"}
        if not ep.source_path:
            ep.media_status = MediaStatus.MISSING
            return {"episode": episode_id, "status": ep.media_status}
        ep.media_status = MediaStatus.PROBING
        ep.media_progress = 0.0
        for p in ep.posts:
            if p.state in (S.PENDING, S.READY):
                store.transition(s, p.id, S.PREPARING)
        wanted = profiles_for_episode(rt, ep)
        source, subtitles = Path(ep.source_path), ep.subtitle_path
        title = ep.title
        fit = ep.fit or {}
        out_dir = rt.settings.media_root / "renditions" / ep.series.slug / f"{ep.number:02d}"
        inputs = _media_inputs(ep)
    all_profiles = load_profiles(rt.settings.media_profiles_file)
    missing = [n for n in wanted if n not in all_profiles]
    if missing:
        return _failed(rt, episode_id, "profile_missing",
                       f"Unbekanntes Videoprofil: {', '.join(missing)} (config/media.toml).")
    last = [0.0]

    def progress(percent: float, eta: float | None) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0 and percent < 100:
            return
        last[0] = now
        with rt.db.session() as s:
            s.query(Episode).filter(Episode.id == episode_id).update(
                {"media_progress": round(percent, 1), "media_status": MediaStatus.TRANSCODING})
        if task is not None and getattr(task, "request", None) and task.request.id:
            task.update_state(state="PROGRESS", meta={"percent": percent, "eta": eta})

    try:
        media = prepare(
            source, Path(subtitles) if subtitles else None,
            [all_profiles[n] for n in wanted], out_dir, title=title,
            fit=FitOptions(mode=fit.get("mode", "pad"), focal_x=float(fit.get("focal_x", 0.5))),
            branding=rt.settings.media_branding, progress=progress,
        )
    except MediaError as err:
        return _failed(rt, episode_id, err.code, err.message_de, detail=err.to_dict())
    with rt.db.session() as s:
        ep = s.get(Episode, episode_id)
        assert ep is not None
        if _media_inputs(ep) != inputs:  # media changed while we worked: the newer job wins
            return {"episode": episode_id, "status": "superseded"}
        have = {r.profile: r for r in ep.renditions}
        for r in media.renditions:
            row = have.get(r.profile) or Rendition(profile=r.profile)
            row.cache_key = r.cache_key
            row.path = r.path
            row.sha256 = r.sha256
            row.size = r.size_bytes
            row.width, row.height, row.duration = r.width, r.height, r.duration
            row.loudness = {"integrated_lufs": r.loudness_lufs, "true_peak_db": r.true_peak_db}
            row.thumbnail_path = r.thumbnail
            row.captions_srt, row.captions_vtt = r.srt, r.vtt
            row.verified = r.verified
            row.details = {"captions": r.captions, "cached": r.cached,
                           "problems": [p.to_dict() for p in r.problems]}
            if r.profile not in have:
                ep.renditions.append(row)
        ep.probe = media.source.to_dict()
        ep.subtitle_info = {"sha256": media.subtitles_sha256}
        ep.media_problems = [p.to_dict() for p in media.problems]
        ep.media_progress = 100.0
        ep.media_status = MediaStatus.VERIFIED if media.verified else MediaStatus.FAILED
        target = S.READY if media.verified else S.PENDING
        for p in s.query(Post).filter(Post.episode_id == episode_id):
            if p.state in (S.PREPARING, S.PENDING):
                store.transition(s, p.id, target)
        store.audit(s, "worker", "media.prepared", f"episode:{ep.id}",
                    seconds=media.seconds, verified=media.verified,
                    renditions=[r.profile for r in media.renditions])
        status = ep.media_status
    return {"episode": episode_id, "status": status, "seconds": media.seconds}


def _media_inputs(ep: Episode) -> tuple[Any, ...]:
    """What the renditions depend on (a text edit does not make them stale; the title does,
    through the branding card)."""
    return (ep.source_path, ep.subtitle_path, dict(ep.fit or {}), ep.title)


def _failed(rt: Runtime, episode_id: int, code: str, message_de: str,
            detail: dict[str, Any] | None = None) -> dict[str, Any]:
    with rt.db.session() as s:
        ep = s.get(Episode, episode_id)
        assert ep is not None
        ep.media_status = MediaStatus.FAILED
        ep.media_problems = [{"code": code, "severity": "error", "message_de": message_de}]
        for p in ep.posts:
            if p.state == S.PREPARING:
                store.transition(s, p.id, S.PENDING)
        store.notify(s, "error", f"{ep.label}: Video abgelehnt", message_de, episode_id=ep.id)
        store.audit(s, "worker", "media.failed", f"episode:{ep.id}", code=code)
    log.warning("episode %s: media rejected: %s", episode_id, code)
    return {"episode": episode_id, "status": "failed", "code": code}

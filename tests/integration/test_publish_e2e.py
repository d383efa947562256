"""One episode from season file to a public post, through real processes: `wtg season load`,
a real `wtg worker` (media with the real ffmpeg, publish through the adapter), a local Mastodon
protocol server."""

from __future__ import annotations

from pathlib import Path

from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Episode, MediaStatus, Post, Rendition, utcnow
from sandbox import sandboxes

from .season_kit import FAST, account_settings, write_season


def _queue_all(stack) -> list[int]:  # type: ignore[no-untyped-def]
    with stack.db.session() as s:
        ids = [p.id for p in s.query(Post)]
        for pid in ids:
            assert store.transition(s, pid, PostState.QUEUED, expect=[PostState.READY],
                                    slot_at=utcnow())  # publish now
    for pid in ids:
        stack.celery.send_task("wtg.publish.run", args=[pid])
    return ids


def test_episode_goes_from_season_file_to_one_public_post(make_stack, tmp_path: Path) -> None:
    """A loaded episode is transcoded by a real worker and published exactly once, with the
    rendition's bytes, to the Mastodon sandbox."""
    with sandboxes()["mastodon"]() as sb:
        entry, env = account_settings(sb, "mastodon-lup")
        stack = make_stack(accounts=[entry], env=env, extra=FAST)
        season = write_season(tmp_path / "season", accounts=["mastodon-lup"])
        stack.start_worker(queues="media,publish", concurrency=1)
        stack.run("season", "load", str(season))

        def media_done() -> bool:
            with stack.db.session() as s:
                ep = s.query(Episode).one()
                assert ep.media_status != MediaStatus.FAILED, ep.media_problems
                return ep.media_status == MediaStatus.VERIFIED
        stack.wait_for(media_done, timeout=90, message="media verified")
        _queue_all(stack)

        def published() -> Post | None:
            with stack.db.session() as s:
                post = s.query(Post).one()
                assert post.state not in ("failed", "needs_attention"), post.last_error
                return post if post.state == PostState.PUBLISHED else None
        post = stack.wait_for(published, timeout=60, message="post published")
        with stack.db.session() as s:
            rendition = s.query(Rendition).one()
        public = sb.snapshot()["published"]
        assert len(public) == 1
        assert public[0]["sha256"] == rendition.sha256
        assert post.public_url == public[0]["url"]

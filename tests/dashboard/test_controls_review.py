"""The four-eyes rule over the edit history (``episodes.review``) and the post correction's own
approval (``episodes.repair``), on a migrated database: who edited what since the last approval
decides, not who edited last."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from episodes import store
from episodes.lifecycle import PostState
from episodes.models import Account, Episode, Post, Series
from episodes.repair import approve_correction, cleared_post, correct_post
from episodes.review import ReviewError, approve, editors_since, media_changed, update_texts

ERIKA = SimpleNamespace(username="erika", role="editor")
ANTON = SimpleNamespace(username="anton", role="approver")
PETRA = SimpleNamespace(username="petra", role="approver")
ADA = SimpleNamespace(username="ada", role="admin")


@pytest.fixture
def episode(db: Any) -> int:
    with db.session() as s:
        acc = Account(name="mastodon-lup", platform="mastodon")
        s.add(acc)
        series = Series(slug="s", name="Wir tun GUTes", weekday=3, time_of_day="17:00",
                        first_date=date(2030, 1, 3), last_date=date(2030, 3, 28))
        ep = Episode(number=9, title="Plau am See", place="Plau am Se", description="Text.")
        series.episodes.append(ep)
        s.add(series)
        s.flush()
        ep.posts.append(Post(account_id=acc.id))
        s.flush()
        return ep.id


def test_an_approver_who_edited_since_the_last_approval_is_refused(db: Any,
                                                                   episode: int) -> None:
    """anton rewrote the description, erika then changed one letter of the place: anton may
    not approve (his own text), petra may; after that approval the window starts anew."""
    with db.session() as s:
        ep = s.get(Episode, episode)
        update_texts(s, ep, ANTON, {"description": "Antons neuer Text."})
        update_texts(s, ep, ERIKA, {"place": "Plau am See"})
        assert editors_since(s, ep.id, ep.approved_revision) == {
            "anton": {"texts"}, "erika": {"texts"}}
        with pytest.raises(ReviewError) as own:
            approve(s, ep, ANTON, seen_revision=ep.revision)
        assert own.value.code == "own_edit" and "Texte" in own.value.message_de
        approve(s, ep, PETRA, seen_revision=ep.revision)
        assert ep.approved and ep.approved_by == "petra"
        update_texts(s, ep, ERIKA, {"title": "Plau am See – Ehrenamt"})
        assert not ep.approved
        approve(s, ep, ANTON, seen_revision=ep.revision)  # nothing of his since petra's
        assert ep.approved_by == "anton"


def test_subtitles_and_media_count_as_edits(db: Any, episode: int) -> None:
    """An approver who replaced the subtitles or the clip since the last approval cannot
    approve; the refusal names what they changed."""
    with db.session() as s:
        ep = s.get(Episode, episode)
        media_changed(s, ep, "anton", "episode.upload_subtitles", file="neu.srt")
        media_changed(s, ep, "petra", "episode.upload_source", file="neu.mp4")
        update_texts(s, ep, ERIKA, {"place": "Plau am See"})
        for who, what in ((ANTON, "Untertitel"), (PETRA, "Video")):
            with pytest.raises(ReviewError) as err:
                approve(s, ep, who, seen_revision=ep.revision)
            assert what in err.value.message_de
        approve(s, ep, ADA, seen_revision=ep.revision)
        assert ep.approved


def test_preview_problems_block_unless_an_admin_gives_a_reason(db: Any, episode: int) -> None:
    """A problem in a preview refuses every approval; an admin's reasoned override approves
    and is audited with the reason and the problems."""
    problem = ["mastodon-lup: Mastodon: der Hashtag #Plau-am-See würde abgeschnitten"]
    with db.session() as s:
        ep = s.get(Episode, episode)
        with pytest.raises(ReviewError) as blocked:
            approve(s, ep, PETRA, seen_revision=ep.revision, problems=problem)
        assert blocked.value.code == "preview_problems"
        with pytest.raises(ReviewError) as role:
            approve(s, ep, PETRA, seen_revision=ep.revision, problems=problem,
                    override_reason="So soll es sein, Ortsname.")
        assert role.value.code == "role"
        approve(s, ep, ADA, seen_revision=ep.revision, problems=problem,
                override_reason="So soll es sein, Ortsname.")
        entry = store.audit_log(s, target=f"episode:{ep.id}")[0]
        assert entry.action == "episode.approve_override"
        assert entry.details["problems"] == problem


def test_a_correction_voids_the_posts_approval_and_needs_another_person(db: Any,
                                                                        episode: int) -> None:
    """Correcting a refused post bumps its correction and voids its approval; the corrector
    cannot approve it, another approver can; a correction of an online post is refused."""
    with db.session() as s:
        post = s.get(Episode, episode).posts[0]
        with pytest.raises(ReviewError) as early:
            correct_post(s, post, ERIKA, text={"body": "Kurz."})
        assert early.value.code == "state"
        for target in (PostState.READY, PostState.QUEUED, PostState.FAILED):
            assert store.transition(s, post.id, target)
        s.refresh(post)
        assert correct_post(s, post, ANTON, text={"body": "Kurz."}) == ["text"]
        assert (post.correction, cleared_post(post)) == (1, False)
        with pytest.raises(ReviewError) as own:
            approve_correction(s, post, ANTON, seen=1, problems=[])
        assert own.value.code == "own_edit"
        approve_correction(s, post, PETRA, seen=1, problems=[])
        assert cleared_post(post) and post.correction_approved_by == "petra"
        assert correct_post(s, post, ERIKA, text={"body": "Kurz und gut."}) == ["text"]
        assert not cleared_post(post)
        post.remote = {"online": True}
        with pytest.raises(ReviewError) as online:
            correct_post(s, post, ERIKA, text={"body": "Anders."})
        assert online.value.code == "locked"

"""The dashboard upload and ``wtg season load`` refuse the same files with the same German
sentences (one check behind both), and the notes of a saved subtitle file reach the staffer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.episodes.media_kit import BROKEN, make_media
from workers.media.intake import SeasonMediaCheck
from workers.media.profiles import load_profiles

from .conftest import Live, csrf_of


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The phone clip with narration, the broken videos and the subtitle files."""
    return make_media(tmp_path_factory.mktemp("media"))


def season_message(media: dict[str, Path], video: str, subtitles: str | None) -> str:
    """The sentence ``wtg season load`` gives for these files (its own check, run here)."""
    found = SeasonMediaCheck(load_profiles().values())(
        media[video], media[subtitles] if subtitles else None)
    (messages,) = found.errors.values()
    return messages[0]


def test_upload_refuses_what_season_load_refuses_with_the_same_words(
    live: Live, media: dict[str, Path]
) -> None:
    """Each broken video and subtitle file uploaded on the episode page is refused (422) with
    exactly the sentence season load gives; a good clip and cp1252 subtitles are stored, and the
    page after the redirect tells what normalising changed (the trimmed overlap)."""
    ep = live.ids["ep1"]
    with live.client("erika") as client:
        csrf = csrf_of(client.get(f"/episodes/{ep}").text)

        def upload(kind: str, name: str) -> object:
            return client.post(f"/episodes/{ep}/{kind}", data={"csrf": csrf},
                               files={"file": (name, media[name].read_bytes(), "text/plain")})

        for (video, _), (field, start) in BROKEN.items():
            if field != "video":
                continue
            refused = upload("source", video)
            assert refused.status_code == 422, video
            expected = season_message(media, video, None)
            assert expected.startswith(start)
            assert expected in refused.text, video
        stored = upload("source", "03-matzlow.mp4")
        assert stored.status_code == 303, stored.text
        for (video, subs), (field, start) in BROKEN.items():
            if field != "subtitles":
                continue
            assert subs is not None
            refused = upload("subtitles", subs)
            assert refused.status_code == 422, subs
            expected = season_message(media, video, subs)
            assert expected.startswith(start)
            assert expected in refused.text, subs
        good = upload("subtitles", "gut.srt")
        assert good.status_code == 303, good.text
        page = client.get(good.headers["location"]).text
        assert "Untertitel gespeichert." in page
        assert '<div class="warnings"><p>1 überlappende Untertitel wurden gekürzt.</p>' in page

"""``wtg season load`` probes every named video and subtitle file with the dashboard upload's
checks: broken files are refused in German with file, episode and field, nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from episodes.db import Database
from episodes.models import Episode
from episodes.season import SeasonError, apply_season, parse_season
from episodes.store import sync_accounts
from workers.media.intake import SeasonMediaCheck
from workers.media.profiles import load_profiles

from .media_kit import BROKEN, make_media
from .season_files import ACCOUNTS, KNOWN, VALID, snapshot, write
from .test_season_cli import settings_file, wtg


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The phone clip with narration, the broken videos and the subtitle files."""
    return make_media(tmp_path_factory.mktemp("media"))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    database.migrate()
    return database


def with_media(media: dict[str, Path], files: dict[int, tuple[str, str | None]]) -> str:
    """The valid season with ``video``/``subtitles`` lines added to the given episodes."""
    text = VALID
    for number, (video, subs) in files.items():
        head = f"[[episodes]]\nnumber = {number}\n"
        lines = f'video = "{media[video]}"\n' + (f'subtitles = "{media[subs]}"\n' if subs else "")
        text = text.replace(head, head + lines)
    return text


def load_checked(db: Database, path: Path) -> list[int]:
    """What ``wtg season load`` does, with the real media check."""
    spec = parse_season(path, known_accounts=KNOWN,
                        media_check=SeasonMediaCheck(load_profiles().values()))
    with db.session() as s:
        return apply_season(s, spec, sync_accounts(s, ACCOUNTS)).created


@pytest.mark.parametrize(("files", "expected"), list(BROKEN.items()),
                         ids=[f"{v}+{s}" for v, s in BROKEN])
def test_broken_file_is_refused_naming_file_episode_and_field(
    tmp_path: Path, db: Database, media: dict[str, Path], files: tuple[str, str | None],
    expected: tuple[str, str],
):
    """A zero-byte, truncated, text-as-mp4 or audio-only video, or subtitles that overlap, are
    out of order, start after the video's end or break the cue limits: the load is refused with
    one German sentence naming episode 1, the field and the file, and no row changes."""
    load_checked(db, write(tmp_path, VALID))
    before = snapshot(db)
    with pytest.raises(SeasonError) as err:
        load_checked(db, write(tmp_path, with_media(media, {1: files})))
    field, message = expected
    assert len(err.value.problems) == 1, err.value.problems
    assert err.value.problems[0].startswith(f"Folge 1, Feld '{field}': {message}")
    assert snapshot(db) == before


def test_good_files_load_with_their_notes(tmp_path: Path, db: Database, media: dict[str, Path]):
    """A phone clip and cp1252 subtitles with a 0.1 s overlap load; the trimmed overlap and the
    low resolution are noted (not refused) and the umlauts survive."""
    spec = parse_season(write(tmp_path, with_media(media, {1: ("03-matzlow.mp4", "gut.srt")})),
                        known_accounts=KNOWN,
                        media_check=SeasonMediaCheck(load_profiles().values()))
    assert "Folge 1, Feld 'subtitles': 1 überlappende Untertitel wurden gekürzt." in spec.notes
    assert any(n.startswith("Folge 1, Feld 'video': Das Video „03-matzlow.mp4“ hat nur 360×640")
               for n in spec.notes)
    with db.session() as s:
        apply_season(s, spec, sync_accounts(s, ACCOUNTS))
    with db.session() as s:
        ep = s.query(Episode).filter_by(number=1).one()
        assert ep.subtitle_path == str(media["gut.srt"])
    assert "Grüße" in media["gut.srt"].read_bytes().decode("cp1252")


def test_cli_lists_every_problem_at_once_and_writes_nothing(tmp_path: Path,
                                                             media: dict[str, Path]):
    """``wtg season load`` (and ``--check``) on a season whose episodes name a zero-byte video,
    an audio-only video and overlapping subtitles exits 1 with all three German problems and no
    traceback; the database is the same row by row."""
    config = settings_file(tmp_path)
    assert wtg(config, "init").returncode == 0
    db = Database(f"sqlite:///{tmp_path / 'wtg.db'}")
    first = wtg(config, "season", "load", "--no-media", str(write(tmp_path, VALID)))
    assert first.returncode == 0, first.stdout + first.stderr
    before = snapshot(db)
    season = write(tmp_path, with_media(media, {
        0: ("leer.mp4", None), 1: ("nur-ton.mp4", None), 2: ("03-matzlow.mp4",
                                                            "ueberlappend.srt")}),
        name="kaputt.toml")
    for args in (("season", "load", "--no-media", str(season)),
                 ("season", "load", "--check", str(season))):
        run = wtg(config, *args)
        assert run.returncode == 1, run.stdout + run.stderr
        assert "Traceback" not in run.stderr
        assert "wurde nicht geladen (3 Problem(e))" in run.stderr
        assert "Trailer (Folge 0), Feld 'video': Die Datei „leer.mp4“ ist leer" in run.stderr
        assert "Folge 1, Feld 'video': Die Datei „nur-ton.mp4“ enthält keine Videospur" \
            in run.stderr
        assert "Folge 2, Feld 'subtitles': In der Untertiteldatei „ueberlappend.srt“" \
            in run.stderr
    assert snapshot(db) == before
    db.dispose()


def test_cli_prints_notes_of_a_good_load(tmp_path: Path, media: dict[str, Path]):
    """A load with good files succeeds and tells staff what normalising will change."""
    config = settings_file(tmp_path)
    season = write(tmp_path, with_media(media, {1: ("03-matzlow.mp4", "gut.srt")}))
    run = wtg(config, "season", "load", "--no-media", str(season))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Hinweis: Folge 1, Feld 'subtitles': 1 überlappende Untertitel wurden gekürzt." \
        in run.stdout


def test_duration_limits_count_the_cards_when_branding_is_on(tmp_path: Path) -> None:
    """A 2 s narrated clip is too short for Reels and Instagram (3 s) on its own, but not with
    its intro and end card: season load (and the upload, the same check) says so only when the
    cards are not added, as the media step will render it."""
    from tests.media.corpus import make_clip

    clip = make_clip(tmp_path / "kurz.mp4", duration=2.0, size=(540, 960))
    profiles = load_profiles().values()
    bare = SeasonMediaCheck(profiles)(clip, None)
    carded = SeasonMediaCheck(profiles, branding=True)(clip, None)
    assert any("nimmt diese Länge nicht an" in n for n in bare.notes.get("video", [])), bare
    assert not any("nimmt diese Länge nicht an" in n for n in carded.notes.get("video", [])), \
        carded

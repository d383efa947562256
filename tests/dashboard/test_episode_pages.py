"""The episode page over real HTTP: subtitle upload and the cue editor, per-platform previews
with counters, the calendar."""

from __future__ import annotations

from pathlib import Path

from episodes.models import Episode, Series
from episodes.subtitles import load_subtitles

from .conftest import Live, csrf_of

SRT = "1\n00:00:00,500 --> 00:00:02,000\nGrüße aus Plau am See\n\n" \
      "2\n00:00:02,000 --> 00:00:03,500\nWir tun GUTes\n"


def test_subtitles_upload_and_cue_editing(live: Live) -> None:
    """An empty subtitle file is refused in German; a good one is stored; editing a cue
    writes a new SRT beside the old one, starts a new revision and voids the approval."""
    ep = live.ids["ep1"]
    with live.api("anton") as api:
        rev = api.get(f"/api/v1/episodes/{ep}").json()["revision"]
        assert api.post(f"/api/v1/episodes/{ep}/approve", json={"revision": rev}).json()[
            "approved"]
    with live.client("erika") as client:
        csrf = csrf_of(client.get(f"/episodes/{ep}").text)
        empty = client.post(f"/episodes/{ep}/subtitles", data={"csrf": csrf},
                            files={"file": ("leer.srt", b"", "application/x-subrip")})
        assert empty.status_code == 422
        assert "Die Untertiteldatei „leer.srt“ ist leer" in empty.text
        ok = client.post(f"/episodes/{ep}/subtitles", data={"csrf": csrf},
                         files={"file": ("folge1.srt", SRT.encode("cp1252"), "text/plain")})
        assert ok.status_code == 303
        page = client.get(f"/episodes/{ep}/cues").text
        assert "Grüße aus Plau am See" in page and "00:00:00,500" in page
        saved = client.post(f"/episodes/{ep}/cues", data={
            "csrf": csrf, "start": ["00:00:00,500", "00:00:02,000", "3,6"],
            "end": ["00:00:02,000", "00:00:03,500", "4,2"],
            "text": ["Grüße aus Plau am See!", "", "Neuer Untertitel"],
        })
        assert saved.status_code == 303, saved.text
        bad = client.post(f"/episodes/{ep}/cues", data={
            "csrf": csrf, "start": ["zwei"], "end": ["00:00:01,000"], "text": ["x"]})
        assert bad.status_code == 422 and "Untertitel 1: die Zeit" in bad.text
    with live.db.session() as s:
        episode = s.get(Episode, ep)
        path = Path(episode.subtitle_path)
        assert not episode.approved and episode.edited_by == "erika"
    assert path.name.startswith("subtitles-edited-")
    assert len(list(path.parent.iterdir())) == 2  # the uploaded file is kept
    cues = load_subtitles(path, duration=None).cues
    assert [(c.start, c.end, c.text) for c in cues] == [
        (0.5, 2.0, "Grüße aus Plau am See!"), (3.6, 4.2, "Neuer Untertitel")]


def test_previews_count_in_each_platforms_unit(live: Live) -> None:
    """The preview measures each account's text in its platform's unit and shows the adapter's
    German findings when an override is too long."""
    ep = live.ids["ep1"]
    long_body = "Ä" * 520
    with live.client("erika") as client:
        csrf = csrf_of(client.get(f"/episodes/{ep}").text)
        resp = client.post(f"/episodes/{ep}", data={
            "csrf": csrf, "title": "Grüße", "place": "Plau am See", "description": "Text",
            "hashtags": "#WirTunGUTes Ehrenamt", "override_mastodon_body": long_body,
        })
        assert resp.status_code == 303 and resp.headers["location"].endswith("ok=saved")
        page = client.get(resp.headers["location"]).text
    assert "Gespeichert. Die Folge muss neu freigegeben werden." in page
    assert "520 / 500 Zeichen (Links zählen 23)" in page
    assert "Mastodon: der Text ist 520 Zeichen lang, erlaubt sind 500." in page
    assert 'Grüße</strong> <small class="counter">5 / 100 Zeichen</small>' in page
    youtube = page[page.index('data-testid="preview-youtube-lup"'):]
    body = youtube[youtube.index("<pre>") + 5:youtube.index("</pre>")]
    assert f"{len(body.encode())} / 5000 Byte" in youtube  # YouTube counts UTF-8 bytes
    with live.db.session() as s:
        episode = s.get(Episode, ep)
        assert episode.text_overrides == {"mastodon": {"body": long_body}}
        assert episode.hashtags == ["WirTunGUTes", "Ehrenamt"]


def test_calendar_places_episodes_on_their_berlin_dates(live: Live) -> None:
    """The month view shows the episodes on their local day and time with approval and each
    account's state, the MV holidays and blackout days; the week view shows one week."""
    with live.db.session() as s:
        s.get(Series, live.ids["series"]).blackout_dates = ["2026-11-27"]
    with live.client("vera") as client:
        page = client.get("/calendar", params={"at": "2026-11-01"}).text
        week = client.get("/calendar", params={"at": "2026-11-13", "view": "week"}).text
    assert 'data-testid="calendar-title">November 2026<' in page
    assert page.count("17:00 Uhr") == 3
    assert "Trailer · Hagenow" in page and "Folge 2 · Hagenow" in page
    assert page.count("nicht freigegeben") == 3 and "mastodon-lup: wartet" in page
    assert "Feiertag: Reformationstag" in page  # 31 Oct, in the first row of November
    assert 'data-day="2026-11-27"' in page and "Sperrtermin" in page
    assert 'data-testid="calendar-title">Woche vom 09.11. bis 15.11.2026<' in week
    assert week.count("17:00 Uhr") == 1 and "Folge 1 · Hagenow" in week
    assert "Verschieben" not in page  # a viewer cannot move

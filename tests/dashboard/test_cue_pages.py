"""The cue editor on a long but legal track: a page at a time, and saving a page changes only
that page's cues."""

from __future__ import annotations

import re
from pathlib import Path

from episodes.models import Episode
from episodes.subtitle_check import MAX_CUES
from episodes.subtitles import load_subtitles, stamp

from .conftest import Live, csrf_of


def long_track(path: Path, cues: int) -> Path:
    """An SRT of ``cues`` one-second cues with German text (one a second: the legal maximum)."""
    path.write_text("".join(
        f"{i + 1}\n{stamp(i)} --> {stamp(i + 0.9)}\nSatz {i + 1}: Wir tun GUTes in Lübz.\n\n"
        for i in range(cues)), encoding="utf-8")
    return path


def test_long_track_is_edited_a_page_at_a_time(live: Live, tmp_path: Path) -> None:
    """A 3000-cue track on a 50-minute video shows 100 cues per page with a pager; saving page 2
    with one cue edited and one emptied changes exactly those two in the new file; a page sent
    after the file was replaced is refused in German."""
    ep = live.ids["ep1"]
    srt = long_track(tmp_path / "lang.srt", MAX_CUES)
    with live.db.session() as s:
        episode = s.get(Episode, ep)
        episode.subtitle_path = str(srt)
        episode.probe = {"duration": float(MAX_CUES)}
    with live.client("erika") as client:
        first = client.get(f"/episodes/{ep}/cues")
        assert first.status_code == 200
        assert "Untertitel 1–100 von 3000" in first.text
        assert first.text.count('name="text"') == 101  # 100 cues and the empty row for a new one
        assert len(first.content) < 100_000
        last = client.get(f"/episodes/{ep}/cues?page=30").text
        assert "Untertitel 2901–3000 von 3000" in last and "Satz 3000:" in last
        page2 = client.get(f"/episodes/{ep}/cues?page=2").text
        starts = re.findall(r'name="start" value="([^"]*)"', page2)
        ends = re.findall(r'name="end" value="([^"]*)"', page2)
        texts = re.findall(r'<textarea name="text" rows="2" cols="44">([^<]*)</textarea>', page2)
        assert len(starts) == len(texts) == 101 and texts[0] == "Satz 101: Wir tun GUTes in Lübz."
        texts[0] = ""  # delete cue 101
        texts[49] = "Satz 150: geändert."
        form = {"csrf": csrf_of(page2), "first": "100", "count": "100", "source": srt.name,
                "start": starts, "end": ends, "text": texts}
        saved = client.post(f"/episodes/{ep}/cues", data=form)
        assert saved.status_code == 303, saved.text[-2000:]
        stale = client.post(f"/episodes/{ep}/cues", data=form)
        assert stale.status_code == 422
        assert "inzwischen durch eine andere Datei ersetzt" in stale.text
    with live.db.session() as s:
        edited = Path(s.get(Episode, ep).subtitle_path)
    cues = load_subtitles(edited, duration=float(MAX_CUES)).cues
    assert len(cues) == MAX_CUES - 1
    assert cues[99].text == "Satz 100: Wir tun GUTes in Lübz."
    assert cues[100].text == "Satz 102: Wir tun GUTes in Lübz."
    assert cues[148].text == "Satz 150: geändert."
    assert cues[-1].text == "Satz 3000: Wir tun GUTes in Lübz."

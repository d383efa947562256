"""Subtitle parsing and normalising (pure, no processes)."""

from __future__ import annotations

from pathlib import Path

import pysubs2
import pytest

from episodes.subtitles import (
    AssStyle,
    Cue,
    SubtitleError,
    SubtitleTrack,
    load_subtitles,
    normalise,
    parse_subtitles,
    to_ass,
    to_srt,
    to_webvtt,
)

GERMAN = "Grüße aus Matzlow – Straßenfest, Ärger? Nö!"


def srt(*cues: tuple[str, str, str]) -> str:
    return "\n".join(f"{i}\n{a} --> {b}\n{t}\n" for i, (a, b, t) in enumerate(cues, 1))


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (srt(("00:00:01,000", "00:00:02,000", GERMAN)).encode("cp1252"), "cp1252"),
        (srt(("00:00:01,000", "00:00:02,000", GERMAN)).encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + srt(("00:00:01,000", "00:00:02,000", GERMAN)).encode(), "utf-8-sig"),
        (srt(("00:00:01,000", "00:00:02,000", GERMAN)).encode("utf-16"), "utf-16"),
    ],
)
def test_umlauts_survive_every_encoding(data: bytes, encoding: str) -> None:
    """Umlauts and ß come through cp1252, UTF-8, UTF-8 with BOM and UTF-16 files intact."""
    track = parse_subtitles(data, name="a.srt")
    assert track.encoding == encoding
    assert track.cues[0].text == GERMAN


def test_latin1_only_bytes_decode_as_german() -> None:
    """A Latin-1 file (no cp1252-only characters) decodes to the same German text."""
    track = parse_subtitles(srt(("00:00:01,000", "00:00:02,000", "Größe")).encode("latin-1"))
    assert track.cues[0].text == "Größe"


def test_webvtt_and_ass_inputs_are_parsed() -> None:
    """WebVTT and ASS files give the same plain-text cues as SRT (tags removed)."""
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<i>Schön</i> & gut\n"
    ass = (
        "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\n"
        "Style: Default,Arial,20\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\b1}Schön{\\b0}\\Nzweite Zeile\n"
    )
    v = parse_subtitles(vtt.encode(), name="a.vtt")
    a = parse_subtitles(ass.encode(), name="a.ass")
    assert (v.source_format, v.cues[0].text, v.cues[0].end) == ("vtt", "Schön & gut", 2.5)
    assert (a.source_format, a.cues[0].text) == ("ass", "Schön\nzweite Zeile")


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf\n"])
def test_empty_file_is_rejected_in_german(data: bytes) -> None:
    """An empty subtitle file raises a SubtitleError with a German message."""
    with pytest.raises(SubtitleError) as err:
        parse_subtitles(data, name="leer.srt")
    assert err.value.code == "subtitles_empty"
    assert "leer" in err.value.message_de


def test_out_of_order_and_overlapping_cues_are_fixed() -> None:
    """Cues are sorted, an overlap ends where the next cue starts, same-start cues merge."""
    data = srt(
        ("00:00:03,000", "00:00:04,000", "drei"),
        ("00:00:01,000", "00:00:03,500", "eins"),
        ("00:00:01,000", "00:00:02,000", "auch eins"),
    ).encode()
    track = normalise(parse_subtitles(data), duration=10)
    assert [(c.start, c.end, c.text) for c in track.cues] == [
        (1.0, 3.0, "eins\nauch eins"),
        (3.0, 4.0, "drei"),
    ]
    assert track.notes


def test_cues_past_the_end_are_dropped_or_clipped() -> None:
    """Cues starting after the video are dropped and one running past the end is clipped."""
    data = srt(
        ("00:00:00,500", "00:00:01,000", "a"),
        ("00:00:01,500", "00:00:09,000", "b"),
        ("00:00:05,000", "00:00:06,000", "c"),
    ).encode()
    track = normalise(parse_subtitles(data), duration=2.0)
    assert [(c.start, c.end, c.text) for c in track.cues] == [(0.5, 1.0, "a"), (1.5, 2.0, "b")]


def test_all_cues_after_the_end_is_an_error() -> None:
    """A subtitle file whose cues all lie after the video's end is rejected (wrong file?)."""
    data = srt(("00:01:00,000", "00:01:02,000", "später")).encode()
    with pytest.raises(SubtitleError) as err:
        normalise(parse_subtitles(data, name="x.srt"), duration=3.0)
    assert err.value.code == "subtitles_outside_video"


def test_long_text_wraps_to_two_lines_and_splits_cues() -> None:
    """Every cue ends with at most two lines of at most 42 characters; long text is split."""
    words = " ".join(["Landkreis"] * 25)
    track = normalise(parse_subtitles(srt(("00:00:00,000", "00:00:10,000", words)).encode()),
                      duration=10)
    assert len(track.cues) > 1
    for cue in track.cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and all(len(ln) <= 42 for ln in lines)
    assert track.cues[0].start == 0 and track.cues[-1].end == 10
    assert " ".join(c.text.replace("\n", " ") for c in track.cues) == words
    assert all(a.end == b.start for a, b in zip(track.cues, track.cues[1:], strict=False))


def test_srt_and_webvtt_output_with_offset() -> None:
    """Sidecar SRT/WebVTT shift by the intro offset and WebVTT escapes markup characters
    (pysubs2's layout: a blank line after every cue, WebVTT cues numbered)."""
    track = SubtitleTrack(cues=(Cue(start=1.0, end=2.25, text="A & B <c>\nÖl"),))
    assert to_srt(track, offset=1.5) == "1\n00:00:02,500 --> 00:00:03,750\nA & B <c>\nÖl\n\n"
    assert to_webvtt(track) == (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.250\nA &amp; B &lt;c&gt;\nÖl\n\n"
    )


LITERAL = (
    Cue(start=0.0, end=1.0, text="Grüße aus Matzlow – Straßenfest\nÄrger? Nö! 100 %"),
    Cue(start=1.25, end=3.333, text="{kein Tag} & <b>nicht fett</b>"),
    Cue(start=3725.5, end=3727.001, text="eine Stunde später"),
)


@pytest.mark.parametrize("kind", ["srt", "vtt"])
def test_sidecar_round_trip_keeps_cues_timing_and_text(kind: str) -> None:
    """What the SRT/WebVTT writers produce, as UTF-8 without BOM, parses back to the same
    cues: times to the millisecond, umlauts, line breaks; braces and markup as typed."""
    text = (to_srt if kind == "srt" else to_webvtt)(SubtitleTrack(cues=LITERAL))
    data = text.encode("utf-8")
    back = parse_subtitles(data, name=f"x.{kind}")
    assert (back.encoding, back.source_format) == ("utf-8", kind)
    assert [(c.start, c.end) for c in back.cues] == [(c.start, c.end) for c in LITERAL]
    assert back.cues[0].text == LITERAL[0].text and back.cues[2].text == LITERAL[2].text
    if kind == "srt":  # SubRip carries the text verbatim
        assert "\n{kein Tag} & <b>nicht fett</b>\n" in text
    else:  # WebVTT needs & < > as entities
        assert "\n{kein Tag} &amp; &lt;b&gt;nicht fett&lt;/b&gt;\n" in text


def test_backslashes_stay_literal_in_srt() -> None:
    """A backslash in cue text is not read as an ASS escape by the writer: ``\\N`` does not
    break the line and a cue that looks like an ASS drawing is still written."""
    track = SubtitleTrack(cues=(Cue(start=0, end=1, text="C:\\Neu {\\p1}"),))
    lines = to_srt(track).split("\n")
    assert lines[2].replace("\u2060", "") == "C:\\Neu {\\p1}" and lines[3] == ""


def test_ass_output_escapes_braces_and_sets_frame_and_margins() -> None:
    """ASS output is sized for the frame, keeps the margins and shows braces literally."""
    track = SubtitleTrack(cues=(Cue(start=0, end=1, text="{kein Tag}\nzwei"),))
    text = to_ass(track, AssStyle(width=1080, height=1920, margin_bottom=460, margin_right=170))
    assert "PlayResX: 1080" in text and "PlayResY: 1920" in text
    assert ",2,0,170,460,1" in text  # alignment bottom-centre, MarginL, MarginR, MarginV
    assert "\\{kein Tag\\}\\Nzwei" in text


def test_ass_style_for_burned_subtitles_reads_back() -> None:
    """The burned-subtitle script, read back with pysubs2: one bottom-centred white style in
    a translucent black box inside the Reels/TikTok safe margins, a size that fits ~42
    characters, and the cue times to the centisecond."""
    track = SubtitleTrack(cues=(Cue(start=1.234, end=2.5, text="Grüße\nzwei"),))
    style = AssStyle(width=1080, height=1920, margin_bottom=461, margin_left=65,
                     margin_right=173)
    subs = pysubs2.SSAFile.from_string(to_ass(track, style))
    st = subs.styles["Default"]
    assert (subs.info["PlayResX"], subs.info["PlayResY"]) == ("1080", "1920")
    assert (st.alignment, st.marginl, st.marginr, st.marginv) == (
        pysubs2.Alignment.BOTTOM_CENTER, 65, 173, 461)
    assert (st.borderstyle, st.primarycolor, st.outlinecolor) == (
        3, pysubs2.Color(255, 255, 255, 0), pysubs2.Color(0, 0, 0, 0x40))
    usable = 1080 - 65 - 173  # DejaVu Sans averages ~0.52 em a character
    assert st.fontname == "DejaVu Sans"
    assert st.fontsize == pytest.approx(usable / (42 * 0.52), abs=0.5)
    assert [(e.start, e.end, e.plaintext) for e in subs] == [(1230, 2500, "Grüße\nzwei")]


def test_load_subtitles_reads_without_modifying(tmp_path: Path) -> None:
    """load_subtitles leaves the stored file byte-for-byte unchanged."""
    path = tmp_path / "x.srt"
    raw = srt(("00:00:02,000", "00:00:03,000", "b"), ("00:00:00,000", "00:00:01,000", "a"))
    path.write_bytes(raw.encode("cp1252"))
    before = path.read_bytes()
    track = load_subtitles(path, duration=5)
    assert [c.text for c in track.cues] == ["a", "b"]
    assert path.read_bytes() == before

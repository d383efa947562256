"""Loudness: the pure gain/limiter decision (tables), the ebur128 parser, and every sound of
the realistic corpus through the real pipeline (German narration, speech under music, loud
music, a clap in quiet speech, quiet and faint recordings, room tone, no audio, mono, 44.1 kHz).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.media.corpus import AUDIO_TYPES, CorpusError, make_clip
from workers.media import prepare
from workers.media.loudness import (
    MAX_GAIN_DB,
    GainReason,
    Loudness,
    measure_loudness,
    parse_ebur128,
    plan_gain,
)
from workers.media.profiles import Profile
from workers.media.verify import LOUDNESS_TOLERANCE, TRUE_PEAK_MARGIN

# The field-test narration: -20.6 LUFS, -0.4 dBTP; candidates as measured for such speech.
FIELD = Loudness(input_i=-20.6, input_tp=-0.4, input_lra=2.0, input_thresh=-30.8, limit_db=-2.0,
                 limited=((3.0, -18.1), (6.0, -15.5), (9.0, -13.3), (12.0, -11.6),
                          (15.0, -10.4), (18.0, -9.6), (21.0, -9.0), (24.0, -8.6)))


def loud(i: float, tp: float, limited: tuple[tuple[float, float], ...] = ()) -> Loudness:
    return Loudness(input_i=i, input_tp=tp, input_lra=3.0, input_thresh=i - 10,
                    limit_db=-2.0 if limited else None, limited=limited)


@pytest.mark.parametrize(
    ("measured", "target", "ceiling", "gain", "limit", "expected", "reason"),
    [
        # Quiet peaks: a plain gain reaches the target exactly, no limiter.
        (loud(-20.0, -9.0), -14.0, -1.0, 6.0, None, -14.0, GainReason.GAIN),
        # Too loud: a plain cut (never needs the limiter).
        (loud(-6.7, 3.5), -14.0, -1.0, -7.3, None, -14.0, GainReason.GAIN),
        # The field case: 6.6 dB would put peaks at +6.2 dBTP -> gain where the measured curve
        # after the limiter crosses -14 (between 6 dB: -15.5 and 9 dB: -13.3).
        (FIELD, -14.0, -1.0, 8.05, -2.0, -14.0, GainReason.LIMITED),
        # Same source for a -16 LUFS profile: still limited, smaller gain.
        (FIELD, -16.0, -1.0, 5.42, -2.0, -16.0, GainReason.LIMITED),
        # Another ceiling (-2 dBTP): the curve shifts by -1 dB (scale-invariant limiter).
        (FIELD, -14.0, -2.0, 8.53, -3.0, -14.0, GainReason.LIMITED),
        # Silence / room tone: left alone, nothing expected.
        (loud(-62.6, -52.2), -14.0, -1.0, 0.0, None, None, GainReason.SILENT),
        (loud(-70.0, float("-inf")), -14.0, -1.0, 0.0, None, None, GainReason.SILENT),
        # Faint: the gain stops at MAX_GAIN_DB; no limiter needed; staff get a note.
        (loud(-48.6, -32.3), -14.0, -1.0, MAX_GAIN_DB, None, -24.6, GainReason.TOO_QUIET),
        # Faint with a loud click: capped gain, limiter, expected from the measured curve.
        (loud(-45.0, -6.0, ((3.0, -42.0), (6.0, -39.1), (12.0, -33.5), (24.0, -22.0))),
         -14.0, -1.0, MAX_GAIN_DB, -2.0, -22.0, GainReason.TOO_QUIET),
        # 0.1 LU short at the maximum gain counts as reached (no note for staff).
        (loud(-36.6, -20.5, ((18.0, -18.6), (21.0, -15.9), (24.0, -14.1))),
         -14.0, -1.0, 24.0, -2.0, -14.1, GainReason.LIMITED),
        # No candidates (an older measurement): gain + limiter, expectation = target.
        (loud(-20.6, -0.4), -14.0, -1.0, 6.6, -2.0, -14.0, GainReason.LIMITED),
    ],
)
def test_gain_and_limiter_decision(  # type: ignore[no-untyped-def]
    measured, target, ceiling, gain, limit, expected, reason
) -> None:
    """plan_gain picks a plain gain when the peaks allow it, gain + limiter from the measured
    curve when they do not, leaves silence alone and caps the gain for faint recordings."""
    plan = plan_gain(measured, target_i=target, ceiling_tp=ceiling)
    assert plan.gain_db == pytest.approx(gain, abs=0.01)
    assert plan.limit_db == (None if limit is None else pytest.approx(limit))
    assert plan.expected_i == (None if expected is None else pytest.approx(expected, abs=0.01))
    assert plan.reason is reason
    assert (plan.note_de("folge.mp4") is not None) == (
        reason in (GainReason.TOO_QUIET, GainReason.SILENT))


def test_notes_are_german_and_name_the_file() -> None:
    """The notes staff see say what happened in German, with German decimals."""
    faint = plan_gain(loud(-48.6, -32.3), target_i=-14.0, ceiling_tp=-1.0)
    note = faint.note_de("03-matzlow.mp4")
    assert note is not None
    assert "„03-matzlow.mp4“ ist sehr leise" in note and "−24,6 statt −14 LUFS" in note
    silent = plan_gain(loud(-65.0, -50.0), target_i=-14.0, ceiling_tp=-1.0).note_de("a.mp4")
    assert silent is not None and "nicht verstärkt" in silent


def test_parse_ebur128_summaries() -> None:
    """Named ebur128 summaries are parsed into numbers, including digital silence (-inf)."""
    stderr = (
        "[ebur128@g3 @ 0x7f] Summary:\n\n  Integrated loudness:\n    I:         -15.9 LUFS\n"
        "    Threshold: -26.1 LUFS\n\n  Loudness range:\n    LRA:         1.4 LU\n"
        "    Threshold: -36.0 LUFS\n    LRA low:   -17.0 LUFS\n    LRA high:  -15.6 LUFS\n"
        "[ebur128@src @ 0x7e] Summary:\n\n  Integrated loudness:\n    I:         -70.0 LUFS\n"
        "    Threshold:   0.0 LUFS\n\n  Loudness range:\n    LRA:         0.0 LU\n"
        "    Threshold:   0.0 LUFS\n    LRA low:     0.0 LUFS\n    LRA high:    0.0 LUFS\n\n"
        "  True peak:\n    Peak:       -inf dBFS\n[out#0/null @ 0x1] video:0KiB\n"
    )
    found = parse_ebur128(stderr)
    assert found["g3"] == {"i": -15.9, "thresh": -26.1, "lra": 1.4}
    assert found["src"]["i"] == -70.0 and found["src"]["tp"] == float("-inf")


def test_measurement_has_the_limiter_curve(corpus: Callable[[str], Path]) -> None:
    """One audio-only pass measures the narration and its loudness after each candidate gain
    + limiter; the curve rises and flattens as the limiter works harder."""
    m = measure_loudness(corpus("narration"), limit_db=-2.0)
    assert -22.5 < m.input_i < -19.0 and -1.5 < m.input_tp < 0.5
    gains = [g for g, _ in m.limited]
    values = [lufs for _, lufs in m.limited]
    assert gains == [3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0, 24.0]
    assert values == sorted(values)
    assert values[-1] - values[-2] < values[1] - values[0]  # diminishing returns
    assert values[0] < m.input_i + 3.0  # the limiter already costs loudness at +3 dB


@pytest.mark.parametrize("kind", AUDIO_TYPES)
def test_every_corpus_sound_is_normalised_and_verified(
    corpus: Callable[[str], Path], small_profiles: dict[str, Profile], tmp_path: Path, kind: str
) -> None:
    """Each realistic sound becomes renditions that pass verify: speech, music, peaks and
    quiet speech within 1 LU of -14 LUFS and under the true-peak ceiling; a faint voice as
    loud as 24 dB allow, with a German note; room tone and missing audio stay silent."""
    profiles = [small_profiles["landscape"], small_profiles["vertical-burned"]]
    media = prepare(corpus(kind), None, profiles, tmp_path, title="Folge 1", branding=False,
                    thumbnail_at=1.0)
    assert media.verified, [p.message_de for r in media.renditions for p in r.problems]
    codes = {p.code for p in media.problems}
    for r in media.renditions:
        assert not [p for p in r.problems if p.code == "loudness" and "Fassung" in p.message_de]
        if kind == "no_audio":
            assert r.loudness_lufs is None
            continue
        assert r.true_peak_db is not None
        assert r.true_peak_db <= -1.0 + TRUE_PEAK_MARGIN
        if kind == "near_silence":
            assert r.loudness_lufs < -60.0  # not boosted into noise
        elif kind == "faint":
            assert -26.0 < r.loudness_lufs < -23.0
        else:
            assert abs(r.loudness_lufs - -14.0) <= LOUDNESS_TOLERANCE, r.loudness_lufs
    if kind == "faint":
        assert "loudness" in codes
    elif kind in ("near_silence", "no_audio"):
        assert "no_audio" in codes
    else:
        assert not codes & {"loudness", "no_audio"}


def test_a_cached_rendition_keeps_its_loudness_note(
    corpus: Callable[[str], Path], small_profiles: dict[str, Profile], tmp_path: Path
) -> None:
    """The note about a faint recording is still reported when the rendition comes from the
    cache (it is kept in the rendition's manifest)."""
    profiles = [small_profiles["landscape"]]
    first = prepare(corpus("faint"), None, profiles, tmp_path, title="F", branding=False,
                    thumbnail_at=1.0)
    again = prepare(corpus("faint"), None, profiles, tmp_path, title="F", branding=False,
                    thumbnail_at=1.0)
    assert again.renditions[0].cached
    assert [p for p in again.problems if p.code == "loudness"] == \
        [p for p in first.problems if p.code == "loudness"]


def test_other_target_profiles_are_normalised_separately(
    corpus: Callable[[str], Path], small_profiles: dict[str, Profile], tmp_path: Path
) -> None:
    """A profile with another target (-16 LUFS, -2 dBTP) in the same pass gets its own gain
    and meets its own target, from the one measurement."""
    quiet_profile = replace(small_profiles["square-burned"], loudness_lufs=-16.0,
                            true_peak_db=-2.0)
    media = prepare(corpus("speech_music"), None,
                    [small_profiles["landscape"], quiet_profile], tmp_path, title="F",
                    branding=False, thumbnail_at=1.0)
    assert media.verified
    by_name = {r.profile: r for r in media.renditions}
    assert abs(by_name["landscape"].loudness_lufs - -14.0) <= LOUDNESS_TOLERANCE
    assert abs(by_name["square-burned"].loudness_lufs - -16.0) <= LOUDNESS_TOLERANCE
    assert by_name["square-burned"].true_peak_db <= -2.0 + TRUE_PEAK_MARGIN


def test_missing_espeak_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without espeak-ng the corpus raises an error telling how to install it (no skip)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CorpusError, match="make speech"):
        make_clip(tmp_path / "x.mp4", audio="narration", duration=1.0)

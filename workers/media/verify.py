"""Check a finished rendition against its profile: probe it, measure its loudness, walk its
MP4 boxes. Returns problems; a rendition with no error is ``verified``.

Errors are what a re-render or a fixed installation cures (wrong codec, size, frame rate,
missing audio, moov after mdat, an edit list). Loudness depends on the content, and a retry
renders the same bytes, so a miss of the planned loudness (``LOUDNESS_TOLERANCE``) or the
true-peak ceiling plus the codec's reserve (``TRUE_PEAK_MARGIN``) is a warning that keeps the
rendition usable; only a gross miss (``LOUDNESS_GROSS``, e.g. sound lost) is an error. The
planned loudness is the profile's target unless the source cannot reach it
(``loudness.plan_gain``), which prepare() has already reported to staff.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from workers.media.loudness import GainPlan, Loudness, de, measure_loudness
from workers.media.probe import ProbeInfo, probe
from workers.media.problems import Code, MediaError, Problem, Severity
from workers.media.profiles import Profile

DURATION_TOLERANCE = 0.1  # seconds
LOUDNESS_TOLERANCE = 1.0  # LU around the planned integrated loudness
LOUDNESS_GROSS = 6.0  # LU: further off than this, the audio is broken (error)
# The limiter keeps the sound fed to the encoder 1 dB under the ceiling (4x oversampled), but
# AAC at 128 kbps adds quantisation noise: after decoding, short noise-like transients (a clap)
# measured up to 2.6 dB over the ceiling (16 clap placements, bench/README.md), speech and
# music stayed under it. Only more than this margin is reported.
TRUE_PEAK_MARGIN = 3.0  # dB over the profile's ceiling, measured after AAC decoding
CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta",
                   b"mvex", b"moof", b"traf"}


@dataclass(frozen=True, kw_only=True)
class Verification:
    info: ProbeInfo
    loudness: Loudness | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


def mp4_boxes(path: Path, limit: int = 4096) -> list[tuple[int, str]]:
    """Pure-ish: (depth, type) of every box, walking into containers (moov, trak, edts, ...)."""
    found: list[tuple[int, str]] = []
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        stack = [(0, fh.tell(), 0)]
        while stack and len(found) < limit:
            offset, end, depth = stack.pop()
            while offset + 8 <= end and len(found) < limit:
                fh.seek(offset)
                header = fh.read(16)
                size, kind = struct.unpack(">I4s", header[:8])
                head = 8
                if size == 1 and len(header) == 16:
                    size, head = struct.unpack(">Q", header[8:16])[0], 16
                elif size == 0:
                    size = end - offset
                if size < head or offset + size > end:
                    break
                found.append((depth, kind.decode("latin-1")))
                if kind in CONTAINER_BOXES:
                    stack.append((offset + size, end, depth))  # siblings after the children
                    stack.append((offset + head, offset + size, depth + 1))
                    break
                offset += size
    return found


def top_level_boxes(path: Path, limit: int = 64) -> list[str]:
    """The order of top-level MP4 boxes (``moov`` before ``mdat`` = faststart)."""
    return [kind for depth, kind in mp4_boxes(path, limit=4096) if depth == 0][:limit]


def verify_rendition(
    path: Path,
    profile: Profile,
    *,
    expected_duration: float,
    expected_fps: float | None = None,
    gain: GainPlan | None = None,
) -> Verification:
    """Probe ``path`` and compare with ``profile``; never raises for a bad output, reports.

    ``gain`` is what the transcode did to the audio (None: the source had no audio, the
    rendition carries generated silence and its loudness is not measured)."""
    name = Path(path).name
    problems: list[Problem] = []

    def fail(what: str) -> None:
        problems.append(Problem(
            code=Code.VERIFY_FAILED, severity=Severity.ERROR,
            message_de=f"Die Fassung „{profile.name}“ ({name}) ist fehlerhaft: {what}. "
            "Bitte die Aufbereitung neu starten; bleibt der Fehler, die Technik informieren.",
        ))

    try:
        info = probe(path)
    except MediaError as exc:
        raise MediaError(
            Code.VERIFY_FAILED,
            f"Die Fassung „{profile.name}“ ({name}) ist nicht lesbar. Bitte die Aufbereitung "
            "neu starten.",
            detail=exc.message_de,
        ) from exc
    if info.video_codec != "h264" or not info.video_profile.startswith("High"):
        fail(f"Videocodec {info.video_codec} {info.video_profile} statt H.264 High")
    if info.pix_fmt != profile.pix_fmt:
        fail(f"Pixelformat {info.pix_fmt} statt {profile.pix_fmt}")
    if (info.width, info.height) != (profile.width, profile.height):
        fail(f"{info.width}×{info.height} statt {profile.width}×{profile.height} Pixel")
    fps = expected_fps or float(profile.fps)
    if info.vfr or abs(info.fps - fps) > 0.05:
        fail(f"Bildrate {info.fps:g} fps (variabel: {info.vfr}) statt konstant {fps:g}")
    if abs(info.duration - expected_duration) > DURATION_TOLERANCE:
        fail(f"Länge {info.duration:.2f} s statt {expected_duration:.2f} s")
    if not info.has_audio or info.audio_codec != "aac" or info.audio_rate != profile.audio_rate:
        fail("Tonspur fehlt oder ist nicht AAC mit 48 kHz")
    if info.rotation:
        fail(f"Drehung {info.rotation}° ist noch gesetzt")
    boxes = mp4_boxes(Path(path))
    top = [kind for depth, kind in boxes if depth == 0]
    if "moov" not in top or ("mdat" in top and top.index("moov") > top.index("mdat")):
        fail("Indexdaten (moov) stehen nicht am Dateianfang (faststart)")
    if any(kind == "elst" for _, kind in boxes):
        fail("die Datei enthält eine Edit-Liste (Instagram nimmt keine an)")
    loudness = None
    if info.has_audio and gain is not None:
        loudness = measure_loudness(Path(path))
        problems.extend(_loudness_problems(loudness, gain, profile, name))
    for limits in profile.platforms:
        if info.size_bytes > limits.max_bytes:
            problems.append(Problem(
                code=Code.SIZE_EXCEEDED, severity=Severity.WARNING,
                message_de=f"Die Fassung „{profile.name}“ ist {info.size_bytes / 1e6:.0f} MB "
                f"groß; {limits.name} nimmt höchstens {limits.max_bytes / 1e6:.0f} MB an.",
            ))
    return Verification(info=info, loudness=loudness, problems=tuple(problems))


def _loudness_problems(
    measured: Loudness, gain: GainPlan, profile: Profile, name: str
) -> list[Problem]:
    """Pure: the rendition's loudness against the plan (warnings; an error if sound is lost)."""
    label = f"Die Fassung „{profile.name}“ ({name})"
    used = " Sie wird trotzdem verwendet; bitte der Technik melden."
    out: list[Problem] = []
    if gain.expected_i is None:  # silence in, silence out
        if not measured.silent:
            out.append(Problem(code=Code.LOUDNESS, severity=Severity.WARNING,
                               message_de=f"{label} ist lauter als die fast stumme Vorlage "
                               f"({de(measured.input_i)} LUFS).{used}"))
        return out
    miss = measured.input_i - gain.expected_i
    if abs(miss) > LOUDNESS_GROSS:
        out.append(Problem(code=Code.VERIFY_FAILED, severity=Severity.ERROR,
                           message_de=f"{label} ist fehlerhaft: Lautheit {de(measured.input_i)} "
                           f"LUFS statt {de(gain.expected_i)} LUFS – der Ton ist beschädigt. "
                           "Bitte die Aufbereitung neu starten; bleibt der Fehler, die Technik "
                           "informieren."))
    elif abs(miss) > LOUDNESS_TOLERANCE:
        out.append(Problem(code=Code.LOUDNESS, severity=Severity.WARNING,
                           message_de=f"{label} hat {de(measured.input_i)} LUFS statt "
                           f"{de(gain.expected_i)} LUFS (erlaubt ±{LOUDNESS_TOLERANCE:g} LU)."
                           f"{used}"))
    if measured.input_tp > gain.ceiling_tp + TRUE_PEAK_MARGIN:
        out.append(Problem(code=Code.LOUDNESS, severity=Severity.WARNING,
                           message_de=f"{label} hat nach der AAC-Kodierung Spitzenpegel bis "
                           f"{de(measured.input_tp)} dBTP (Grenze {de(gain.ceiling_tp)} dBTP, "
                           f"+{de(TRUE_PEAK_MARGIN)} dB Kodierreserve).{used}"))
    return out

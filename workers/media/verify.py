"""Check finished renditions against their profiles: probe them, measure their loudness, walk
their MP4 boxes. Returns problems; a rendition with no error is ``verified``.
``verify_renditions`` does all renditions of a pass with one ffmpeg process (demux only, plus
one audio decode per distinct sound); ``verify_rendition`` checks one file.

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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from workers.media.loudness import (
    GainPlan,
    Loudness,
    de,
    loudness_of,
    measure_loudness,
    parse_ebur128,
)
from workers.media.probe import (
    DAMAGE_MARKERS,
    ProbeInfo,
    parse_header,
    parse_packets,
    probe,
    probe_fields,
    sha256_file,
    split_inputs,
)
from workers.media.problems import Code, MediaError, Problem, Severity
from workers.media.profiles import Profile
from workers.media.run import FfmpegFailed, run_ffmpeg

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


@dataclass(frozen=True, kw_only=True)
class Expected:
    """What one rendition must be: its profile, length, frame rate and planned gain
    (``gain`` None: the source had no audio, the rendition carries generated silence and its
    loudness is not measured)."""

    path: Path
    profile: Profile
    duration: float
    fps: float | None = None
    gain: GainPlan | None = None


def verify_rendition(
    path: Path,
    profile: Profile,
    *,
    expected_duration: float,
    expected_fps: float | None = None,
    gain: GainPlan | None = None,
) -> Verification:
    """Probe ``path`` and compare with ``profile``; never raises for a bad output, reports
    (raises ``MediaError`` only when the file cannot be read at all)."""
    want = Expected(path=Path(path), profile=profile, duration=expected_duration,
                    fps=expected_fps, gain=gain)
    try:
        info = probe(want.path)
    except MediaError as exc:
        raise MediaError(
            Code.VERIFY_FAILED,
            f"Die Fassung „{profile.name}“ ({want.path.name}) ist nicht lesbar. Bitte die "
            "Aufbereitung neu starten.",
            detail=exc.message_de,
        ) from exc
    loudness = measure_loudness(want.path) if info.has_audio and gain is not None else None
    return _judge(want, info, loudness)


def verify_renditions(wanted: Sequence[Expected]) -> list[Verification]:
    """Verify every rendition of one transcode pass with a single ffmpeg process.

    The process demuxes all files without decoding (header dump + a framecrc table of every
    video and audio packet) and decodes only the audio it must measure: renditions with the
    same planned gain and audio settings get the same sound from the encoder, so one of them
    is measured and the others are checked to carry the same audio packets (size and checksum
    of each) — any that do not are measured on their own. The files are hashed in threads
    meanwhile. If the shared run fails (a damaged output), every file is verified on its own,
    which names the broken one."""
    if not wanted:
        return []
    try:
        infos, loudness = _inspect(wanted)
    except (FfmpegFailed, ValueError, KeyError):
        return [verify_rendition(w.path, w.profile, expected_duration=w.duration,
                                 expected_fps=w.fps, gain=w.gain) for w in wanted]
    return [_judge(w, info, loud) for w, info, loud in zip(wanted, infos, loudness, strict=True)]


def _inspect(wanted: Sequence[Expected]) -> tuple[list[ProbeInfo], list[Loudness | None]]:
    groups: dict[tuple[object, ...], list[int]] = {}
    for k, w in enumerate(wanted):
        p = w.profile
        key = (w.gain, p.audio_rate, p.audio_channels, p.audio_bitrate_kbps, w.duration)
        groups.setdefault(key, []).append(k)
    measured = [m[0] for m in groups.values() if wanted[m[0]].gain is not None]
    args = ["-nostats"]
    for w in wanted:
        args += ["-i", str(w.path)]
    for k in range(len(wanted)):  # output stream 2k: video of input k, 2k+1: its audio
        args += ["-map", f"{k}:v:0", "-map", f"{k}:a:0"]
    args += ["-c", "copy", "-f", "framecrc", "-"]
    if measured:
        args += ["-filter_complex", ";".join(
            f"[{k}:a:0]ebur128@r{k}=peak=true:framelog=verbose[m{k}]" for k in measured)]
        for k in measured:
            args += ["-map", f"[m{k}]", "-f", "null", "-"]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sha256") as pool:
        digests = [pool.submit(sha256_file, w.path) for w in wanted]
        longest = max(w.duration for w in wanted)
        result = run_ffmpeg(args, capture_stdout=True, timeout=600 + 2 * longest)
        hashes = [d.result() for d in digests]
    if any(marker in result.stderr for marker in DAMAGE_MARKERS):
        raise ValueError("damaged output")
    headers, packets = split_inputs(result.stderr), parse_packets(result.stdout)
    found = parse_ebur128(result.stderr)
    infos = [
        ProbeInfo(path=str(w.path), size_bytes=w.path.stat().st_size, sha256=digest,
                  **probe_fields(parse_header(headers[k]), packets.get(2 * k)))
        for k, (w, digest) in enumerate(zip(wanted, hashes, strict=True))
    ]
    loudness: list[Loudness | None] = [None] * len(wanted)
    for members in groups.values():
        first = members[0]
        if wanted[first].gain is None or not infos[first].has_audio:
            continue
        measured_first = loudness_of(found[f"r{first}"])
        for k in members:
            same = packets[2 * k + 1].rows == packets[2 * first + 1].rows
            loudness[k] = measured_first if same else measure_loudness(wanted[k].path)
    return infos, loudness


def _judge(want: Expected, info: ProbeInfo, loudness: Loudness | None) -> Verification:
    """Pure apart from reading the file's boxes: the probed rendition against its profile."""
    profile, name = want.profile, want.path.name
    problems: list[Problem] = []

    def fail(what: str) -> None:
        problems.append(Problem(
            code=Code.VERIFY_FAILED, severity=Severity.ERROR,
            message_de=f"Die Fassung „{profile.name}“ ({name}) ist fehlerhaft: {what}. "
            "Bitte die Aufbereitung neu starten; bleibt der Fehler, die Technik informieren.",
        ))

    if info.video_codec != "h264" or not info.video_profile.startswith("High"):
        fail(f"Videocodec {info.video_codec} {info.video_profile} statt H.264 High")
    if info.pix_fmt != profile.pix_fmt:
        fail(f"Pixelformat {info.pix_fmt} statt {profile.pix_fmt}")
    if (info.width, info.height) != (profile.width, profile.height):
        fail(f"{info.width}×{info.height} statt {profile.width}×{profile.height} Pixel")
    fps = want.fps or float(profile.fps)
    if info.vfr or abs(info.fps - fps) > 0.05:
        fail(f"Bildrate {info.fps:g} fps (variabel: {info.vfr}) statt konstant {fps:g}")
    if abs(info.duration - want.duration) > DURATION_TOLERANCE:
        fail(f"Länge {info.duration:.2f} s statt {want.duration:.2f} s")
    if not info.has_audio or info.audio_codec != "aac" or info.audio_rate != profile.audio_rate:
        fail("Tonspur fehlt oder ist nicht AAC mit 48 kHz")
    if info.rotation:
        fail(f"Drehung {info.rotation}° ist noch gesetzt")
    boxes = mp4_boxes(want.path)
    top = [kind for depth, kind in boxes if depth == 0]
    if "moov" not in top or ("mdat" in top and top.index("moov") > top.index("mdat")):
        fail("Indexdaten (moov) stehen nicht am Dateianfang (faststart)")
    if any(kind == "elst" for _, kind in boxes):
        fail("die Datei enthält eine Edit-Liste (Instagram nimmt keine an)")
    if loudness is not None and want.gain is not None:
        problems.extend(_loudness_problems(loudness, want.gain, profile, name))
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

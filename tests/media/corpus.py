"""Realistic test media, generated at test time (never committed).

One function makes one clip::

    from tests.media.corpus import make_clip
    make_clip(tmp_path / "folge.mp4", video="720p30", audio="narration", duration=5.0)

``video`` names a shape from ``VIDEO_KINDS`` (``size``/``fps`` override it), ``audio`` a sound
from ``AUDIO_KINDS``; ``sample_rate``/``channels`` choose the audio format of the source. The
container follows the suffix (``.mp4``, ``.mov``). ``make_corpus(dir)`` makes every clip of
``CLIP_TYPES`` (the named combinations the media tests and ``bench/loudness.py`` use) and
returns ``{name: path}``; files that already exist in ``dir`` are reused, so a session-scoped
directory caches them.

Video kinds (``VIDEO_KINDS``): ``1080p25``, ``720p30``, ``phone_mov`` (1280x720 pixels stored
with a 90° display rotation in a QuickTime file: a 720x1280 phone video), ``4_3`` (640x480),
``ntsc`` (29.97 fps), ``vfr`` (variable frame rate: a camera dropping every fourth frame), and
``small`` (320x180, 25 fps; the cheap default for audio tests). The picture is ffmpeg's
``testsrc2`` with temporal grain.

Audio kinds (``AUDIO_KINDS``):

- ``narration``: German speech from ``espeak-ng -v de`` (sentences about a volunteer project
  with 0.7–1.2 s pauses, sentence levels varying by up to 6 dB like a speaker moving at the
  microphone) with one microphone pop, peak-normalised to -0.5 dBFS like a typical voice-over
  export: about -22 LUFS integrated, true peak about -0.5 dBTP (the field-test case: -20.6
  LUFS, -0.4 dBTP, where loudnorm could not reach -14 LUFS).
- ``speech_music``: the narration 6 dB lower, over a music bed (C–Am–F–G chords of detuned
  harmonics, kick drum, noise hi-hat) about 12 dB under the voice.
- ``music``: the music bed alone, mastered loud (soft-clipped, about -7 LUFS, +3.5 dBTP after
  AAC).
- ``peaks``: quiet speech (about -26 LUFS) with a hand clap at full scale (0 dBTP).
- ``quiet``: speech recorded far from the microphone (about -36 LUFS) over room tone.
- ``faint``: a voice barely above the room tone (about -50 LUFS): more than ``MAX_GAIN_DB``
  short of the target, so it stays quieter and staff get a note.
- ``near_silence``: room tone only (filtered noise about -65 dBFS RMS, hum at -70 dBFS).
- ``none``: no audio track at all.

Speech needs Debian's ``espeak-ng`` (``make speech`` installs it); without it ``make_clip``
raises ``CorpusError`` with an install hint, so tests fail loudly instead of skipping.
Everything is deterministic: same arguments, same samples.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.media.run import ffmpeg_exe

SENTENCES = (
    "Willkommen bei Wir tun Gutes.",
    "Heute sind wir in Matzlow, im Landkreis Ludwigslust-Parchim.",
    "Zwölf Freiwillige bauen dort eine neue Bank für den Spielplatz.",
    "Die Kinder aus dem Dorf helfen beim Streichen.",
    "Wer mitmachen möchte, meldet sich einfach beim Heimatverein.",
)
PAUSES_MS = (900, 1200, 700, 1000)  # real pauses between the sentences
SENTENCE_DB = (0.0, -4.0, -1.5, -6.0, -2.5)  # the speaker leans in and away from the microphone


class CorpusError(RuntimeError):
    """A tool the corpus needs is missing (the message says how to install it)."""


@dataclass(frozen=True)
class VideoSpec:
    """The picture of a source clip: stored size, rate, display rotation, VFR."""

    width: int
    height: int
    rate: str = "25"  # ffmpeg rate expression, e.g. "30000/1001"
    rotation: int = 0  # display rotation written into the container (phones: 90)
    vfr: bool = False


VIDEO_KINDS: dict[str, VideoSpec] = {
    "small": VideoSpec(320, 180, "25"),
    "1080p25": VideoSpec(1920, 1080, "25"),
    "720p30": VideoSpec(1280, 720, "30"),
    "phone_mov": VideoSpec(1280, 720, "30", rotation=90),  # use a .mov path
    "4_3": VideoSpec(640, 480, "25"),
    "ntsc": VideoSpec(640, 360, "30000/1001"),
    "vfr": VideoSpec(640, 360, "30", vfr=True),
}
AUDIO_KINDS = ("narration", "speech_music", "music", "peaks", "quiet", "faint", "near_silence",
               "none")

# The standard corpus: name -> make_clip() keyword arguments.
CLIP_TYPES: dict[str, dict[str, object]] = {
    "narration": {"audio": "narration"},
    "speech_music": {"audio": "speech_music"},
    "music": {"audio": "music"},
    "peaks": {"audio": "peaks"},
    "quiet": {"audio": "quiet"},
    "faint": {"audio": "faint"},
    "near_silence": {"audio": "near_silence"},
    "no_audio": {"audio": "none"},
    "mono": {"audio": "narration", "channels": 1},
    "rate_44k": {"audio": "speech_music", "sample_rate": 44100},
    "1080p25": {"video": "1080p25", "audio": "narration"},
    "720p30": {"video": "720p30", "audio": "speech_music"},
    "phone_mov": {"video": "phone_mov", "audio": "narration", "suffix": ".mov"},
    "4_3": {"video": "4_3", "audio": "speech_music"},
    "ntsc": {"video": "ntsc", "audio": "narration"},
    "vfr": {"video": "vfr", "audio": "speech_music"},
}
AUDIO_TYPES = ("narration", "speech_music", "music", "peaks", "quiet", "faint", "near_silence",
               "no_audio", "mono", "rate_44k")  # the CLIP_TYPES that differ in sound only


def _db(value: float) -> float:
    return float(10 ** (value / 20))


def _ffmpeg(*args: str) -> bytes:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args],
                          check=True, capture_output=True, timeout=300).stdout


def espeak_exe() -> str:
    """The ``espeak-ng`` binary, or ``CorpusError`` telling how to install it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise CorpusError(
            "espeak-ng fehlt: die Medientests brauchen deutsche Sprachsynthese. "
            "Installieren mit 'make speech' (oder 'apt-get install espeak-ng')."
        )
    return exe


def _sentence(text: str, rate: int, cache_dir: Path) -> np.ndarray:
    """One sentence from espeak-ng (float mono at ``rate``), cached next to the clips."""
    key = hashlib.sha256(f"{text}|{rate}".encode()).hexdigest()[:12]
    cached = cache_dir / f".speech-{key}-{rate}.f32"
    if not cached.exists():
        raw = cache_dir / f".speech-{key}.wav"
        subprocess.run([espeak_exe(), "-v", "de", "-s", "165", "-w", str(raw), text],
                       check=True, capture_output=True, timeout=120)
        pcm = _ffmpeg("-i", str(raw), "-af", f"aresample={rate}:resampler=soxr",
                      "-ac", "1", "-f", "f32le", "-")
        raw.unlink()
        part = cached.with_suffix(".part")
        part.write_bytes(pcm)
        part.replace(cached)
    return np.frombuffer(cached.read_bytes(), np.float32).astype(np.float64)


def speech(rate: int, cache_dir: Path) -> np.ndarray:
    """The German narration (float mono at ``rate``), peak -0.5 dBFS: the sentences at the
    levels of a speaker who moves relative to the microphone, with pauses between them."""
    parts: list[np.ndarray] = []
    for i, text in enumerate(SENTENCES):
        parts.append(_sentence(text, rate, cache_dir) * _db(SENTENCE_DB[i]))
        if i < len(PAUSES_MS):
            parts.append(np.zeros(int(PAUSES_MS[i] / 1000 * rate)))
    voice = np.concatenate(parts)
    return voice * (_db(-0.5) / np.abs(voice).max())


def music(n: int, rate: int) -> np.ndarray:
    """A music bed: chords of detuned harmonics, a kick on the beat, a noise hi-hat off it."""
    t = np.arange(n) / rate
    rng = np.random.default_rng(7)
    chords = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63),
              (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))  # C, Am, F, G
    bar = 2.0  # seconds per chord
    out = np.zeros(n)
    for index, chord in enumerate(chords):
        on = (np.floor(t / bar) % len(chords)) == index
        if not on.any():
            continue
        local = (t % bar)[on]
        env = np.minimum(1, local / 0.03) * np.exp(-local * 0.8)
        for f0 in chord:
            for k in range(1, 7):
                for detune in (0.998, 1.002):
                    out[on] += env * np.sin(2 * np.pi * f0 * k * detune * t[on]) / k ** 1.3
    beat = 0.5
    local = t % beat
    sweep = 45 + 60 * np.exp(-local * 30)
    out += 2.5 * np.exp(-local * 14) * np.sin(2 * np.pi * np.cumsum(sweep) / rate)
    hat = np.diff(rng.standard_normal(n + 1))  # white noise tilted to the highs
    out += 0.6 * hat * np.exp(-((t + beat / 2) % beat) * 45)
    return out / np.abs(out).max()


def clap(n: int, rate: int, at: float) -> np.ndarray:
    """A hand clap (three noise bursts within 25 ms) at full scale."""
    rng = np.random.default_rng(11)
    out = np.zeros(n)
    start = int(at * rate)
    for offset in (0.0, 0.009, 0.017):
        i = start + int(offset * rate)
        length = min(int(0.06 * rate), n - i)
        if length <= 0:
            continue
        tt = np.arange(length) / rate
        out[i:i + length] += rng.standard_normal(length) * np.exp(-tt * 90)
    return out / np.abs(out).max()


def plosive(n: int, rate: int, at: float) -> np.ndarray:
    """A microphone pop (a "P" without pop filter): a 40 ms low-frequency thump at full scale;
    it sets the true peak but hardly adds loudness (K-weighting)."""
    out = np.zeros(n)
    start = int(at * rate)
    length = min(int(0.04 * rate), n - start)
    if length > 0:
        tt = np.arange(length) / rate
        out[start:start + length] = np.sin(2 * np.pi * 60 * tt) * np.sin(np.pi * tt / 0.04)
    return out


def room_tone(n: int, rate: int, rms_db: float = -65.0) -> np.ndarray:
    """Lowpassed noise at ``rms_db`` dBFS plus 50 Hz mains hum 5 dB lower."""
    rng = np.random.default_rng(3)
    noise = np.convolve(rng.standard_normal(n + 63), np.hanning(64), mode="valid")[:n]
    noise *= _db(rms_db) / np.sqrt(np.mean(noise ** 2))
    t = np.arange(n) / rate
    return noise + _db(rms_db - 5) * np.sqrt(2) * np.sin(2 * np.pi * 50 * t)


def _fit(signal: np.ndarray, n: int, rate: int) -> np.ndarray:
    """Cut or pad to ``n`` samples with a 50 ms fade out (no click at a cut)."""
    out = np.zeros(n)
    m = min(n, len(signal))
    out[:m] = signal[:m]
    fade = min(m, int(0.05 * rate))
    out[m - fade:m] *= np.linspace(1, 0, fade)
    return out


def make_audio(kind: str, duration: float, rate: int, cache_dir: Path) -> np.ndarray:
    """Samples (float64 mono, -1..1) of one ``AUDIO_KINDS`` sound."""
    n = round(duration * rate)
    if kind == "narration":
        voice = _fit(speech(rate, cache_dir)[int(0.05 * rate):], n, rate) * _db(-2.5)
        mix = voice + plosive(n, rate, at=min(0.6, duration / 3))
        return mix * (_db(-0.5) / np.abs(mix).max())
    if kind == "speech_music":
        voice = _fit(speech(rate, cache_dir), n, rate) * _db(-6)
        bed = music(n, rate) * _db(-22)
        mix = voice + bed
        return mix * (_db(-1.0) / np.abs(mix).max())
    if kind == "music":
        bed = np.tanh(2.5 * music(n, rate))  # a loud master: soft-clipped
        return bed * (_db(-0.1) / np.abs(bed).max())
    if kind == "peaks":
        voice = _fit(speech(rate, cache_dir), n, rate) * _db(-10)
        return voice + clap(n, rate, at=min(1.5, duration / 2)) * _db(-0.05)
    if kind == "quiet":
        return _fit(speech(rate, cache_dir), n, rate) * _db(-16) + room_tone(n, rate, -58)
    if kind == "faint":
        return _fit(speech(rate, cache_dir), n, rate) * _db(-30) + room_tone(n, rate, -68)
    if kind == "near_silence":
        return room_tone(n, rate)
    raise ValueError(f"unknown audio kind {kind!r}; known: {AUDIO_KINDS}")


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    """24-bit PCM WAV; stereo gets the same signal, the right channel 1 ms later."""
    data = np.clip(samples, -1, 1)
    if channels == 2:
        delay = int(0.001 * rate)
        data = np.stack([data, np.concatenate([np.zeros(delay), data[:len(data) - delay]])], 1)
    ints = np.round(data.reshape(-1) * (2 ** 23 - 1)).astype("<i4")
    packed = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(channels)
        fh.setsampwidth(3)
        fh.setframerate(rate)
        fh.writeframes(packed)
    return path


def make_clip(
    path: Path,
    *,
    video: str = "small",
    audio: str = "narration",
    duration: float = 5.0,
    size: tuple[int, int] | None = None,
    fps: str | None = None,
    sample_rate: int = 48000,
    channels: int = 2,
) -> Path:
    """Write one H.264 clip to ``path`` (container from the suffix) and return ``path``.

    ``size`` (stored width, height) and ``fps`` override the ``video`` kind; the audio is AAC at
    ``sample_rate`` with ``channels`` (``audio="none"``: no audio track).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = VIDEO_KINDS[video]
    width, height = size or (spec.width, spec.height)
    rate = fps or spec.rate
    args = ["-f", "lavfi", "-i",
            f"testsrc2=size={width}x{height}:rate={rate}:duration={duration},"
            "noise=alls=2:allf=t"]
    wav = None
    if audio != "none":
        samples = make_audio(audio, duration, sample_rate, path.parent)
        wav = write_wav(path.with_name(f".{path.stem}.wav"), samples, sample_rate, channels)
        args += ["-i", str(wav)]
    vf = ["format=yuv420p"]
    if spec.vfr:
        vf.insert(0, "select='not(eq(mod(n\\,4)\\,2))'")
        args += ["-fps_mode", "vfr"]
    args += ["-vf", ",".join(vf), "-c:v", "libx264", "-preset", "superfast", "-crf", "26"]
    if wav is not None:
        args += ["-c:a", "aac", "-b:a", "192k", "-shortest"]
    target = path if not spec.rotation else path.with_name(f".{path.stem}.unrotated{path.suffix}")
    try:
        _ffmpeg(*args, str(target))
        if spec.rotation:  # phones store the sensor's pixels and a display rotation
            _ffmpeg("-display_rotation", str(spec.rotation), "-i", str(target), "-c", "copy",
                    str(path))
    finally:
        if wav is not None:
            wav.unlink(missing_ok=True)
        if target != path:
            target.unlink(missing_ok=True)
    return path


def make_corpus(
    directory: Path, names: tuple[str, ...] | None = None, *, duration: float = 5.0
) -> dict[str, Path]:
    """Make (or reuse) the ``CLIP_TYPES`` clips named ``names`` (default: all) in ``directory``."""
    directory = Path(directory)
    clips: dict[str, Path] = {}
    for name in names or tuple(CLIP_TYPES):
        kwargs = dict(CLIP_TYPES[name])
        suffix = str(kwargs.pop("suffix", ".mp4"))
        path = directory / f"{name}-{duration:g}s{suffix}"
        if not path.exists():
            part = path.with_name(f"{path.stem}.part{suffix}")
            make_clip(part, duration=duration, **kwargs)  # type: ignore[arg-type]
            part.replace(path)
        clips[name] = path
    return clips

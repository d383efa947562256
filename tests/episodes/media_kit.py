"""Generated media for the queue-time checks (nothing committed): a short vertical phone clip
with German narration (espeak-ng) and broken videos and subtitle files, each named as a staffer
would name it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from workers.media.run import ffmpeg_exe

NARRATION = "Willkommen in Matzlow. [[_]] Hier hilft das ganze Dorf beim Bücherflohmarkt."
SECONDS = 4.0

GOOD_SRT = (  # cp1252 like a German Windows tool; one overlap of 0.1 s that is trimmed
    "1\n00:00:00,200 --> 00:00:01,900\nWillkommen in Matzlow.\n\n"
    "2\n00:00:01,800 --> 00:00:03,600\nHier hilft das ganze Dorf – Grüße an alle!\n"
)
SUBTITLES = {
    "gut.srt": GOOD_SRT.encode("cp1252"),
    "ueberlappend.srt": (
        b"1\n00:00:00,200 --> 00:00:03,000\nWillkommen in Matzlow.\n\n"
        b"2\n00:00:01,000 --> 00:00:03,600\nHier hilft das ganze Dorf.\n"),
    "durcheinander.srt": (
        b"1\n00:00:02,000 --> 00:00:03,000\nHier hilft das ganze Dorf.\n\n"
        b"2\n00:00:00,200 --> 00:00:01,500\nWillkommen in Matzlow.\n"),
    "nach-ende.srt": (
        "1\n00:00:00,200 --> 00:00:01,500\nWillkommen in Matzlow.\n\n"
        "2\n00:00:10,000 --> 00:00:12,000\nDas gehört zu einem anderen Video.\n").encode(),
    "zu-viele.srt": "".join(
        f"{i + 1}\n00:00:{i // 25:02d},{i % 25 * 40:03d} --> 00:00:{i // 25:02d},"
        f"{i % 25 * 40 + 30:03d}\nSilbe {i + 1}\n\n" for i in range(100)).encode(),
    "zu-lang.srt": ("1\n00:00:00,200 --> 00:00:03,500\n" + "Sehr viel Text. " * 40
                    + "\n").encode(),
}


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args], check=True,
                   timeout=120)


def make_media(d: Path) -> dict[str, Path]:
    """Every file of the checks in ``d``; keys are the file names."""
    d.mkdir(parents=True, exist_ok=True)
    wav = d / "sprecher.wav"
    subprocess.run(["espeak-ng", "-v", "de", "-s", "150", "-w", str(wav), NARRATION],
                   check=True, timeout=60)
    good = d / "03-matzlow.mp4"  # a phone clip: vertical, 30 fps, narration padded to 4 s
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=360x640:rate=30:duration={SECONDS}",
            "-i", str(wav), "-af", "apad", "-t", str(SECONDS), "-c:v", "libx264",
            "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-movflags", "+faststart", str(good))
    files = {good.name: good}
    (d / "leer.mp4").write_bytes(b"")
    data = good.read_bytes()
    (d / "abgebrochen.mp4").write_bytes(data[: len(data) // 3])
    (d / "notiz.mp4").write_text("Bitte das Video von Frau Schulz nachreichen.\n",
                                 encoding="utf-8")
    _ffmpeg("-i", str(wav), "-c:a", "aac", str(d / "nur-ton.mp4"))
    for name in ("leer.mp4", "abgebrochen.mp4", "notiz.mp4", "nur-ton.mp4"):
        files[name] = d / name
    for name, body in SUBTITLES.items():
        (d / name).write_bytes(body)
        files[name] = d / name
    return files


#: (video, subtitles) -> (field, the German message's start), for a file named in episode 1
BROKEN = {
    ("leer.mp4", None): ("video", "Die Datei „leer.mp4“ ist leer (0 Byte)."),
    ("abgebrochen.mp4", None): ("video", "Die Datei „abgebrochen.mp4“ ist unvollständig"),
    ("notiz.mp4", None): ("video", "Die Datei „notiz.mp4“ ist kein lesbares Video"),
    ("nur-ton.mp4", None): ("video", "Die Datei „nur-ton.mp4“ enthält keine Videospur"),
    ("03-matzlow.mp4", "ueberlappend.srt"): (
        "subtitles", "In der Untertiteldatei „ueberlappend.srt“ überlappen sich 1 Untertitel "
        "um mehr als 0,5 s (zuerst Nr. 1"),
    ("03-matzlow.mp4", "durcheinander.srt"): (
        "subtitles", "Die Untertiteldatei „durcheinander.srt“ ist nicht zeitlich sortiert: "
        "Nr. 2 beginnt um 00:00:00,200"),
    ("03-matzlow.mp4", "nach-ende.srt"): (
        "subtitles", "Die Untertiteldatei „nach-ende.srt“ enthält 1 Untertitel, die erst nach "
        "dem Videoende (4,0 s) beginnen"),
    ("03-matzlow.mp4", "zu-viele.srt"): (
        "subtitles", "Die Untertiteldatei „zu-viele.srt“ enthält 100 Untertitel; für ein Video "
        "von 4,0 s sind höchstens 30 erlaubt"),
    ("03-matzlow.mp4", "zu-lang.srt"): (
        "subtitles", "Die Untertiteldatei „zu-lang.srt“ enthält 1 Untertitel mit mehr als 500 "
        "Zeichen"),
}

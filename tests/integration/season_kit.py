"""Builds small seasons for integration tests: generated clips, subtitle files, a season file,
sandbox accounts wired into a :class:`tests.harness.Stack`."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from config.credentials import env_prefix
from sandbox import Sandbox
from workers.media import ffmpeg_exe

FAST = {
    "poll_interval_min": 0.1,
    "poll_interval_max": 0.5,
    "retry_backoff": 0.2,
    "media_branding": False,
}


def make_clip(path: Path, *, seconds: float = 1.5, size: str = "320x240",
              audio: bool = True) -> Path:
    """A tiny test clip made by ffmpeg's lavfi sources (picture and a sine tone)."""
    argv = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-shortest"]
    subprocess.run([*argv, str(path)], check=True)
    return path


def make_srt(path: Path, text: str = "Wir tun GUTes – Grüße aus Plau am See") -> Path:
    path.write_text(f"1\n00:00:00,100 --> 00:00:01,200\n{text}\n", encoding="utf-8")
    return path


def account_settings(sb: Sandbox, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(settings entry for wtg.toml, environment variables with its secrets)."""
    acc, secrets = sb.account(name)  # type: ignore[attr-defined]
    entry = {"name": name, "platform": acc.platform, "display_name": acc.display_name,
             "api_base": acc.api_base, "options": dict(acc.options)}
    env = {env_prefix(name) + k.upper(): v for k, v in secrets.items()}
    return entry, env


def write_season(
    root: Path, *, accounts: Sequence[str], episodes: int = 1,
    slots: Sequence[datetime] | None = None, clip: Path | None = None,
    subtitles: bool = True, slug: str = "test-season",
) -> Path:
    """A season file with ``episodes`` episodes (0 = trailer), all sharing one small clip."""
    root.mkdir(parents=True, exist_ok=True)
    clip = clip or make_clip(root / "clip.mp4")
    srt = make_srt(root / "clip.srt") if subtitles else None
    first = (slots[0] if slots else datetime(2030, 1, 3, 17, 0)).date()
    lines = [
        "[series]", f'slug = "{slug}"', 'name = "Wir tun GUTes (Test)"',
        'timezone = "Europe/Berlin"', 'weekday = "thursday"', 'time = "17:00"',
        f"first_date = {first.isoformat()}",
        f"last_date = {(first + timedelta(days=7 * (episodes + 2))).isoformat()}",
        'hashtags = ["WirTunGUTes", "LUP"]',
        f"accounts = [{', '.join(repr(a).replace(chr(39), chr(34)) for a in accounts)}]",
        'link = "https://www.kreis-lup.de/wirtungutes"', 'credits = "Landkreis LUP"', "",
    ]
    places = ["Plate", "Püttelkow", "Matzlow", "Parchim", "Lassahn", "Boizenburg", "Pinnow"]
    for n in range(episodes):
        place = "Landkreis" if n == 0 else places[(n - 1) % len(places)]
        lines += [
            "[[episodes]]", f"number = {n}",
            f'title = "Wir tun GUTes – {"Trailer" if n == 0 else f"Folge {n}: {place}"}"',
            f'place = "{place}"', f'description = "Ehrenamt in {place}."',
            f'video = "{clip}"',
        ]
        if srt:
            lines.append(f'subtitles = "{srt}"')
        if slots:
            lines.append(f"slot = {slots[n].isoformat()}")
        lines.append("")
    path = root / "season.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

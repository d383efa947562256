"""What the demo brings along: its clips and subtitle files, smaller rendition profiles, the
logins that survive a restart, and the watch that tells a stall from slow progress.

* Clips: a landscape camera, vertical phone clips and a 4:3 camera (``SHAPES``), 3.5 s by
  default (the shortest Reels and Instagram take is 3 s) with a tone, plus a German SRT file.
* Profiles: the shipped ``config/media.toml`` with every frame made smaller (``demo_profiles``):
  the same profiles, caption modes, platforms and checks, a fraction of the pixels to encode.
* Logins: ``DemoAccess`` keeps the dashboard's secret key and the two staff passwords in
  ``<workdir>/zugang.json`` (0600), so a restarted demo keeps its logins.
* Stalls: ``Stall`` says how long a progress signature (e.g. every episode's media status and
  percentage) has not changed; the demo gives up only after ``stall_minutes`` without change,
  never after a fixed time.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from episodes.capabilities.video import VIDEO

REPO = Path(__file__).resolve().parent.parent
MEDIA_TOML = REPO / "config" / "media.toml"
#: some sources deliberately of another shape: vertical phone clips and a 4:3 camera. Each as
#: small as every platform's minimum allows (Reels: 540x960 and as many pixels), so season load
#: has nothing to say about them; the renditions are the smaller demo profiles.
SHAPES = {3: "540x960", 7: "540x960", 5: "960x720"}
LANDSCAPE = "960x540"
SUBTITLES = (
    "Willkommen bei „Wir tun GUTes“ aus {place}!",
    "Hier packen Nachbarinnen und Nachbarn gemeinsam an – für ein gutes Miteinander.",
)
ACCESS_FILE = "zugang.json"
STAFF = (("redaktion", "editor"), ("freigabe", "approver"))


# --- clips and subtitles ----------------------------------------------------------------------
def make_clip(path: Path, *, seconds: float, size: str, hue: int, freq: int) -> None:
    from workers.media import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds},hue=h={hue}",
         "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", str(path)],
        check=True,
    )


def write_srt(path: Path, place: str, seconds: float) -> None:
    half = seconds / 2
    cues = [(0.1, half - 0.05, SUBTITLES[0]), (half, seconds - 0.1, SUBTITLES[1])]
    out = []
    for i, (a, b, text) in enumerate(cues, 1):
        out.append(f"{i}\n{_ts(a)} --> {_ts(b)}\n{text.format(place=place)}\n")
    path.write_text("\n".join(out), encoding="utf-8")


def _ts(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


# --- smaller profiles -------------------------------------------------------------------------
def demo_profiles(target: Path, *, shortest_side: int = 360, source: Path = MEDIA_TOML) -> Path:
    """Write the shipped profiles with frames scaled down to ``shortest_side`` pixels (or to
    the smallest frame a profile's platforms accept, e.g. Facebook Reels' 540x960)."""
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    limits = {name: v.to_dict() for name, v in VIDEO.items()}
    for profile in data["profiles"].values():
        w, h = profile["width"], profile["height"]
        factor = min(1.0, shortest_side / min(w, h))
        for name in profile.get("platforms", []):
            lim = limits.get(name, {})
            factor = max(factor, lim.get("min_width", 0) / w, lim.get("min_height", 0) / h)
        profile["width"], profile["height"] = _even(w * factor), _even(h * factor)
        if "thumbnail_width" in profile:
            profile["thumbnail_width"] = 2 * round(profile["thumbnail_width"] * factor / 2)
            profile["thumbnail_height"] = 2 * round(profile["thumbnail_height"] * factor / 2)
    target.write_text("# made by `wtg demo` from config/media.toml: smaller frames\n"
                      + tomli_w.dumps(data), encoding="utf-8")
    return target


def _even(value: float) -> int:
    return max(2, math.ceil(value / 2 - 1e-9) * 2)


# --- logins that survive a restart ------------------------------------------------------------
@dataclass(frozen=True)
class DemoAccess:
    """The demo dashboard's secret key and the staff logins (name -> (role, password))."""

    secret_key: str
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load_or_create(cls, workdir: Path) -> DemoAccess:
        """The access of an earlier run in ``workdir``, or new random ones (written 0600)."""
        path = workdir / ACCESS_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            access = cls(raw["secret_key"], {k: (v[0], v[1]) for k, v in raw["logins"].items()})
            if len(access.secret_key) >= 32 and {n for n, _ in STAFF} <= set(access.logins):
                return access
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass
        access = cls(secrets.token_urlsafe(48),
                     {name: (role, secrets.token_urlsafe(12)) for name, role in STAFF})
        access.save(workdir)
        return access

    def save(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / ACCESS_FILE
        tmp = path.with_name(f".{ACCESS_FILE}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"secret_key": self.secret_key,
                       "logins": {k: list(v) for k, v in self.logins.items()}}, fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


def fresh_workdir(workdir: Path) -> None:
    """Empty ``workdir`` for a new run, keeping only the logins file."""
    workdir.mkdir(parents=True, exist_ok=True)
    for child in workdir.iterdir():
        if child.name == ACCESS_FILE:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


# --- stalls -----------------------------------------------------------------------------------
class Stall:
    """How long ``signature()`` has stayed the same. ``clock`` is injectable for tests."""

    def __init__(self, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = minutes * 60.0
        self._clock = clock
        self._last: Hashable = object()
        self._since = clock()

    def see(self, signature: Hashable) -> bool:
        """Record the current signature; True once it has not changed for ``minutes``."""
        now = self._clock()
        if signature != self._last:
            self._last, self._since = signature, now
        return now - self._since >= self.limit

    @property
    def idle_seconds(self) -> float:
        return self._clock() - self._since


def failure_text(cause_de: str, workdir: Path, logs: list[Path]) -> str:
    """What the demo prints when it fails: the cause first, then where to look."""
    lines = [f"Demo fehlgeschlagen: {cause_de}", "", f"Arbeitsordner: {workdir}", "Protokolle:"]
    lines += [f"  {log}" for log in logs]
    return "\n".join(lines)


__all__ = [
    "ACCESS_FILE", "LANDSCAPE", "SHAPES", "STAFF", "DemoAccess", "Stall", "demo_profiles",
    "failure_text", "fresh_workdir", "make_clip", "write_srt",
]

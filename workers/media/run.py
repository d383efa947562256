"""The one place that starts ffmpeg.

``run_ffmpeg`` takes an argv list (never a shell string), reports progress from ffmpeg's
``-progress`` stream, raises ``FfmpegFailed`` with the last stderr line, and makes outputs
atomic: every path listed in ``outputs`` is swapped for a temporary name in the argv and only
``os.replace``d onto the final name when ffmpeg succeeded.
"""

from __future__ import annotations

import collections
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO

ProgressCallback = Callable[[float, float | None], None]


class FfmpegFailed(Exception):
    """ffmpeg exited non-zero; ``last_line`` is its last stderr line."""

    def __init__(self, returncode: int, last_line: str, stderr: str) -> None:
        self.returncode = returncode
        self.last_line = last_line
        self.stderr = stderr
        super().__init__(f"ffmpeg exited with {returncode}: {last_line}")


@dataclass(frozen=True)
class FfmpegResult:
    stdout: str
    stderr: str
    seconds: float


@cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _temp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")


def run_ffmpeg(
    args: Sequence[str],
    *,
    outputs: Sequence[Path] = (),
    expected_seconds: float | None = None,
    progress: ProgressCallback | None = None,
    timeout: float | None = None,
    capture_stdout: bool = False,
) -> FfmpegResult:
    """Run ``ffmpeg <args>``; outputs appear atomically, or not at all on failure."""
    temps = {str(final): _temp_name(Path(final)) for final in outputs}
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin"]
    if progress is not None:
        argv += ["-progress", "pipe:1", "-nostats"]
    argv += [str(temps[a]) if a in temps else a for a in args]
    for temp in temps.values():
        temp.parent.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if (progress is not None or capture_stdout) else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    tail: collections.deque[str] = collections.deque(maxlen=400)
    assert proc.stderr is not None
    reader = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
    reader.start()
    out_lines: list[str] = []
    try:
        if proc.stdout is not None:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if capture_stdout:
                    out_lines.append(line)
                if progress is not None:
                    _report(line, started, expected_seconds, progress)
        proc.wait(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        _discard(temps.values())
        raise
    finally:
        reader.join(timeout=10)
    stderr = "\n".join(tail)
    if proc.returncode != 0:
        _discard(temps.values())
        last = next((ln for ln in reversed(tail) if ln.strip()), "(keine Ausgabe)")
        raise FfmpegFailed(proc.returncode, last.strip(), stderr)
    for final, temp in temps.items():
        os.replace(temp, final)
    if progress is not None:
        progress(100.0, 0.0)
    return FfmpegResult("\n".join(out_lines), stderr, time.monotonic() - started)


def _drain(stream: IO[bytes], tail: collections.deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", "replace").rstrip("\r\n"))


def _discard(paths: Iterable[Path]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def _report(
    line: str, started: float, expected: float | None, progress: ProgressCallback
) -> None:
    key, _, value = line.partition("=")
    if key != "out_time_us" or not expected or not value.strip().lstrip("-").isdigit():
        return
    done = max(0.0, int(value) / 1e6)
    percent = min(99.9, 100.0 * done / expected)
    elapsed = time.monotonic() - started
    eta = elapsed * (100.0 - percent) / percent if percent > 0.5 else None
    progress(percent, eta)

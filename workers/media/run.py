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
    log = _StderrLog()
    assert proc.stderr is not None
    reader = threading.Thread(target=log.drain, args=(proc.stderr,), daemon=True)
    reader.start()
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        proc.kill()

    watchdog = threading.Timer(timeout, expire) if timeout else None
    if watchdog is not None:
        watchdog.start()
    out_lines: list[str] = []
    try:
        if proc.stdout is not None:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if capture_stdout:
                    out_lines.append(line)
                if progress is not None:
                    _report(line, started, expected_seconds, progress)
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        _discard(temps.values())
        raise
    finally:
        if watchdog is not None:
            watchdog.cancel()
        reader.join(timeout=10)
    stderr = log.text()
    if proc.returncode != 0:
        _discard(temps.values())
        recent = [*log.head[-50:], *log.tail]
        last = next((ln for ln in reversed(recent) if ln.strip()), "(keine Ausgabe)")
        if timed_out.is_set():  # not any signal: a crash (abort) is not a timeout
            last = f"timeout after {timeout:g} s; {last.strip()}"
        raise FfmpegFailed(proc.returncode, last.strip(), stderr)
    for final, temp in temps.items():
        os.replace(temp, final)
    if progress is not None:
        progress(100.0, 0.0)
    return FfmpegResult("\n".join(out_lines), stderr, time.monotonic() - started)


class _StderrLog:
    """Keeps the first lines (stream headers, which probe parses) and the last ones (errors,
    loudnorm's JSON) of ffmpeg's stderr, so a chatty run cannot use unbounded memory."""

    HEAD = 2000
    TAIL = 400

    def __init__(self) -> None:
        self.head: list[str] = []
        self.tail: collections.deque[str] = collections.deque(maxlen=self.TAIL)
        self.dropped = 0

    def drain(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if len(self.head) < self.HEAD:
                self.head.append(line)
            else:
                if len(self.tail) == self.TAIL:
                    self.dropped += 1
                self.tail.append(line)

    def text(self) -> str:
        gap = [f"[... {self.dropped} lines ...]"] if self.dropped else []
        return "\n".join([*self.head, *gap, *self.tail])


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

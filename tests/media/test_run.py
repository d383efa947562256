"""The ffmpeg runner: atomic outputs, errors with ffmpeg's last line, progress reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.media.run import FfmpegFailed, run_ffmpeg


def test_failure_raises_last_line_and_leaves_no_files(tmp_path: Path) -> None:
    """A failing ffmpeg raises FfmpegFailed with its last stderr line and leaves no output or
    temporary file behind."""
    out = tmp_path / "out.mp4"
    with pytest.raises(FfmpegFailed) as err:
        run_ffmpeg(["-v", "error", "-i", str(tmp_path / "missing.mp4"), "-f", "mp4", str(out)],
                   outputs=[out])
    assert err.value.last_line == "Error opening input files: No such file or directory"
    assert "missing.mp4" in err.value.stderr
    assert list(tmp_path.iterdir()) == []


def test_success_replaces_atomically_and_reports_progress(tmp_path: Path) -> None:
    """Output appears under its final name only at the end; progress rises to 100 %."""
    out = tmp_path / "tone.m4a"
    out.write_bytes(b"old")
    seen: list[tuple[float, float | None]] = []
    run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac",
                "-f", "mp4", str(out)], outputs=[out], expected_seconds=2.0,
               progress=lambda p, eta: seen.append((p, eta)))
    assert out.read_bytes()[4:8] == b"ftyp"
    assert [p.name for p in tmp_path.iterdir()] == ["tone.m4a"]
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100.0 and len(percents) >= 2
    assert seen[-1][1] == 0.0


def test_timeout_kills_ffmpeg_and_discards_output(tmp_path: Path) -> None:
    """A run that exceeds its timeout is killed, reported as a timeout, and leaves no file."""
    out = tmp_path / "endless.wav"
    with pytest.raises(FfmpegFailed) as err:
        run_ffmpeg(["-v", "error", "-re", "-f", "lavfi", "-i", "sine", "-f", "wav", str(out)],
                   outputs=[out], timeout=0.5)
    assert err.value.last_line.startswith("timeout after 0.5 s")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_ffmpeg_is_not_reported_as_a_timeout(tmp_path: Path) -> None:
    """ffmpeg ending on a signal before its timeout (a crash, an operator's kill) raises with
    its own return code, not as a timeout, and leaves no file."""
    import signal
    import threading

    import psutil

    from tests.harness import wait_for

    out = tmp_path / "endless.wav"
    failure: list[FfmpegFailed] = []

    def run() -> None:
        try:
            run_ffmpeg(["-v", "error", "-re", "-f", "lavfi", "-i", "sine", "-f", "wav",
                        str(out)], outputs=[out], timeout=60)
        except FfmpegFailed as exc:
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    def ffmpeg_child() -> psutil.Process | None:  # not other children (a test Redis)
        return next((c for c in psutil.Process().children() if "ffmpeg" in c.name()), None)

    child = wait_for(ffmpeg_child, timeout=20, message="ffmpeg started")
    child.send_signal(signal.SIGABRT)
    thread.join(timeout=20)
    assert failure and failure[0].returncode == -signal.SIGABRT
    assert not failure[0].last_line.startswith("timeout")
    assert list(tmp_path.iterdir()) == []

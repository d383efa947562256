"""Generated media fixtures (ffmpeg lavfi and ``tests.media.corpus``, nothing committed) and
small test profiles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.media.corpus import make_corpus
from tests.media.shapes import make_shapes
from workers.media.profiles import PlatformLimits, Profile, load_profiles

CORPUS_SECONDS = 4.0


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every source shape the pipeline must handle and the broken uploads
    (``tests.media.shapes``), generated once per test session."""
    return make_shapes(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``corpus(name)``: the ``tests.media.corpus.CLIP_TYPES`` clip ``name`` (4 s), made on
    first use and shared by the whole session."""
    directory = tmp_path_factory.mktemp("corpus")

    def get(name: str) -> Path:
        return make_corpus(directory, (name,), duration=CORPUS_SECONDS)[name]

    return get


@pytest.fixture(scope="session")
def real_profiles() -> dict[str, Profile]:
    return load_profiles()


LENIENT = PlatformLimits(name="test", min_seconds=0.5, max_seconds=600, max_bytes=10**9)


@pytest.fixture(scope="session")
def small_profiles(real_profiles: dict[str, Profile]) -> dict[str, Profile]:
    """The real profiles at 1/6 size (320x180, 180x320, 180x180), fast preset, lenient bounds."""
    return {
        name: replace(p.scaled(1 / 6), preset="superfast", platforms=(LENIENT,))
        for name, p in real_profiles.items()
    }


SRT_TEXT = (
    "1\n00:00:00,200 --> 00:00:01,500\nGrüße aus Matzlow – Straßenfest\n\n"
    "2\n00:00:01,600 --> 00:00:05,000\nÄrger? Nö!\n"
)


@pytest.fixture
def srt_file(tmp_path: Path) -> Path:
    path = tmp_path / "folge3.de.srt"
    path.write_bytes(SRT_TEXT.encode("cp1252"))
    return path


@pytest.fixture
def ffmpeg_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The argv (joined) of every ffmpeg process ``workers.media.run`` starts during the test:
    a spy around the real ``Popen``, nothing is replaced."""
    import subprocess

    import workers.media.run as run

    started: list[str] = []
    real = subprocess.Popen

    def spy(argv, *args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(" ".join(map(str, argv)))
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(run.subprocess, "Popen", spy)
    return started

"""Packaging: our top-level packages (some share names with PyPI distributions) resolve to
this repository, every package ships, and the ``wtg`` console script is installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOP_LEVEL = ["config", "episodes", "workers", "scheduler", "dashboard", "sandbox", "wtg"]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_package_resolves_inside_the_repo(name: str):
    """``import <name>`` finds this repository's package, not a PyPI namesake."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} not importable"
    assert Path(spec.origin).resolve() == REPO / name / "__init__.py", spec.origin


def _data_files() -> dict[str, list[Path]]:
    """Folder (dotted) -> the non-Python files in it, for every folder under our roots."""
    found: dict[str, list[Path]] = {}
    for root in TOP_LEVEL:
        for path in sorted((REPO / root).rglob("*")):
            if path.is_file() and path.suffix not in (".py", ".pyc") \
                    and "__pycache__" not in path.parts:
                found.setdefault(".".join(path.parent.relative_to(REPO).parts), []).append(path)
    return found


def test_every_package_directory_is_listed_in_pyproject():
    """Each folder with an __init__.py under our roots, and each folder holding data files,
    is in [tool.setuptools] packages, so ``pip install .`` (the Docker image) ships it without
    setuptools' "Package would be ignored" warnings; every listed package exists."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    code = {
        ".".join(init.parent.relative_to(REPO).parts)
        for root in TOP_LEVEL
        for init in (REPO / root).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    data = set(_data_files())
    assert sorted((code | data) - listed) == [], "packages missing from pyproject.toml"
    assert sorted(listed - code - data) == [], "pyproject.toml lists packages that do not exist"


def test_package_data_declares_every_data_file():
    """Every template, static file, font, TOML and migration template matches a package-data
    pattern of its own package (so it is in the wheel)."""
    declared = PYPROJECT["tool"]["setuptools"]["package-data"]
    missing = [
        str(path.relative_to(REPO))
        for package, paths in _data_files().items()
        for path in paths
        if not any(path.match(pattern) for pattern in declared.get(package, []))
    ]
    assert missing == []


def test_wheel_builds_without_warnings_and_ships_every_file(tmp_path: Path):
    """Building the wheel (offline, with the venv's setuptools) prints no setuptools warning,
    and the wheel holds every Python and data file of our packages."""
    import re
    import zipfile

    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    warnings = sorted(set(re.findall(r"\b\w+Warning\b.*", log)))
    assert warnings == [] and "would be ignored" not in log, warnings
    (wheel,) = tmp_path.glob("wtg-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(path.relative_to(REPO)) for paths in _data_files().values() for path in paths}
    expected |= {str(path.relative_to(REPO)) for root in TOP_LEVEL
                 for path in (REPO / root).rglob("*.py") if "__pycache__" not in path.parts}
    assert sorted(expected - shipped) == []


def test_wtg_console_script_is_installed():
    """The venv has a ``wtg`` script pointing at wtg.cli:main, and it answers --help."""
    scripts = {ep.name: ep.value for ep in distribution("wtg").entry_points
               if ep.group == "console_scripts"}
    assert scripts.get("wtg") == "wtg.cli:main"
    exe = Path(sys.executable).parent / "wtg"
    assert exe.is_file()
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for command in ("init", "season", "status", "worker"):
        assert command in out.stdout


def test_distribution_is_installed_from_this_checkout():
    """The installed ``wtg`` distribution is this repository (editable), not a stale copy."""
    import wtg.cli

    assert Path(wtg.cli.__file__).resolve() == REPO / "wtg" / "cli.py"
    assert distribution("wtg").version == PYPROJECT["project"]["version"]

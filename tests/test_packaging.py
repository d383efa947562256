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


def test_every_package_directory_is_listed_in_pyproject():
    """Each folder with an __init__.py under our roots is in [tool.setuptools] packages, so
    ``pip install .`` (the Docker image) ships it; and every listed package exists."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for root in TOP_LEVEL
        for init in (REPO / root).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert sorted(found - listed) == [], "packages missing from pyproject.toml"
    assert sorted(listed - found) == [], "pyproject.toml lists packages that do not exist"


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

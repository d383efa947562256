"""The layering of ../shared/STYLE.md, read from the source (every import statement, the lazy
ones inside functions included):

    config  <-  episodes  <-  workers  <-  scheduler, dashboard  <-  wtg (the composition root)
    sandbox: the judges of our clients share nothing with them (no wtg package at all)

* ``config`` imports no wtg code;
* ``episodes`` (domain and persistence) imports only ``config`` and no Celery, HTTP client or
  server, or subprocess;
* ``workers`` never imports ``scheduler``, ``dashboard``, ``sandbox`` or ``wtg``;
* ``scheduler`` decides when and only enqueues: it never imports ``workers.platforms`` (nor the
  dashboard); the dashboard may call the scheduler's manual controls;
* nothing imports ``wtg`` but the tests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "episodes", "workers", "scheduler", "dashboard", "sandbox", "wtg")

#: package -> the wtg packages it must not import (prefix match on the dotted name)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "config": ("episodes", "workers", "scheduler", "dashboard", "sandbox", "wtg"),
    "episodes": ("workers", "scheduler", "dashboard", "sandbox", "wtg"),
    "workers": ("scheduler", "dashboard", "sandbox", "wtg"),
    "scheduler": ("workers.platforms", "dashboard", "sandbox", "wtg"),
    "dashboard": ("sandbox", "wtg"),
    "sandbox": ("config", "episodes", "workers", "scheduler", "dashboard", "wtg"),
}
#: third-party modules a room must not use (side effects belong to workers)
FORBIDDEN_LIBS: dict[str, tuple[str, ...]] = {
    "config": ("celery", "kombu", "requests", "httpx", "fastapi", "starlette", "subprocess"),
    "episodes": ("celery", "kombu", "requests", "httpx", "fastapi", "starlette", "subprocess",
                 "urllib.request", "http.client"),
}


def imports_of(path: Path, root: Path = REPO) -> Iterator[tuple[int, str]]:
    """(line, dotted module) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = list(path.relative_to(root).parts[:-1])  # the package the module lives in
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module:
                yield node.lineno, module
            for alias in node.names:  # `from workers import platforms` names a module too
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name


def violations(root: Path = REPO) -> list[str]:
    found = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, module in imports_of(path, root):
                where = f"{path.relative_to(root)}:{line}"
                for banned in FORBIDDEN.get(pkg, ()):
                    if module == banned or module.startswith(banned + "."):
                        found.append(f"{where} imports {module} ({pkg} must not import {banned})")
                for lib in FORBIDDEN_LIBS.get(pkg, ()):
                    if module == lib or module.startswith(lib + "."):
                        found.append(f"{where} uses {module} ({pkg} must not use {lib})")
    return sorted(set(found))


def test_the_layering_holds() -> None:
    """No module imports against the direction of the layers (lazy imports included)."""
    assert violations() == []


@pytest.mark.parametrize(("room", "line"), [
    ("sandbox", "from workers.platforms.base import Account"),
    ("episodes", "import subprocess"),
    ("scheduler", "from workers.platforms import facebook"),
    ("config", "from episodes import store"),
    ("workers", "def f():\n    from dashboard import app\n"),
    ("episodes", "from .. import workers"),
])
def test_a_forbidden_import_is_caught(tmp_path: Path, room: str, line: str) -> None:
    """The check fails when a forbidden import is added (also a lazy or relative one)."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
    (tmp_path / room / "intruder.py").write_text(line + "\n", encoding="utf-8")
    found = violations(tmp_path)
    assert found and all(f.startswith(f"{room}/intruder.py:") for f in found), found


def test_task_names_and_queues_live_in_one_module() -> None:
    """Task names are spelled only in workers/task_names.py, and senders never pick a queue
    (the routes there do)."""
    import re

    name = re.compile(r"""["']wtg\.(?:media|publish|notify|accounts)\.\w+["']""")
    queue = re.compile(r"send_task\([^)]*\bqueue\s*=", re.S)
    found = []
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            if path.name == "task_names.py" or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in name.finditer(text)]
            found += [f"{path.relative_to(REPO)}: send_task(..., queue=...)"
                      for _ in queue.finditer(text)]
    assert found == []


def test_text_checks_build_no_network_client() -> None:
    """Pre-flight and the previews read the platforms' capability data; neither builds an
    adapter (with fake credentials) just to learn a text limit."""
    for module in ("workers/preflight.py", "dashboard/preview.py", "episodes/season.py"):
        found = [m for _, m in imports_of(REPO / module) if m.startswith("workers.platforms")]
        assert found == [], (module, found)

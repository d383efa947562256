"""Local servers that speak each platform's documented protocol (tests and ``make demo``).

Convention: ``sandbox/<platform>.py`` defines one ``Sandbox`` subclass whose ``platform`` equals
the adapter's ``SPEC.name`` and which has ``account(name) -> (Account, secrets dict)``, returning
an account pointed at this server with credentials it accepts.
"""

from __future__ import annotations

import importlib

from .base import Fault, Request, Response, Sandbox, SandboxAccount, route

SANDBOX_MODULES = ("facebook", "instagram", "youtube", "mastodon", "tiktok")

__all__ = [
    "SANDBOX_MODULES", "Fault", "Request", "Response", "Sandbox", "SandboxAccount",
    "reading_variants", "route", "sandboxes",
]


def sandboxes() -> dict[str, type[Sandbox]]:
    """Platform name -> sandbox class, for every sandbox module present."""
    out: dict[str, type[Sandbox]] = {}
    for name in SANDBOX_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Sandbox)
                and value is not Sandbox
                and value.__module__ == module.__name__
            ):
                out[value.platform] = value
    return out


def reading_variants(platform: str) -> list[tuple[str, dict[str, str]]]:
    """``(label, readings)`` for one platform: its default readings first, then one variant per
    other reading of each ambiguous point (one point varied at a time). Contract tests run
    against each, so the client is proved under every plausible reading of the documents."""
    cls = sandboxes().get(platform)
    out: list[tuple[str, dict[str, str]]] = [(platform, {})]
    for point, choices in (cls.READINGS if cls else {}).items():
        out.extend((f"{platform}-{point}={choice}", {point: choice}) for choice in choices[1:])
    return out

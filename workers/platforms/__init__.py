"""Platform adapters: one module per platform behind the contract in :mod:`.base`."""

from __future__ import annotations

import importlib

#: the adapter modules; adding a platform is one module and one line here
ADAPTER_MODULES = ("facebook", "instagram", "youtube", "mastodon", "tiktok")


def load_all() -> None:
    """Import every adapter module so each registers itself (explicit, no folder scanning)."""
    for name in ADAPTER_MODULES:
        importlib.import_module(f"{__name__}.{name}")

"""Start-up checks of the settings beyond their own validation: every account's options and
scheduling switch against its platform (``episodes.capabilities``). Run by every ``wtg``
command before it does anything (``wtg.cli.Ctx.settings``)."""

from __future__ import annotations

from config import Settings
from episodes.capabilities import validate_settings


def account_problems(settings: Settings) -> str:
    """One German message listing every problem ("" when the accounts are fine)."""
    problems = validate_settings(settings)
    if not problems:
        return ""
    head = f"Die Kontoeinstellungen sind nicht gültig ({len(problems)} Problem(e)):"
    return "\n".join([head, *(f"  - {p}" for p in problems)])

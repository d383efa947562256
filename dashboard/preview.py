"""What each account will receive for an episode, measured in its platform's unit, with the
adapter's own German findings (``Platform.check_text``). Pure apart from reading settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config import InMemoryCredentials, Settings
from episodes.capabilities import capabilities
from episodes.captions import LengthUnit, PostText, measure, render_for

UNIT_DE = {LengthUnit.CHARS: "Zeichen", LengthUnit.BYTES: "Byte",
           LengthUnit.MASTODON: "Zeichen (Links zählen 23)"}


@dataclass(frozen=True, kw_only=True)
class Preview:
    account: str
    platform: str
    label: str
    text: PostText
    body_len: int
    body_max: int | None
    unit_de: str
    title_len: int | None = None
    title_max: int | None = None
    title_unit_de: str = "Zeichen"
    problems: list[str] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return self.body_max is not None and self.body_len > self.body_max


def _adapter(settings: Settings, account: str, platform: str) -> Any | None:
    from workers.platforms.base import Account, adapter_class

    try:
        cls = adapter_class(platform)
    except KeyError:
        return None
    try:
        cfg = settings.account(account)
        api_base, options, display = cfg.api_base, dict(cfg.options), cfg.display_name
    except KeyError:
        api_base, options, display = "http://127.0.0.1", {}, account
    # an account still to be connected has no page yet; its text limits do not depend on it
    filled = {k: "0" for k in capabilities(platform).connect_fills}
    acc = Account(name=account, platform=platform, display_name=display or account,
                  api_base=api_base, options={**filled, **options})
    return cls(acc, InMemoryCredentials())


def previews(settings: Settings, episode: Any, series: Any,
             accounts: list[tuple[str, str]]) -> list[Preview]:
    """One preview per (account name, platform)."""
    out = []
    for name, platform in accounts:
        text = render_for(episode, series, platform)
        adapter = _adapter(settings, name, platform)
        if adapter is None:
            out.append(Preview(account=name, platform=platform, label=platform, text=text,
                               body_len=len(text.body), body_max=None, unit_de="Zeichen"))
            continue
        lim = adapter.text_limits()
        out.append(Preview(
            account=name, platform=platform, label=adapter.SPEC.label, text=text,
            body_len=measure(text.body, lim.body_unit, url_weight=lim.url_weight),
            body_max=lim.body_max, unit_de=UNIT_DE.get(lim.body_unit, "Zeichen"),
            title_len=(measure(text.title or "", lim.title_unit)
                       if lim.title_max is not None else None),
            title_max=lim.title_max, title_unit_de=UNIT_DE.get(lim.title_unit, "Zeichen"),
            problems=adapter.check_text(text),
        ))
    return out


__all__ = ["Preview", "previews"]

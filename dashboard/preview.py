"""What each account will receive for an episode, measured in its platform's unit, with the
German findings of the platform's capability data (``episodes.capabilities.check_text`` — the
same check the season load, the pre-flight and the adapters run). Pure apart from reading
settings: no adapter, no credentials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from config import Settings
from episodes.capabilities import capabilities, check_text, text_limits
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


def _account(settings: Settings, name: str, platform: str) -> Any:
    """The configured account, or a stand-in with the platform's defaults."""
    try:
        return settings.account(name)
    except KeyError:
        return SimpleNamespace(name=name, platform=platform, options={}, profile=None)


def previews(settings: Settings, episode: Any, series: Any,
             accounts: list[tuple[str, str]],
             post_overrides: Mapping[str, Mapping[str, str] | None] | None = None,
             ) -> list[Preview]:
    """One preview per (account name, platform); ``post_overrides``: account name -> the
    repaired post's own text (title/body)."""
    out = []
    for name, platform in accounts:
        text = render_for(episode, series, platform, (post_overrides or {}).get(name))
        try:
            caps = capabilities(platform)
        except KeyError:
            out.append(Preview(account=name, platform=platform, label=platform, text=text,
                               body_len=len(text.body), body_max=None, unit_de="Zeichen"))
            continue
        account = _account(settings, name, platform)
        lim = text_limits(account)
        out.append(Preview(
            account=name, platform=platform, label=caps.label, text=text,
            body_len=measure(text.body, lim.body_unit, url_weight=lim.url_weight),
            body_max=lim.body_max, unit_de=UNIT_DE.get(lim.body_unit, "Zeichen"),
            title_len=(measure(text.title or "", lim.title_unit)
                       if lim.title_max is not None else None),
            title_max=lim.title_max, title_unit_de=UNIT_DE.get(lim.title_unit, "Zeichen"),
            problems=check_text(account, text, limits=lim),
        ))
    return out


def problems_of(shown: list[Preview]) -> list[str]:
    """Every problem the previews show (what blocks an approval), in order, without repeats."""
    out: list[str] = []
    for preview in shown:
        for problem in preview.problems + ([f"{preview.label}: der Text ist zu lang."]
                                           if preview.over and not preview.problems else []):
            line = f"{preview.account}: {problem}"
            if line not in out:
                out.append(line)
    return out


__all__ = ["Preview", "previews", "problems_of"]

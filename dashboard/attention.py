"""The „Braucht Aufmerksamkeit" panel of the overview: each item of
:func:`episodes.attention.problems` with the one action that fixes it, as a button (a form
with the CSRF token) or a link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from episodes.attention import Problem, problems

#: fix -> (button text, method, URL pattern with {post} / {episode})
ACTIONS: dict[str, tuple[str, str, str]] = {
    "repair": ("Beitrag korrigieren", "get", "/posts/{post}/repair"),
    "approve_correction": ("Korrektur freigeben", "get", "/posts/{post}/repair"),
    "retry": ("Erneut versuchen", "post", "/posts/{post}/retry"),
    "send_now": ("Jetzt senden", "post", "/posts/{post}/retry"),
    "account": ("Konto prüfen", "get", "/accounts"),
    "confirm_by_hand": ("In der App gelöscht – bestätigen", "post",
                        "/posts/{post}/withdraw/confirm"),
    "retry_delete": ("Löschen erneut versuchen", "post", "/posts/{post}/withdraw/retry"),
    "approve": ("Zur Freigabe", "get", "/episodes/{episode}"),
    "episode": ("Folge bearbeiten", "get", "/episodes/{episode}"),
    "withdrawal": ("Antrag prüfen", "get", "/episodes/{episode}/withdraw"),
}


@dataclass(frozen=True)
class Item:
    problem: Problem
    label: str
    method: str
    url: str


def attention_items(s: Any, series_id: int) -> list[Item]:
    out = []
    for p in problems(s, series_id):
        label, method, url = ACTIONS[p.fix]
        out.append(Item(p, label, method, url.format(post=p.post_id, episode=p.episode_id)))
    return out


__all__ = ["ACTIONS", "Item", "attention_items"]

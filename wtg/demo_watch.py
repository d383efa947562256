"""The demo's waits: media preparation and the season's posts, each until done or until
nothing has moved for ``stall_minutes`` (never a fixed time), and the final check against the
platforms' test servers. A failure is a :class:`DemoFailure` whose message (German) says why."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from episodes.db import Database

from .demo_kit import Stall

POLL = 0.5


class DemoFailure(Exception):
    """The demo cannot go on; the message (German) says why."""


def label(number: int) -> str:
    return "Trailer" if number == 0 else f"Folge {number}"


def progress(console: Console) -> Progress:
    return Progress(TextColumn("   {task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def wait_media(db: Database, console: Console, n: int, *, stall_minutes: float,
               check: Callable[[], None]) -> None:
    """Until every episode's renditions are verified; DemoFailure on a rejected video or when
    no episode's media status or percentage changed for ``stall_minutes``."""
    from dashboard.templating import MEDIA_DE
    from episodes.models import Episode, MediaStatus

    stall = Stall(stall_minutes)
    with progress(console) as bar:
        task = bar.add_task("Videos aufbereiten", total=n)
        while True:
            check()
            with db.session() as s:
                rows = s.query(Episode.number, Episode.media_status, Episode.media_progress,
                               Episode.media_problems).order_by(Episode.number).all()
            for number, status, _, problems in rows:
                if status == MediaStatus.FAILED:
                    said = "; ".join(p.get("message_de", "") for p in problems or [])
                    raise DemoFailure(f"{label(number)}: Video abgelehnt – {said}")
            done = sum(1 for _, st, _, _ in rows if st == MediaStatus.VERIFIED)
            bar.update(task, completed=done)
            if done == n:
                return
            if stall.see(tuple((num, st, round(pr or 0)) for num, st, pr, _ in rows)):
                number, status, percent, _ = next(r for r in rows
                                                  if r[1] != MediaStatus.VERIFIED)
                raise DemoFailure(
                    f"Die Videoaufbereitung kommt seit {stall_minutes:g} Minuten nicht "
                    f"voran ({done} von {n} Folgen fertig; {label(number)} steht bei "
                    f"„{MEDIA_DE.get(status, status)}“, {percent or 0:.0f} %). Ist der "
                    "Rechner stark ausgelastet, mit mehr Geduld neu starten: "
                    "make demo ARGS=\"--stall-minutes 10\".")
            time.sleep(POLL)


def wait_published(db: Database, console: Console, total: int, *, stall_minutes: float,
                   check: Callable[[], None]) -> None:
    """Until every post is published; DemoFailure when one waits for staff or no post's
    state or upload progress changed for ``stall_minutes``."""
    from episodes.lifecycle import LABEL_DE, WAITING_FOR_STAFF, PostState
    from episodes.models import Account, Episode, Post

    waiting = {str(x) for x in WAITING_FOR_STAFF}
    stall = Stall(stall_minutes)
    with progress(console) as bar:
        task = bar.add_task("Beiträge veröffentlicht", total=total)
        while True:
            check()
            with db.session() as s:
                posts = [(pid, state, round(pct or 0), number, account, error)
                         for pid, state, pct, number, account, error in s.query(
                             Post.id, Post.state, Post.progress, Episode.number,
                             Account.name, Post.last_error)
                         .join(Episode, Post.episode_id == Episode.id)
                         .join(Account, Post.account_id == Account.id)]
            done = sum(1 for p in posts if p[1] == PostState.PUBLISHED)
            bar.update(task, completed=done)
            stuck = [p for p in posts if p[1] in waiting]
            if stuck:
                _, state, _, number, account, error = stuck[0]
                said = (error or {}).get("message_de") or "ohne Meldung"
                raise DemoFailure(
                    f"{len(stuck)} Beitrag/Beiträge brauchen Hilfe. Zuerst {label(number)} "
                    f"auf {account}: „{LABEL_DE[PostState(state)]}“ – {said}")
            if done == total:
                return
            if stall.see(tuple(p[:3] for p in posts)):
                left = sorted({LABEL_DE[PostState(p[1])] for p in posts
                               if p[1] != PostState.PUBLISHED})
                raise DemoFailure(
                    f"Seit {stall_minutes:g} Minuten hat sich kein Beitrag bewegt; "
                    f"{total - done} von {total} sind noch nicht veröffentlicht "
                    f"(Zustände: {', '.join(left)}).")
            time.sleep(POLL)


def verify(db: Database, console: Console, sandboxes: dict[str, Any]) -> None:
    """Every sandbox holds exactly one public post per episode, with the rendition's bytes."""
    from episodes.models import Post

    with db.session() as s:
        expected: dict[str, list[str]] = {}
        for p in s.query(Post):
            expected.setdefault(p.account.platform, []).append(p.rendition_sha256 or "")
    wrong = []
    for platform, sb in sandboxes.items():
        public = sb.snapshot()["published"]
        got = sorted(x.get("sha256", "") for x in public)
        if got != sorted(expected.get(platform, [])):
            wrong.append(f"{platform}: {len(public)} öffentliche Beiträge, erwartet "
                         f"{len(expected.get(platform, []))} (oder Inhalte weichen ab)")
        else:
            console.print(f"   {platform:10} {len(public)} Beiträge, je genau einmal, "
                          "Bytes geprüft (sha256)")
    if wrong:
        raise DemoFailure("Die Test-Server haben nicht genau das Erwartete erhalten: "
                          + "; ".join(wrong))


__all__ = ["DemoFailure", "label", "progress", "verify", "wait_media", "wait_published"]

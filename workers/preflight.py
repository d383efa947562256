"""Pre-flight checks: at queue time and 48 h / 2 h before a slot. Each returns a list of
problems in plain German and loses nothing; results are stored as ``PreflightResult`` rows.

Offline checks (no network): renditions verified, captions present (BITV 2.0), approved by a
second person, every account's text within that platform's limits. Network checks (``network=
True``, run by a worker, never by the scheduler): each account's token answers a cheap call, and
the quota left covers an upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from config import Settings
from config.credentials import MissingCredential
from episodes import connections, store
from episodes.capabilities import capabilities, validate_account
from episodes.captions import render_for
from episodes.models import Account as AccountRow
from episodes.models import Episode, MediaStatus, PreflightResult, utcnow

from .platforms.base import Account, adapter_class
from .publishing import DbQuota, check_account_credentials, profile_for
from .runtime import Runtime


@dataclass
class PreflightReport:
    episode_id: int
    kind: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    notification: int | None = None

    @property
    def ok(self) -> bool:
        return not any(p["severity"] == "error" for p in self.problems)

    def add(self, code: str, message_de: str, *, account: str | None = None,
            severity: str = "error") -> None:
        self.problems.append({"code": code, "message_de": message_de, "account": account,
                              "severity": severity})

    def to_dict(self) -> dict[str, Any]:
        return {"episode": self.episode_id, "kind": self.kind, "ok": self.ok,
                "problems": self.problems}


def text_problems(settings: Settings, series: Any, episode: Any) -> list[tuple[str, str]]:
    """(account, German problem) for every account of the series whose text is out of limits.

    Never raises for bad account options: an account whose options do not fit its platform
    (``episodes.capabilities``) is reported with those problems instead of being checked. An
    account still to be connected in the dashboard is checked all the same (its text limits do
    not depend on the page)."""
    out = []
    for name in series.accounts:
        try:
            acc = settings.account(name)
        except KeyError:
            continue
        invalid = validate_account(acc, allow_unconnected=True)
        if invalid:
            out += [(acc.name, problem) for problem in invalid]
            continue
        placeholders = {k: "0" for k in capabilities(acc.platform).connect_fills}
        try:
            adapter = adapter_class(acc.platform)(
                Account(name=acc.name, platform=acc.platform, display_name=acc.name,
                        api_base=acc.api_base, options={**placeholders, **acc.options}),
                _NoSecrets())
            found = adapter.check_text(render_for(episode, series, acc.platform))
        except (KeyError, ValueError, TypeError) as exc:  # options the models do not cover yet
            out.append((acc.name, f"Konto {acc.name}: die Kontoeinstellungen passen nicht zur "
                                  f"Plattform {acc.platform} ({exc}). Bitte options prüfen."))
            continue
        out += [(acc.name, problem) for problem in found]
    return out


def spec_text_problems(settings: Settings, spec: Any) -> list[str]:
    """Text checks for a parsed season file (before anything is stored). A problem with an
    account's options is listed once, not for every episode."""
    series = SimpleNamespace(accounts=spec.accounts, hashtags=list(spec.hashtags),
                             name=spec.name, link=spec.link, credits=spec.credits,
                             templates=spec.templates)
    out: list[str] = []
    for e in spec.episodes:
        ep = SimpleNamespace(title=e.title, place=e.place, description=e.description,
                             number=e.number, hashtags=list(e.hashtags),
                             text_overrides={k: dict(v) for k, v in e.text.items()})
        label = "Trailer" if e.number == 0 else f"Folge {e.number}"
        for acc, msg in text_problems(settings, series, ep):
            line = msg if msg.startswith(f"Konto {acc}") else f"{label}, Konto {acc}: {msg}"
            if line not in out:
                out.append(line)
    return out


def run_preflight(rt: Runtime, episode_id: int, kind: str, *, network: bool) -> PreflightReport:
    report = PreflightReport(episode_id, kind)
    with rt.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            report.add("missing", f"Folge {episode_id} gibt es nicht.")
            return report
        settings = connections.with_connections(rt.settings, s)  # pages chosen in the dashboard
        series = ep.series
        label = ep.label
        if ep.media_status != MediaStatus.VERIFIED:
            report.add("media", f"{label}: das Video ist noch nicht fertig geprüft "
                       f"(Zustand: {ep.media_status}).")
        if not ep.subtitle_path:
            report.add("captions", f"{label}: es fehlen Untertitel (BITV 2.0 verlangt sie).")
        if not ep.approved:
            report.add("approval", f"{label}: noch nicht von einer zweiten Person freigegeben.")
        renditions = {r.profile: r for r in ep.renditions if r.verified}
        accounts = []
        for name in series.accounts:
            try:
                acc = settings.account(name)
            except KeyError:
                report.add("account", f"Konto {name} ist nicht eingerichtet.", account=name)
                continue
            if not acc.enabled:
                continue
            accounts.append(acc)
            r = renditions.get(profile_for(acc))
            lost = r is None or not Path(r.path).is_file()
            if ep.media_status == MediaStatus.VERIFIED and lost:
                report.add("rendition", f"{label}: für {name} fehlt die Videofassung "
                           f"{profile_for(acc)}.", account=name)
            if r is not None and r.details.get("captions") == "sidecar" and not r.captions_srt:
                report.add("captions", f"{label}: für {name} fehlt die Untertiteldatei.",
                           account=name)
        for acc_name, msg in text_problems(settings, series, ep):
            report.add("text", f"{label}: {msg}", account=acc_name)
        rows = {a.name: a.id for a in s.query(AccountRow)}
        recent_checks = {a.name: a.credentials_checked_at for a in s.query(AccountRow)
                         if a.credentials_ok and a.credentials_checked_at}
    if network:
        for acc in accounts:
            checked = recent_checks.get(acc.name)
            if checked is not None and checked > utcnow() - timedelta(
                    seconds=rt.settings.credentials_check_seconds):
                continue  # checked a moment ago: spare the platform's rate limit
            result = check_account_credentials(rt, acc.name)
            if result["ok"]:
                continue
            transient = result.get("transient", False)
            report.add("credentials", result["message_de"], account=acc.name,
                       severity="warning" if transient else "error")
            if acc.platform == "youtube" and acc.name in rows:
                need = int(acc.options.get("upload_quota_units", 600))  # one full post
                left = DbQuota(rt, rows[acc.name], acc).remaining()
                if left < need:
                    report.add("quota", f"YouTube-Kontingent von {acc.name} reicht nicht "
                               f"({left} von {need} Einheiten übrig).", account=acc.name)
    with rt.db.session() as s:
        ep = s.get(Episode, episode_id)
        assert ep is not None
        s.add(PreflightResult(episode_id=episode_id, kind=kind, slot_at=ep.slot_at,
                              ok=report.ok, problems=report.problems, checked_at=utcnow()))
        if not report.ok and kind != "queue":
            report.notification = store.notify(
                s, "warning", f"{ep.label}: Vorabprüfung ({kind}) nicht bestanden",
                "\n".join(p["message_de"] for p in report.problems), episode_id=ep.id)
    return report


class _NoSecrets:
    """Text checks need no credentials."""

    def get(self, key: str) -> str | None:
        return None

    def require(self, key: str) -> str:
        raise MissingCredential("preflight", key)

    def update(self, values: Any) -> None:
        return None

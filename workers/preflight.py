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
from episodes import connections, store
from episodes.capabilities import check_text, profile_for, validate_account
from episodes.capabilities.youtube import YouTubeOptions
from episodes.captions import render_for
from episodes.models import Account as AccountRow
from episodes.models import Episode, MediaStatus, PreflightResult, utcnow

from .publishing import DbQuota, check_account_credentials
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

    Pure (no adapter, no credentials): the platform's capability data
    (``episodes.capabilities``). Never raises for bad account options: an account whose options
    do not fit its platform is reported with those problems instead of being checked."""
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
        found = check_text(acc, render_for(episode, series, acc.platform))
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


@dataclass
class _Look:
    """What the checks look at, loaded once per run (inside the session)."""

    ep: Any
    series: Any
    label: str
    settings: Settings  # with the connection facts staff chose in the dashboard
    accounts: list[Any]  # the series' enabled, configured accounts
    unknown: list[str]  # account names the series names but the settings lack
    renditions: dict[str, Any]  # profile -> verified rendition
    rows: dict[str, int]  # account name -> database id
    recent: dict[str, Any]  # account name -> when its credentials were last found good


def _media_ready(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    if look.ep.media_status != MediaStatus.VERIFIED:
        report.add("media", f"{look.label}: das Video ist noch nicht fertig geprüft "
                   f"(Zustand: {look.ep.media_status}).")


def _subtitles(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    if not look.ep.subtitle_path:
        report.add("captions", f"{look.label}: es fehlen Untertitel (BITV 2.0 verlangt sie).")


def _approved(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    if not look.ep.approved:
        report.add("approval", f"{look.label}: noch nicht von einer zweiten Person freigegeben.")


def _accounts(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    for name in look.unknown:
        report.add("account", f"Konto {name} ist nicht eingerichtet.", account=name)


def _renditions(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    for acc in look.accounts:
        profile = profile_for(acc)
        r = look.renditions.get(profile)
        lost = r is None or not Path(r.path).is_file()
        if look.ep.media_status == MediaStatus.VERIFIED and lost:
            report.add("rendition", f"{look.label}: für {acc.name} fehlt die Videofassung "
                       f"{profile}.", account=acc.name)
        if r is not None and r.details.get("captions") == "sidecar" and not r.captions_srt:
            report.add("captions", f"{look.label}: für {acc.name} fehlt die Untertiteldatei.",
                       account=acc.name)


def _texts(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    for acc_name, msg in text_problems(look.settings, look.series, look.ep):
        report.add("text", f"{look.label}: {msg}", account=acc_name)


def _credentials(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    """A cheap authenticated call per account, unless one succeeded a moment ago (the
    platforms' rate limits); a rate limit while checking is a warning, not an error."""
    fresh = utcnow() - timedelta(seconds=rt.settings.credentials_check_seconds)
    for acc in look.accounts:
        checked = look.recent.get(acc.name)
        if checked is not None and checked > fresh:
            continue
        result = check_account_credentials(rt, acc.name)
        if not result["ok"]:
            report.add("credentials", result["message_de"], account=acc.name,
                       severity="warning" if result.get("transient") else "error")


def _youtube_quota(rt: Runtime, look: _Look, report: PreflightReport) -> None:
    for acc in look.accounts:
        if acc.platform != "youtube" or acc.name not in look.rows or validate_account(acc):
            continue  # a bad option is reported with the texts
        ledger = DbQuota(rt, look.rows[acc.name], YouTubeOptions.model_validate(dict(acc.options)))
        need = ledger.opts.upload_quota_units  # one full post
        left = ledger.remaining()
        if left < need:
            report.add("quota", f"YouTube-Kontingent von {acc.name} reicht nicht "
                       f"({left} von {need} Einheiten übrig).", account=acc.name)


#: the checks, in order: those that read only the database, then those that ask the platforms
LOCAL_CHECKS = (_media_ready, _subtitles, _approved, _accounts, _renditions, _texts)
NETWORK_CHECKS = (_credentials, _youtube_quota)


def _look(rt: Runtime, s: Any, ep: Any) -> _Look:
    settings = connections.with_connections(rt.settings, s)  # pages chosen in the dashboard
    accounts, unknown = [], []
    for name in ep.series.accounts:
        try:
            acc = settings.account(name)
        except KeyError:
            unknown.append(name)
            continue
        if acc.enabled:
            accounts.append(acc)
    rows = list(s.query(AccountRow))
    return _Look(ep=ep, series=ep.series, label=ep.label, settings=settings,
                 accounts=accounts, unknown=unknown,
                 renditions={r.profile: r for r in ep.renditions if r.verified},
                 rows={a.name: a.id for a in rows},
                 recent={a.name: a.credentials_checked_at for a in rows
                         if a.credentials_ok and a.credentials_checked_at})


def run_preflight(rt: Runtime, episode_id: int, kind: str, *, network: bool) -> PreflightReport:
    """Every check of ``LOCAL_CHECKS`` (and, with ``network``, of ``NETWORK_CHECKS``) for one
    episode; the result is stored, and staff are notified when a timed check fails."""
    report = PreflightReport(episode_id, kind)
    with rt.db.session() as s:
        ep = s.get(Episode, episode_id)
        if ep is None:
            report.add("missing", f"Folge {episode_id} gibt es nicht.")
            return report
        look = _look(rt, s, ep)
        for check in LOCAL_CHECKS:
            check(rt, look, report)
    if network:
        for check in NETWORK_CHECKS:
            check(rt, look, report)
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

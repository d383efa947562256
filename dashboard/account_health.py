"""The accounts and their health: connected to what, granted which scopes, when the tokens lapse
(with a German warning in time), whether the last check passed, and „Verbindung testen“.

Never a token: the page says only whether wtg holds one (and where it comes from)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config.credentials import ROTATED
from config.loader import credentials_for
from episodes import connections, store
from episodes.capabilities import capabilities, validate_account
from episodes.models import Account, Role, utcnow

from .auth import Staff, page_role, page_user
from .connect import configured, waiting_posts
from .pages import deps_of, render

router = APIRouter(include_in_schema=False)
DONE = {
    "tested-ok": "Verbindung getestet: die Plattform hat den Zugang angenommen.",
    "disconnected": "Die Verbindung ist getrennt; wtg hält für dieses Konto keine Zugangsdaten "
                    "mehr. Beiträge und Verlauf bleiben erhalten.",
}
SOURCE_DE = {"dashboard": "im Dashboard verbunden",
             "settings": "Zugangsdaten aus den Einstellungen (Umgebung oder Datei)",
             "none": "nicht verbunden"}


def _row(deps: Any, acc: Any, conn: Any, mirror: Any, now: Any) -> dict[str, Any]:
    """What the pages show about one account (no secret, only where one comes from)."""
    secrets = credentials_for(acc.name, deps.settings)
    held = secrets.held_by_wtg()
    if conn is not None and conn.status == connections.CONNECTED and held:
        source = "dashboard"
    elif secrets.get("access_token") or secrets.get("refresh_token"):
        source = "settings"
    else:
        source = "none"
    effective = connections.overlay(acc, conn)
    label = f"{acc.display_name or acc.name} ({capabilities(acc.platform).label})"
    level = connections.level(conn, now) if conn is not None else "ok"
    checked_ok = conn.check_ok if conn is not None and conn.checked_at else (
        mirror.credentials_ok if mirror is not None else None)
    checked_at = conn.checked_at if conn is not None and conn.checked_at else (
        mirror.credentials_checked_at if mirror is not None else None)
    return {
        "name": acc.name, "platform": acc.platform, "label": label,
        "named": bool(acc.display_name),
        "platform_label": capabilities(acc.platform).label, "enabled": acc.enabled,
        "source": source, "source_de": SOURCE_DE[source],
        "conn": conn if conn is not None and conn.status == connections.CONNECTED else None,
        "lapse": connections.lapse_of(conn) if conn is not None else None,
        "level": level,
        "warning": connections.warning_de(label, conn, now) if conn is not None and
        level != "ok" else "",
        "checked_ok": checked_ok, "checked_at": checked_at,
        "check_message": conn.check_message if conn is not None else "",
        "problems": validate_account(effective),
        "store_file": ROTATED if held else "",
    }


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, staff: Staff = Depends(page_user)) -> Response:
    """Every account with its connection and health; warnings before a connection lapses."""
    deps = deps_of(request)
    now = utcnow()
    with deps.db.session() as s:
        conns = connections.by_account(s)
        mirrors = {a.name: a for a in store.accounts_list(s)}
        rows = [_row(deps, acc, conns.get(acc.name), mirrors.get(acc.name), now)
                for acc in deps.settings.accounts]
    warnings = [r["warning"] for r in rows if r["warning"]]
    return render(request, "accounts.html", staff, accounts=rows, warnings=warnings,
                  done=DONE.get(request.query_params.get("done", ""), ""))


@router.get("/accounts/{name}", response_class=HTMLResponse)
def account_page(request: Request, name: str, staff: Staff = Depends(page_user)) -> Response:
    """One account: what it is connected to, scopes, lapse, last check, waiting posts and the
    account's audit trail."""
    return _account_view(request, staff, name,
                         done=DONE.get(request.query_params.get("done", ""), ""))


def _account_view(request: Request, staff: Staff, name: str, *, done: str = "",
                  failed: str = "") -> HTMLResponse:
    acc = configured(request, name)
    deps = deps_of(request)
    with deps.db.session() as s:
        conn = connections.get(s, name)
        mirror = s.query(Account).filter_by(name=name).one_or_none()
        row = _row(deps, acc, conn, mirror, utcnow())
        held = waiting_posts(s, name)
        audit = store.audit_log(s, target=f"account:{name}", limit=50)
    return render(request, "account.html", staff, account=acc, row=row, held=held,
                  audit=audit, done=done, failed=failed,
                  warnings=[row["warning"]] if row["warning"] else [])


@router.post("/accounts/{name}/test", response_class=HTMLResponse)
def test_connection(request: Request, name: str,
                    staff: Staff = Depends(page_role(Role.EDITOR))) -> Response:
    """„Verbindung testen“: the cheap authenticated call pre-flight makes, now."""
    configured(request, name)
    deps = deps_of(request)
    from workers.publishing import check_account_credentials
    from workers.runtime import Runtime

    result = check_account_credentials(Runtime(settings=deps.settings, db=deps.db), name)
    with deps.db.session() as s:
        store.audit(s, staff.username, "account.test", f"account:{name}", ok=result["ok"],
                    transient=bool(result.get("transient")))
    if result["ok"]:
        return RedirectResponse(f"/accounts/{name}?done=tested-ok", status_code=303)
    prefix = ("Der Test war gerade nicht möglich (die Plattform antwortet nicht); bitte später "
              "noch einmal: " if result.get("transient") else "Der Test ist fehlgeschlagen: ")
    return _account_view(request, staff, name, failed=prefix + str(result["message_de"]))


__all__ = ["router"]

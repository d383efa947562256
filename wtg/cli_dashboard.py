"""``wtg web`` (the staff dashboard) and ``wtg user ...`` (staff accounts and API tokens).

    wtg web [--host H] [--port P]          serve the dashboard (uvicorn)
    wtg user add NAME --role R             add a user; password from a prompt or --password-file
    wtg user password NAME                 set a new password (ends that user's sessions)
    wtg user token NAME                    print a new API token once (only its hash is stored)
    wtg user list                          users, roles, sessions, waiting after failed logins
    wtg user unlock NAME [--client ADDR]   let NAME (or a client address) try again at once
    wtg user logout NAME                   end every dashboard session of NAME
    wtg user deactivate|activate NAME      (de)activate NAME; deactivation ends the sessions
    wtg user role NAME ROLE                give NAME another role (takes effect at once)
    wtg user revoke NAME                   make NAME's API token useless
    wtg user link NAME                     print a one-time link to set a new password
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .cli import Ctx, pass_ctx

ROLES = ("viewer", "editor", "approver", "admin")


@click.command()
@click.option("--host", default=None, help="Adresse (Standard: dashboard.host).")
@click.option("--port", type=int, default=None, help="Port (Standard: dashboard.port).")
@pass_ctx
def web(ctx: Ctx, host: str | None, port: int | None) -> None:
    """Das Dashboard für das Team starten."""
    import uvicorn

    from dashboard import DashboardConfigError, create_app

    settings = ctx.settings
    with ctx.opened(start_broker=True) as app:
        try:
            dashboard = create_app(settings, db=app.db, celery=app.celery,
                                   broker_url=app.broker_url)
        except DashboardConfigError as exc:
            raise click.ClickException(str(exc)) from None
        uvicorn.run(dashboard, host=host or settings.dashboard.host,
                    port=port or settings.dashboard.port, proxy_headers=True,
                    forwarded_allow_ips="127.0.0.1", server_header=False, log_config=None)


@click.group()
def user() -> None:
    """Benutzer des Dashboards verwalten."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Passwort aus dieser Datei lesen (erste Zeile) statt abzufragen.")
@pass_ctx
def user_add(ctx: Ctx, name: str, role: str, password_file: Path | None) -> None:
    """Benutzer NAME anlegen."""
    from episodes.users import UserError, create_user

    password = _password(password_file)
    try:
        with ctx.session() as s:
            create_user(s, name, password, role=role, actor="cli")
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Benutzer {name} ({role}) angelegt.")


@user.command("password")
@click.argument("name")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Neues Passwort aus dieser Datei lesen (erste Zeile) statt abzufragen.")
@pass_ctx
def user_password(ctx: Ctx, name: str, password_file: Path | None) -> None:
    """Ein neues Passwort für NAME setzen (beendet alle Anmeldungen von NAME)."""
    from episodes.users import UserError, set_password

    password = _password(password_file)
    try:
        with ctx.session() as s:
            set_password(s, _existing_user(s, name), password, actor="cli")
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Neues Passwort für {name} gesetzt.")


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return str(click.prompt("Passwort", hide_input=True, confirmation_prompt=True))


@user.command("token")
@click.argument("name")
@pass_ctx
def user_token(ctx: Ctx, name: str) -> None:
    """Ein neues API-Token für NAME ausgeben (ersetzt das alte; wird nur einmal gezeigt)."""
    from episodes.users import issue_token

    with ctx.session() as s:
        token = issue_token(s, _existing_user(s, name), actor="cli")
    click.echo(token)


@user.command("list")
@pass_ctx
def user_list(ctx: Ctx) -> None:
    """Alle Benutzer mit Rolle, Sitzungen und Wartezeit nach Fehlversuchen."""
    from episodes import logins
    from episodes.users import list_users

    with ctx.session() as s:
        counts = logins.session_counts(s)
        waiting = {t.key: t for t in logins.throttles(s)}
        for row in list_users(s):
            throttle = waiting.get(logins.account_key(row.username))
            wait = ""
            if throttle is not None:
                wait = f", {throttle.failures} Fehlversuche"
                if throttle.blocked_until:
                    wait += f" (wartet bis {throttle.blocked_until:%H:%M:%S} UTC)"
            token = ", API-Token" if row.api_token_hash else ""
            active = "" if row.active else ", deaktiviert"
            sessions = f", {counts[row.id]} Sitzung(en)" if counts.get(row.id) else ""
            click.echo(f"{row.username}: {row.role}{token}{sessions}{wait}{active}")


@user.command("unlock")
@click.argument("name", required=False)
@click.option("--client", help="Statt eines Benutzers die Wartezeit dieser Rechneradresse "
              "aufheben.")
@pass_ctx
def user_unlock(ctx: Ctx, name: str | None, client: str | None) -> None:
    """Die Wartezeit nach Fehlversuchen für NAME (oder --client ADRESSE) aufheben."""
    from episodes import logins
    from episodes.store import audit

    if not name and not client:
        raise click.UsageError("NAME oder --client angeben.")
    with ctx.session() as s:
        keys = [logins.client_key(client)] if client else []
        if name:
            _existing_user(s, name)
            keys.append(logins.account_key(name))
        for key in keys:
            logins.clear_throttle(s, key)
            audit(s, "cli", "user.unlock", key[:100])
    click.echo(f"{name or client} kann sich wieder sofort anmelden.")


@user.command("logout")
@click.argument("name")
@pass_ctx
def user_logout(ctx: Ctx, name: str) -> None:
    """Alle Anmeldungen von NAME im Dashboard sofort beenden."""
    from episodes import logins
    from episodes.store import audit

    with ctx.session() as s:
        row = _existing_user(s, name)
        ended = logins.end_sessions(s, row.id)
        audit(s, "cli", "user.logout_all", f"user:{name}", sessions=ended)
    click.echo(f"{ended} Sitzung(en) von {name} beendet.")


@user.command("deactivate")
@click.argument("name")
@pass_ctx
def user_deactivate(ctx: Ctx, name: str) -> None:
    """NAME deaktivieren: keine Anmeldung, kein API-Token; laufende Sitzungen enden sofort."""
    from episodes.people import deactivate
    from episodes.users import UserError

    try:
        with ctx.session() as s:
            ended = deactivate(s, _existing_user(s, name), actor="cli")
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name} ist deaktiviert ({ended} Sitzung(en) beendet, API-Token ungültig).")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@pass_ctx
def user_role(ctx: Ctx, name: str, role: str) -> None:
    """NAME die Rolle ROLE geben (gilt ab der nächsten Anfrage von NAME)."""
    from episodes.people import role_label, set_role
    from episodes.users import UserError

    try:
        with ctx.session() as s:
            changed = set_role(s, _existing_user(s, name), role, actor="cli")
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name} hat jetzt die Rolle „{role_label(role)}“." if changed
               else f"{name} hatte die Rolle „{role_label(role)}“ schon.")


@user.command("revoke")
@click.argument("name")
@pass_ctx
def user_revoke(ctx: Ctx, name: str) -> None:
    """Das API-Token von NAME widerrufen."""
    from episodes.people import revoke_token

    with ctx.session() as s:
        revoked = revoke_token(s, _existing_user(s, name), actor="cli")
    click.echo(f"Das API-Token von {name} ist widerrufen." if revoked
               else f"{name} hatte kein API-Token.")


@user.command("link")
@click.argument("name")
@pass_ctx
def user_link(ctx: Ctx, name: str) -> None:
    """Einen Einmal-Link ausgeben, mit dem NAME ein neues Passwort wählt (2 Tage gültig)."""
    from episodes.people import create_link

    with ctx.session() as s:
        row = _existing_user(s, name)
        if not row.active:
            raise click.ClickException(f"{name} ist deaktiviert; bitte zuerst aktivieren.")
        token = create_link(s, row, "reset", actor="cli")
    base = ctx.settings.dashboard.public_url.rstrip("/")
    click.echo(f"{base}/set-password/{token}")


@user.command("activate")
@click.argument("name")
@pass_ctx
def user_activate(ctx: Ctx, name: str) -> None:
    """NAME wieder aktivieren."""
    from episodes.users import set_active

    with ctx.session() as s:
        set_active(s, _existing_user(s, name), True, actor="cli")
    click.echo(f"{name} ist wieder aktiv.")


def _existing_user(s: Any, name: str) -> Any:
    from episodes.users import get_user

    row = get_user(s, name)
    if row is None:
        raise click.ClickException(f"Den Benutzer {name!r} gibt es nicht.")
    return row


COMMANDS = [web, user]

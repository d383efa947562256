"""``wtg web`` (the staff dashboard) and ``wtg user ...`` (staff accounts and API tokens).

    wtg web [--host H] [--port P]          serve the dashboard (uvicorn)
    wtg user add NAME --role R             add a user; password from a prompt or --password-file
    wtg user password NAME                 set a new password (ends that user's sessions)
    wtg user token NAME                    print a new API token once (only its hash is stored)
    wtg user list                          users, roles, lock state
    wtg user unlock NAME                   end a login lockout
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
    """Alle Benutzer mit Rolle und Sperre."""
    from episodes.users import list_users

    with ctx.session() as s:
        for row in list_users(s):
            lock = f", gesperrt bis {row.locked_until:%Y-%m-%d %H:%M} UTC" \
                if row.locked_until else ""
            token = ", API-Token" if row.api_token_hash else ""
            active = "" if row.active else ", deaktiviert"
            click.echo(f"{row.username}: {row.role}{token}{lock}{active}")


@user.command("unlock")
@click.argument("name")
@pass_ctx
def user_unlock(ctx: Ctx, name: str) -> None:
    """Die Anmeldesperre von NAME aufheben."""
    from episodes.store import audit

    with ctx.session() as s:
        row = _existing_user(s, name)
        row.locked_until = None
        row.failed_logins = 0
        audit(s, "cli", "user.unlock", f"user:{name}")
    click.echo(f"{name} ist entsperrt.")


def _existing_user(s: Any, name: str) -> Any:
    from episodes.users import get_user

    row = get_user(s, name)
    if row is None:
        raise click.ClickException(f"Den Benutzer {name!r} gibt es nicht.")
    return row


COMMANDS = [web, user]

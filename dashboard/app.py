"""The app factory: ``create_app(settings, db=..., celery=..., broker_url=...)``.

The dashboard only reads the database, writes staff decisions through ``episodes.store`` /
``episodes.review``, and sends Celery tasks by name (``wtg.publish.run``, ``wtg.media.prepare``);
it never runs them. Every route except ``/login`` and ``/healthz`` refuses anonymous callers:
pages redirect to the login page, the API and ``/metrics`` answer 401. :mod:`.gate` decides who
asks and how much they may send before any request body is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from celery import Celery
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from config import Settings
from episodes.db import Database

from .auth import Forbidden, LoginRequired, Sessions
from .gate import Gate, wants_json
from .templating import templates

HERE = Path(__file__).resolve().parent
API_PREFIX = "/api/v1"


class DashboardConfigError(RuntimeError):
    """The dashboard cannot start with these settings; the message is German."""


@dataclass
class Wtg:
    """What the routes need, on ``app.state.wtg``."""

    settings: Settings
    db: Database
    celery: Celery
    broker_url: str
    sessions: Sessions

    def send(self, task: str, *args: Any) -> None:
        """Hand a task to the workers by name (never run here)."""
        self.celery.send_task(task, args=list(args))


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    celery: Celery | None = None,
    broker_url: str | None = None,
) -> FastAPI:
    """Build the dashboard. Refuses to start without ``dashboard.secret_key``."""
    key = settings.dashboard.secret_key
    if key is None or len(key.reveal()) < 32:
        raise DashboardConfigError(
            "Das Dashboard startet nicht: es fehlt ein geheimer Schlüssel für die Anmeldung "
            "(mindestens 32 Zeichen). Bitte WTG_DASHBOARD__SECRET_KEY oder "
            "WTG_DASHBOARD__SECRET_KEY_FILE setzen, z. B. mit: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    url = broker_url or settings.broker_url
    if url is None:
        raise DashboardConfigError(
            "Das Dashboard braucht die Adresse des Brokers (WTG_BROKER_URL oder den "
            "eingebauten Broker über „wtg web“)."
        )
    if celery is None:
        from workers.app import make_celery

        celery = make_celery(settings, url)
    app = FastAPI(
        title="wtg – Wir tun GUTes",
        version="1",
        description="Staff API of the wtg scheduler. Authenticate with "
        "`Authorization: Bearer <token>` (`wtg user token NAME`).",
        docs_url=None, redoc_url=None, openapi_url=None,  # served behind login, see api.py
    )
    db = db or Database(settings.database_url)
    app.state.wtg = Wtg(
        settings=settings,
        db=db,
        celery=celery,
        broker_url=url,
        sessions=Sessions(db, key.reveal(), hours=settings.dashboard.session_hours,
                          secure=settings.dashboard.secure_cookies),
    )
    from . import (
        admin,
        api,
        api_controls,
        api_series,
        calendar_pages,
        controls,
        episode_pages,
        media_files,
        monitoring,
        pages,
        series_pages,
    )

    app.include_router(pages.router)
    _accounts_and_people(app)
    app.include_router(admin.router)
    app.include_router(episode_pages.router)
    app.include_router(media_files.router)
    app.include_router(monitoring.router)
    app.include_router(series_pages.router)
    app.include_router(calendar_pages.router)
    app.include_router(controls.router)
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(api_series.router, prefix=API_PREFIX)
    app.include_router(api_controls.router, prefix=API_PREFIX)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _handlers(app)
    _bearer_in_openapi(app)

    app.add_middleware(Gate, deps=app.state.wtg)
    return app


def _accounts_and_people(app: FastAPI) -> None:
    """Accounts (health, connecting in the browser) and the team's admin pages."""
    from . import account_health, connect, people

    for module in (account_health, connect, people):
        app.include_router(module.router)


def _bearer_in_openapi(app: FastAPI) -> None:
    """Document the token scheme on every API operation of the OpenAPI schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _wants_json(request: Request) -> bool:
    return wants_json(request.scope)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "Anmeldung erforderlich (Bearer-Token)."},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return templates.TemplateResponse(
            request, "error.html", {"user": None, "message": "Bitte zuerst anmelden."},
            status_code=401,
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.message_de}, status_code=403)
        return templates.TemplateResponse(
            request, "error.html", {"user": None, "message": exc.message_de}, status_code=403
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        message = exc.detail if exc.status_code != 404 else "Diese Seite gibt es nicht."
        return templates.TemplateResponse(
            request, "error.html", {"user": None, "message": message},
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        from fastapi.encoders import jsonable_encoder

        from episodes.season_models import german

        if _wants_json(request):  # German messages (our own rules already speak German)
            errors = [{**e, "msg": german(e)} for e in exc.errors()]
            return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
        return templates.TemplateResponse(
            request, "error.html",
            {"user": None, "message": "Die Eingabe ist unvollständig oder ungültig."},
            status_code=422,
        )


__all__ = ["API_PREFIX", "DashboardConfigError", "Wtg", "create_app"]

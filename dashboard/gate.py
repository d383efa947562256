"""The gate every request passes first (pure ASGI, before any body is read): who asks, how
many bytes they may send, and the security headers of every answer.

1. **Who asks** is decided from the headers alone: the session cookie for pages, the bearer
   token for ``/api/v1`` and ``/metrics`` (one database lookup in a worker thread). The result
   goes into the request's state for :mod:`.auth`.
2. **Anonymous** callers may send at most ``ANONYMOUS_MAX`` bytes (the login form, a password
   link's form). Any other state-changing request without a session or token is refused at
   once, its body unread.
3. A form from **another site** (``Origin`` / ``Sec-Fetch-Site``) is refused before its body.
4. **Size**: every route has a maximum (``limit_for``): source clips ``dashboard.max_video_mb``,
   subtitle files ``SUBTITLE_MAX``, everything else ``FORM_MAX``. A declared ``Content-Length``
   above it is refused with 413 without reading; a body that grows beyond it while streaming
   stops there (:class:`BodyTooLarge`). An answer given before the whole body was read closes
   the connection, so the rest is never read either.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import COOKIE, IDENTITY, SAFE_METHODS, Identity, identify_bearer
from .templating import templates

Message = MutableMapping[str, Any]

KB, MB = 1024, 1024 * 1024
ANONYMOUS_MAX = 8 * KB  # the login form is a few hundred bytes
FORM_MAX = 1 * MB  # forms (the cue editor is the largest) and JSON of logged-in staff
SUBTITLE_MAX = 5 * MB  # a subtitle file
MULTIPART_SLACK = 1 * MB  # the form around a file; the upload route itself stops at the file limit
VIDEO_ROUTE = re.compile(r"^/episodes/\d+/source$")
SUBTITLE_ROUTE = re.compile(r"^/episodes/\d+/subtitles$")
TOKEN_PATHS = ("/api/", "/metrics")
#: the only forms anyone may send without a login: the login and a one-time password link
ANONYMOUS_FORMS = re.compile(r"^/(login|set-password/[A-Za-z0-9_-]{1,200})$")
OPEN_PATHS = ("/static/", "/healthz")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
     b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
]


def mb(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n // KB} KB"


class BodyTooLarge(HTTPException):
    """The body grew past the route's maximum while it was read (413); ``shown`` is the size
    staff know (the file's limit on an upload route)."""

    def __init__(self, limit: int, shown: int | None = None) -> None:
        self.limit = limit
        super().__init__(413, f"Die Anfrage ist zu groß (höchstens {mb(shown or limit)}).")


def wants_json(scope: Scope) -> bool:
    path = scope["path"]
    accept = Headers(scope=scope).get("accept", "")
    return path.startswith(("/api/", "/metrics", "/live/")) or (
        "application/json" in accept and "text/html" not in accept)


class Gate:
    """ASGI middleware; ``deps`` is the app's :class:`~dashboard.app.Wtg`."""

    def __init__(self, app: ASGIApp, deps: Any) -> None:
        self.app = app
        self.deps = deps

    def limit_for(self, method: str, path: str) -> tuple[int, int]:
        """(the largest body a logged-in person may send to this route, the size to name)."""
        if method == "POST" and VIDEO_ROUTE.match(path):
            video = self.deps.settings.dashboard.max_video_mb * MB
            return video + MULTIPART_SLACK, video
        if method == "POST" and SUBTITLE_ROUTE.match(path):
            return SUBTITLE_MAX + MULTIPART_SLACK, SUBTITLE_MAX
        return FORM_MAX, FORM_MAX

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers = Headers(scope=scope)
        send = _Answer(send, no_store=not path.startswith(("/static/", "/media/")))
        identity = None if path.startswith(OPEN_PATHS) else await self._identify(path, headers)
        scope.setdefault("state", {})[IDENTITY] = identity
        unsafe = method not in SAFE_METHODS
        if identity is None and unsafe and not ANONYMOUS_FORMS.match(path):
            await self._refuse(scope, send, 401, "Bitte zuerst anmelden.")
            return
        if unsafe and not path.startswith(TOKEN_PATHS) and _foreign(headers, self.deps):
            await self._refuse(scope, send, 403, (
                "Das Formular stammt nicht von dieser Seite (CSRF-Schutz). Bitte die Seite neu "
                "laden und noch einmal versuchen."))
            return
        limit, shown = ((ANONYMOUS_MAX, ANONYMOUS_MAX) if identity is None
                        else self.limit_for(method, path))
        try:
            declared = _content_length(headers)
        except ValueError:
            await self._refuse(scope, send, 400, "Ungültige Längenangabe (Content-Length).")
            return
        if declared is not None and declared > limit:
            await self._refuse(scope, send, 413, BodyTooLarge(limit, shown).detail)
            return
        has_body = bool(declared) or "transfer-encoding" in headers
        body = _Budget(receive, limit, shown, done=not has_body)
        send.body = body
        try:
            await self.app(scope, body, send)
        except BodyTooLarge as exc:
            if send.started:
                raise
            await self._refuse(scope, send, 413, exc.detail)

    async def _identify(self, path: str, headers: Headers) -> Identity | None:
        if path.startswith(TOKEN_PATHS):
            header = headers.get("authorization", "")
            if not header:
                return None
            staff = await anyio.to_thread.run_sync(identify_bearer, self.deps.db, header)
            return Identity(staff, "token") if staff else None
        token = _cookie(headers, COOKIE)
        if not token:
            return None
        staff = await anyio.to_thread.run_sync(self.deps.sessions.identify, token)
        return Identity(staff, "session") if staff else None

    async def _refuse(self, scope: Scope, send: Send, status: int, message_de: str) -> None:
        """Answer at once, in the caller's language (JSON or the error page)."""
        if wants_json(scope):
            extra = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            response: Any = JSONResponse({"detail": message_de}, status_code=status,
                                         headers=extra)
        else:
            response = templates.TemplateResponse(
                Request(scope), "error.html", {"user": None, "message": message_de},
                status_code=status)
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


class _Budget:
    """``receive`` with a byte budget; remembers whether the whole body was read."""

    def __init__(self, receive: Receive, limit: int, shown: int, *, done: bool) -> None:
        self._receive = receive
        self.limit = limit
        self.shown = shown
        self.read = 0
        self.done = done

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.limit:
                raise BodyTooLarge(self.limit, self.shown)
            if not message.get("more_body", False):
                self.done = True
        return message


class _Answer:
    """``send`` that adds the security headers and closes the connection when the answer goes
    out before the body was read to its end (so the server never reads the rest)."""

    def __init__(self, send: Send, *, no_store: bool) -> None:
        self._send = send
        self.no_store = no_store
        self.started = False
        self.body: _Budget | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            raw = list(message.get("headers", []))
            have = {name.lower() for name, _ in raw}
            raw += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
            if self.no_store and b"cache-control" not in have:
                raw.append((b"cache-control", b"no-store"))
            if self.body is None or not self.body.done:
                raw.append((b"connection", b"close"))
            message = {**message, "headers": raw}
        await self._send(message)


def _content_length(headers: Headers) -> int | None:
    values = headers.getlist("content-length")
    if not values:
        return None
    if len(set(values)) != 1 or not values[0].strip().isdigit():
        raise ValueError(values)
    return int(values[0])


def _cookie(headers: Headers, name: str) -> str:
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value.strip()
    return ""


def _foreign(headers: Headers, deps: Any) -> bool:
    """True if a browser says this form comes from another site."""
    if headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = headers.get("origin")
    if origin is None:
        return False  # not a browser form (or a very old browser): the CSRF token decides
    netloc = urlsplit(origin).netloc
    allowed = {headers.get("host", ""), urlsplit(deps.settings.dashboard.public_url).netloc}
    return not netloc or netloc not in allowed


__all__ = [
    "ANONYMOUS_MAX", "FORM_MAX", "MULTIPART_SLACK", "SUBTITLE_MAX", "BodyTooLarge", "Gate",
    "wants_json",
]

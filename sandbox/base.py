"""A strict local protocol server: the base every platform sandbox builds on.

Each platform module subclasses :class:`Sandbox`, declares its routes with :func:`route` and keeps
its state (upload sessions, containers, published posts) in memory under ``self.lock``. The base
adds what every platform needs:

* bearer-token / access-token checks against ``self.tokens`` (tests can expire a token);
* fault injection: a queue of :class:`Fault` s, each matching a method and path pattern, that
  answers with a status and body, resets the connection (optionally after reading part of the
  request body), or delays; faults can be added in-process or over HTTP
  (``POST /__sandbox/faults``), so a test can break a server used by other processes;
* introspection: ``GET /__sandbox/state`` returns ``self.snapshot()`` as JSON, the published
  posts with the sha256 of their bytes, so tests can assert exactly one post with the right bytes.

Servers run on 127.0.0.1 on a free port, in a thread of the process that starts them
(``start()``/``stop()`` or as a context manager), or as their own process with
``python -m sandbox serve PLATFORM --port N``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """One injected misbehaviour, consumed when it fires (``times`` times)."""

    method: str  # "*" or an HTTP method
    path: str  # a regular expression searched in the request path
    status: int | None = None  # answer with this status ...
    body: Any = None  # ... and this JSON body
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # close the connection without an answer
    read_bytes: int | None = None  # with reset: read this much of the body first
    after: bool = False  # with reset: handle the request fully, then drop the answer
    #: with reset and read_bytes on a streamed route: the handler gets the first read_bytes as
    #: a body that ends early (the platform keeps what arrived), then the connection drops
    partial: bool = False
    delay: float = 0.0  # seconds to wait before acting
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and re.search(self.path, path) is not None


@dataclass(frozen=True, kw_only=True)
class SandboxAccount:
    """An account pointed at a sandbox, as ``account()`` returns it: the same attribute names as
    the adapters' ``Account`` (a sandbox imports nothing from ``workers``)."""

    name: str
    platform: str
    display_name: str
    api_base: str
    options: Mapping[str, Any] = field(default_factory=dict)
    #: as in the settings: the adapter checks the options (and this switch) against the
    #: platform's capability data when it is built
    native_scheduling: bool = False


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str]  # path parameters from the route pattern
    #: for ``@route(..., stream=True)``: the unread body (``body`` is then empty)
    stream: BodyStream | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        """application/x-www-form-urlencoded body merged over the query string."""
        out = dict(self.query)
        ctype = self.headers.get("content-type", "")
        if "x-www-form-urlencoded" in ctype and self.body:
            out.update({k: v[-1] for k, v in parse_qs(self.body.decode()).items()})
        elif "json" in ctype and self.body:
            data = self.json()
            if isinstance(data, dict):
                out.update({k: v for k, v in data.items() if isinstance(v, str | int | float)})
        return out

    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Sandbox", Request], Response]


def route(method: str, pattern: str, *, stream: bool = False) -> Callable[[Handler], Handler]:
    """Declare a handler for ``method`` and a path pattern with ``{name}`` parameters.

    ``stream=True``: the body is not read into memory (and ``max_body`` does not apply); the
    handler reads ``req.stream`` in pieces (upload chunks of any size). What it leaves unread is
    drained after it returns.
    """

    def deco(fn: Handler) -> Handler:
        fn.__sandbox_route__ = (method, pattern, stream)  # type: ignore[attr-defined]
        return fn

    return deco


class BodyStream:
    """A request body read in pieces from the socket, never more than ``length`` bytes."""

    def __init__(self, rfile: Any, length: int) -> None:
        self._rfile = rfile
        self.length = length
        self.consumed = 0
        self.truncated = False  # the client went away before sending ``length`` bytes

    @property
    def remaining(self) -> int:
        return self.length - self.consumed

    def read(self, n: int = 1 << 20) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end of the body or when the client went away."""
        n = min(n, self.remaining)
        if n <= 0:
            return b""
        data = self._rfile.read(n)
        self.consumed += len(data)
        if not data:  # connection closed early: nothing more will come
            self.consumed = self.length
            self.truncated = True
        return data

    def drain(self) -> None:
        while self.read():
            pass


class Sandbox:
    """Base of the local protocol servers."""

    platform: ClassVar[str] = "sandbox"
    #: where the platform's documents are silent or ambiguous: point -> the plausible readings,
    #: the first being the default. A test (or ``python -m sandbox serve --reading P=R``) picks
    #: one per point with :meth:`configure`; the contract suite runs against every reading.
    READINGS: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: requests whose body is streamed to the handler instead of read (none by default)
    _routes: ClassVar[list[tuple[str, re.Pattern[str], Handler]]]
    _stream_routes: ClassVar[list[tuple[str, re.Pattern[str]]]] = []

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        routes = []
        streamed = []
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                spec = getattr(value, "__sandbox_route__", None)
                if spec:
                    method, pattern = spec[:2]
                    regex = re.compile(
                        "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$"
                    )
                    routes.append((method, regex, value))
                    if len(spec) > 2 and spec[2]:
                        streamed.append((method, regex))
        cls._routes = routes
        cls._stream_routes = streamed

    def __init__(self, *, port: int = 0, max_body: int = 256 * 1024 * 1024) -> None:
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.requests_seen: list[tuple[str, str]] = []
        self.max_body = max_body
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.readings: dict[str, str] = {k: v[0] for k, v in self.READINGS.items()}

    def configure(self, readings: Mapping[str, str]) -> Sandbox:
        """Choose a reading for some ambiguous points (unknown points or readings: ValueError)."""
        for point, choice in readings.items():
            allowed = self.READINGS.get(point)
            if allowed is None:
                raise ValueError(f"{self.platform}: no ambiguous point {point!r} "
                                 f"(known: {', '.join(sorted(self.READINGS)) or 'none'})")
            if choice not in allowed:
                raise ValueError(f"{self.platform}: reading {choice!r} of {point!r} is not one "
                                 f"of {', '.join(allowed)}")
            self.readings[point] = choice
        return self

    def reading(self, point: str) -> str:
        """The reading chosen for ``point``."""
        return self.readings[point]

    # --- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Sandbox:
        sandbox = self

        class _H(_RequestHandler):
            owner = sandbox

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _H)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns in ~50 ms instead of 500 ms
            name=f"sandbox-{self.platform}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults and state -----------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.matches(method, path):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe state for tests; subclasses extend it (``published`` at least)."""
        return {"platform": self.platform, "published": []}

    def handle_control(self, req: Request) -> Response | None:
        if req.path == "/__sandbox/state" and req.method == "GET":
            with self.lock:
                return Response(200, {**self.snapshot(), "readings": dict(self.readings)})
        if req.path == "/__sandbox/faults" and req.method == "POST":
            data = req.json()
            for item in data if isinstance(data, list) else [data]:
                self.inject(Fault(**item))
            return Response(204)
        return None

    def streams_body(self, method: str, path: str) -> bool:
        """Whether the route for this request reads its body itself (``stream=True``)."""
        return any(m == method and rx.match(path) for m, rx in self._stream_routes)

    def dispatch(self, req: Request) -> Response:
        for method, regex, handler in self._routes:
            if method != req.method:
                continue
            m = regex.match(req.path)
            if m:
                req.params = m.groupdict()
                return handler(self, req)
        return Response(404, {"error": f"no route {req.method} {req.path}"})


class _RequestHandler(BaseHTTPRequestHandler):
    owner: ClassVar[Sandbox]
    protocol_version = "HTTP/1.1"
    #: headers and body go out in separate writes; with Nagle each answer waited ~40 ms for
    #: the client's delayed ACK
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # quiet
        return None

    def _handle(self) -> None:
        sb = self.owner
        split = urlsplit(self.path)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        with sb.lock:
            sb.requests_seen.append((self.command, path))
        fault = None if path.startswith("/__sandbox/") else sb._take_fault(self.command, path)
        length = int(headers.get("content-length") or 0)
        if sb.streams_body(self.command, path):
            self._handle_streamed(sb, fault, path, query, headers, length)
            return
        if length > sb.max_body:
            self._send(Response(413, {"error": "request entity too large"}))
            return
        if fault and fault.delay:
            time.sleep(fault.delay)
        if fault and fault.reset and not fault.after:
            if fault.read_bytes:
                self.rfile.read(min(fault.read_bytes, length))
            self._reset()
            return
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, path, query, headers, body, {})
        if fault and fault.status is not None:
            self._send(Response(fault.status, fault.body, dict(fault.headers)))
            return
        resp = sb.handle_control(req) or sb.dispatch(req)
        if fault and fault.reset and fault.after:
            self._reset()
            return
        self._send(resp)

    def _handle_streamed(
        self,
        sb: Sandbox,
        fault: Fault | None,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        length: int,
    ) -> None:
        """Like ``_handle`` but the handler reads the body from the socket in pieces."""
        if fault and fault.delay:
            time.sleep(fault.delay)
        stream = BodyStream(self.rfile, length)
        if fault and fault.reset and not fault.after and fault.partial and fault.read_bytes:
            cut = BodyStream(self.rfile, min(fault.read_bytes, length))
            sb.dispatch(Request(self.command, path, query, headers, b"", {}, cut))
            self._reset()
            return
        if fault and fault.reset and not fault.after:
            if fault.read_bytes:
                while stream.consumed < min(fault.read_bytes, length):
                    if not stream.read(min(1 << 16, fault.read_bytes - stream.consumed)):
                        break
            self._reset()
            return
        if fault and fault.status is not None:
            stream.drain()
            self._send(Response(fault.status, fault.body, dict(fault.headers)))
            return
        req = Request(self.command, path, query, headers, b"", {}, stream)
        resp = sb.dispatch(req)
        stream.drain()
        if fault and fault.reset and fault.after:
            self._reset()
            return
        self._send(resp)

    def _reset(self) -> None:
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def _send(self, resp: Response) -> None:
        if isinstance(resp.body, dict | list):
            payload = json.dumps(resp.body).encode()
            resp.headers.setdefault("Content-Type", "application/json")
        elif isinstance(resp.body, str):
            payload = resp.body.encode()
            resp.headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = resp.body or b""
        if "Date" in resp.headers:  # the sandbox's own clock (a test may skew it)
            self.send_response_only(resp.status)
            self.send_header("Server", self.version_string())
        else:
            self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

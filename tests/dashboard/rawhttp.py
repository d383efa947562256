"""Oversized requests over a raw socket, and an ASGI wrapper that counts the body bytes the
server hands to the application.

An HTTP client library writes the whole body before it reads the answer (and may buffer it);
these tests must see the server answer early and stop reading, so ``push`` sends the head, then
the body piece by piece from a generator (never held in memory), and stops the moment the
server answers or closes.
"""

from __future__ import annotations

import itertools
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

CHUNK = 64 * 1024


@dataclass
class Pushed:
    status: int
    sent: int  # body bytes the client got out of its socket before the answer (or the close)
    seconds: float
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def zeros(total: int | None, chunk: int = CHUNK) -> Iterator[bytes]:
    """``total`` bytes (None: without end), generated on the fly."""
    piece = b"\0" * chunk
    if total is None:
        yield from itertools.repeat(piece)
        return
    full, rest = divmod(total, chunk)
    yield from itertools.repeat(piece, full)
    if rest:
        yield piece[:rest]


def multipart(boundary: str, fields: dict[str, str], file_name: str,
              content: Iterable[bytes]) -> Iterator[bytes]:
    """A multipart/form-data body: the fields first, then one file part named ``file``."""
    for name, value in fields.items():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
               f"{value}\r\n").encode()
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
           f"filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    yield from content
    yield f"\r\n--{boundary}--\r\n".encode()


def multipart_size(boundary: str, fields: dict[str, str], file_name: str, size: int) -> int:
    """The Content-Length of ``multipart(...)`` with a file of ``size`` bytes."""
    return sum(map(len, multipart(boundary, fields, file_name, []))) + size


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Transfer-Encoding: chunked framing (no Content-Length: the server cannot know the size)."""
    for piece in pieces:
        if piece:
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def push(base_url: str, method: str, path: str, *, headers: dict[str, str],
         body: Iterable[bytes], give_up_after: int, head_wait: float = 0.0,
         stall_timeout: float = 60.0) -> Pushed:
    """Send a request, the body piece by piece, until the server answers, closes, or
    ``give_up_after`` body bytes are out (a server that reads everything). ``head_wait``: wait
    this long after the head for an early answer before sending any body byte."""
    url = urlsplit(base_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    started = time.monotonic()
    head = f"{method} {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode("latin-1"))
    sent = 0
    try:
        if head_wait and select.select([sock], [], [], head_wait)[0]:
            return _answer(sock, sent, started)
        sock.setblocking(False)
        pieces = iter(body)
        pending = b""
        last_progress = time.monotonic()
        while sent < give_up_after:
            if not pending:
                pending = next(pieces, b"")
                if not pending:
                    break
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break
            if writable:
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += n
                pending = pending[n:]
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > stall_timeout:
                break
        return _answer(sock, sent, started)
    finally:
        sock.close()


def _answer(sock: socket.socket, sent: int, started: float) -> Pushed:
    sock.setblocking(True)
    sock.settimeout(30)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (ln.partition(":") for ln in lines[1:])}
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            rest += piece
    except (ConnectionResetError, TimeoutError, OSError):
        head, rest, lines, headers = b"", b"", [""], {}
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    return Pushed(status=status, sent=sent, seconds=time.monotonic() - started,
                  text=rest.decode("utf-8", "replace"), headers=headers)


class BodyCounter:
    """ASGI wrapper around the whole app: counts the request body bytes the server delivered
    to the application, per path (what the server read on the application's behalf)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.read: dict[str, int] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        self.read.setdefault(path, 0)

        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.read[path] += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)

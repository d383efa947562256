"""Receiving an uploaded file as a stream, with a byte budget.

The upload forms send two fields, in this order: ``csrf`` (the session's token) and ``file``.
The token is checked as soon as its field has arrived, before any byte of the file is read; a
missing or wrong token ends the request there. The file's bytes go straight to a hidden
``.part`` file in the upload folder (0600), or into memory for small files, and the count stops
at ``limit``: one byte more and the partial file is removed and the request refused. The disk
must keep ``min_free`` bytes free, checked before the first byte and again every
``DISK_CHECK_EVERY`` bytes. Nothing here spools to a temporary folder.
"""

from __future__ import annotations

import hmac
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio
from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from .auth import CSRF_REFUSED, Forbidden
from .uploads import client_name, new_upload, open_private, too_big

FLUSH_AT = 1 << 20  # write to disk in pieces of about this size
DISK_CHECK_EVERY = 256 << 20
CSRF_MAX = 256


class UploadRefused(Exception):
    """The upload cannot be accepted; ``status`` and a German message for the page."""

    def __init__(self, status: int, message_de: str) -> None:
        self.status = status
        self.message_de = message_de
        super().__init__(message_de)


@dataclass(frozen=True)
class Received:
    """What arrived: the stored ``.part`` file (to disk) or the bytes (in memory)."""

    filename: str | None
    size: int
    part_path: Path | None = None
    final_path: Path | None = None
    data: bytes = b""


def check_free_disk(directory: Path, *, incoming: int, min_free: int) -> None:
    """Refuse (507) if ``incoming`` more bytes would leave less than ``min_free`` free."""
    here = directory
    while not here.exists():
        here = here.parent
    free = shutil.disk_usage(here).free
    if free - incoming < min_free:
        raise UploadRefused(507, (
            "Auf dem Server ist nicht genug Speicherplatz frei für diese Datei "
            f"(frei: {free // 1024**2} MB, nötig: {(incoming + min_free) // 1024**2} MB). "
            "Bitte die Technik informieren."))


def declared_length(request: Request) -> int:
    raw = request.headers.get("content-length", "")
    return int(raw) if raw.isdigit() else 0


class _Parts:
    """The multipart callbacks: collects the csrf field and hands file bytes to a sink."""

    def __init__(self, csrf: str, limit: int) -> None:
        self.csrf = csrf
        self.limit = limit
        self.headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""
        self.field = ""
        self.filename: str | None = None
        self.token = b""
        self.csrf_ok = False
        self.in_file = False
        self.file_done = False
        self.size = 0
        self.pending: list[bytes] = []

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self.on_part_begin, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished}

    def on_part_begin(self) -> None:
        self.headers, self.field, self.in_file = {}, "", False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.field = options.get(b"name", b"").decode("utf-8", "replace")
        if self.field != "csrf" and not self.csrf_ok:
            raise Forbidden(CSRF_REFUSED)  # the token comes first, before any file byte
        if self.field == "file" and not self.file_done:
            raw = options.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None
            self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.field == "csrf" and not self.csrf_ok:
            self.token += data[start:end]
            if len(self.token) > CSRF_MAX:
                raise Forbidden(CSRF_REFUSED)
        elif self.in_file:
            self.size += end - start
            if self.size > self.limit:
                raise UploadRefused(413, too_big(client_name(self.filename), self.limit))
            self.pending.append(bytes(data[start:end]))

    def on_part_end(self) -> None:
        if self.field == "csrf" and not self.csrf_ok:
            if not self.csrf or not hmac.compare_digest(self.token, self.csrf.encode()):
                raise Forbidden(CSRF_REFUSED)
            self.csrf_ok = True
        elif self.in_file:
            self.in_file, self.file_done = False, True

    def take(self) -> bytes:
        chunk = b"".join(self.pending)
        self.pending.clear()
        return chunk


async def receive_file(request: Request, *, csrf: str, limit: int, directory: Path | None = None,
                       kind: str = "upload", suffix: str = "", min_free: int = 0) -> Received:
    """Read the upload form of ``request``: the csrf field, then the file (at most ``limit``
    bytes) into ``directory`` (or memory when None). Raises :class:`UploadRefused` or
    :class:`~dashboard.auth.Forbidden`; nothing stays on disk then."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not request.headers.get("content-type", "").startswith("multipart/form-data") \
            or not boundary:
        raise UploadRefused(400, "Bitte die Datei über das Formular der Folge hochladen.")
    parts = _Parts(csrf, limit)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    out: BinaryIO | None = None
    final = part = None
    memory = bytearray()
    written = next_check = 0
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.pending and (sum(map(len, parts.pending)) >= FLUSH_AT or parts.file_done):
                data = parts.take()
                if directory is None:
                    memory += data
                    continue
                if out is None:
                    final, part = new_upload(directory, kind, suffix)
                    out = await anyio.to_thread.run_sync(open_private, part)
                await anyio.to_thread.run_sync(out.write, data)
                written += len(data)
                if written >= next_check:
                    check_free_disk(directory, incoming=0, min_free=min_free)
                    next_check = written + DISK_CHECK_EVERY
        parser.finalize()
        data = parts.take()
        if directory is None:
            memory += data
        elif data or out is None:
            if out is None:
                final, part = new_upload(directory, kind, suffix)
                out = await anyio.to_thread.run_sync(open_private, part)
            await anyio.to_thread.run_sync(out.write, data)
        if out is not None:
            await anyio.to_thread.run_sync(out.close)
        if not parts.csrf_ok:
            raise Forbidden(CSRF_REFUSED)
        if not parts.file_done:
            raise UploadRefused(400, "Es kam keine Datei an. Bitte eine Datei auswählen.")
    except BaseException:
        if out is not None:
            out.close()
        if part is not None:
            part.unlink(missing_ok=True)
        raise
    return Received(filename=parts.filename, size=parts.size, part_path=part, final_path=final,
                    data=bytes(memory))


__all__ = [
    "Received", "UploadRefused", "check_free_disk", "declared_length",
    "receive_file",
]

"""Sending a file to Meta's ``rupload`` host: Facebook Reels and Instagram resumable uploads.

One POST carries the bytes ``[offset, size)`` with the headers ``Authorization: OAuth``,
``offset`` and ``file_size``, streamed from disk (Meta's Reels sample sends the whole file in one
request with ``offset: 0``; docs/platforms/facebook.md FB-R2, instagram.md IG-U2). By default one
request carries everything that is left, which holds whether or not the host takes partial
POSTs; the account option ``chunk_size`` splits it where that is known to work.

How an interrupted POST is resumed is documented for neither host (facebook.md FB-R3,
instagram.md IG-U3), so :meth:`Rupload.upload` holds under every plausible reading:

1. ask the platform how many bytes it holds (``held``: Facebook's ``uploading_phase.
   bytes_transferred``; Instagram's offset lookup) and continue there;
2. if the host refuses a partial POST (``chunk_size`` set), send the rest in one request; if it
   refuses a continuation at a non-zero offset, start over at 0 once;
3. if it cannot tell (``held`` is None: lookup unsupported, session dead) or refuses even that,
   start a fresh session/container (``fresh``): the old one is never published, so there is no
   duplicate post.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .base import PostContext
from .errors import ConnectionLost, PlatformUnavailable, RejectedByPlatform, UploadAgain
from .http import PlatformHTTP

log = logging.getLogger("wtg.platforms.rupload")

#: fresh sessions/containers one upload call may start before it gives up
MAX_FRESH = 2
#: transient failures of the transfer one upload call absorbs before it raises
MAX_RETRIES = 3


class FileSlice:
    """The bytes ``[start, end)`` of a file as a request body: streamed, with a known length,
    reporting progress (``on_read(bytes read so far)``)."""

    BLOCK = 1 << 20

    def __init__(self, path: Path, start: int, end: int,
                 on_read: Callable[[int], None] | None = None) -> None:
        self.path, self.start, self.end = path, start, end
        self.on_read = on_read
        self._fh: Any = None
        self._pos = start

    def __len__(self) -> int:
        return self.end - self.start

    def read(self, n: int = -1) -> bytes:
        if self._fh is None:
            self._fh = self.path.open("rb")
            self._fh.seek(self.start)
        left = self.end - self._pos
        n = left if n is None or n < 0 else min(n, left)
        data = self._fh.read(n) if n > 0 else b""
        self._pos += len(data)
        if self.on_read and data:
            self.on_read(self._pos - self.start)
        if not data or self._pos >= self.end:
            self.close()
        return data

    def __iter__(self) -> Iterator[bytes]:
        while True:
            data = self.read(self.BLOCK)
            if not data:
                return
            yield data

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class Rupload:
    """One adapter's sender: the HTTP chokepoint, the token and the request size."""

    def __init__(self, http: PlatformHTTP, token: str, *, per_request: int = 0,
                 backoff: float = 0.2) -> None:
        self.http = http
        self.token = token
        self.per_request = per_request
        self.backoff = backoff

    def send(self, ctx: PostContext, url: str, offset: int) -> int:
        """POST ``[offset, size)`` (one request, or ``per_request``-byte pieces), recording the
        offset after every accepted request; returns the file size."""
        size = ctx.video.size
        while offset < size:
            end = size if self.per_request <= 0 else min(size, offset + self.per_request)
            base = offset

            def progress(done: int, base: int = base) -> None:
                if ctx.progress:
                    ctx.progress(base + done, size)

            body = FileSlice(ctx.video.path, offset, end, progress)
            try:
                answer = self.http.json("POST", url, data=body, headers={
                    "Authorization": f"OAuth {self.token}", "offset": str(offset),
                    "file_size": str(size), "Content-Type": "application/octet-stream"})
            finally:
                body.close()
            if isinstance(answer, dict) and answer.get("success") is False:
                raise PlatformUnavailable(self.http.platform, "rupload answered success=false")
            offset = end
            ctx.record({"offset": offset})
        return size

    def upload(self, ctx: PostContext, url: str, *, resume: bool,
               held: Callable[[], int | None], fresh: Callable[[], str]) -> str:
        """Send the whole file to ``url``, resuming and recovering as the module docstring says;
        returns the URL the bytes finally went to (a fresh session has another)."""
        size = ctx.video.size
        fresh_count = failures = 0
        offset = 0
        if resume:
            known = held()
            if known is None or not 0 <= known <= size:
                url, fresh_count = fresh(), fresh_count + 1
            else:
                offset = known
        tried_zero = False
        while True:
            try:
                self.send(ctx, url, offset)
                return url
            except UploadAgain:
                if fresh_count >= MAX_FRESH:
                    raise
                url, fresh_count, offset, tried_zero = fresh(), fresh_count + 1, 0, False
            except (ConnectionLost, PlatformUnavailable):
                failures += 1
                if failures > MAX_RETRIES:
                    raise
                time.sleep(self.backoff * 2 ** (failures - 1))
                known = held()
                if known is None or not 0 <= known <= size:
                    if fresh_count >= MAX_FRESH:
                        raise
                    url, fresh_count, offset, tried_zero = fresh(), fresh_count + 1, 0, False
                else:
                    offset = known
                ctx.record({"offset": offset})
            except RejectedByPlatform as exc:
                if self.per_request > 0:  # the host may want the rest in one request
                    log.info("%s: rupload refused a partial POST (%s); sending the rest in one",
                             self.http.platform, exc.detail)
                    self.per_request = 0
                    continue
                if offset > 0 and not tried_zero:
                    log.info("%s: rupload refused offset %s (%s); starting over at 0",
                             self.http.platform, offset, exc.detail)
                    offset, tried_zero = 0, True
                    continue
                if fresh_count >= MAX_FRESH:
                    raise
                log.warning("%s: rupload refused (%s); starting a fresh upload",
                            self.http.platform, exc.detail)
                url, fresh_count, offset, tried_zero = fresh(), fresh_count + 1, 0, False

"""The one HTTP chokepoint every adapter talks through.

A ``requests.Session`` with explicit (connect, read) timeouts, every ``requests`` exception
translated into the typed errors of :mod:`.errors`, the platform's answer classified by a pure
function the adapter provides, and debug logs that never contain headers, tokens or bodies.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import urljoin

import requests

from .errors import ConnectionLost, PlatformError, PlatformUnavailable, RateLimited

log = logging.getLogger("wtg.platforms.http")

#: classify(status, body, headers) -> an error to raise, or None when the answer is fine
Classifier = Callable[[int, Any, Mapping[str, str]], PlatformError | None]

DEFAULT_TIMEOUT = (5.0, 60.0)
_TOKENISH = re.compile(
    r"(access_token|refresh_token|client_secret|upload_token|upload_id|token|key)=([^&\s]+)", re.I
)


def redact_url(url: str) -> str:
    """The URL without secret query values (for logs and error details)."""
    return _TOKENISH.sub(r"\1=***", url)


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``
    (ISO 8601 as Mastodon sends it, or a Unix timestamp). None when neither is there."""
    now = now or datetime.now(UTC)
    h = {k.lower(): v for k, v in headers.items()}
    value = h.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, (when - now).total_seconds())
    reset = h.get("x-ratelimit-reset")
    if reset:
        reset = reset.strip()
        try:
            if re.fullmatch(r"\d+(\.\d+)?", reset):
                when = datetime.fromtimestamp(float(reset), UTC)
            else:
                when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return None


def default_classify(platform: str) -> Classifier:
    """429 -> RateLimited, 5xx -> PlatformUnavailable; adapters extend this for their bodies."""

    def classify(status: int, body: Any, headers: Mapping[str, str]) -> PlatformError | None:
        if status == 429:
            return RateLimited(
                platform, "too many requests", status=status,
                retry_after=retry_after_seconds(headers) or 60.0,
            )
        if status >= 500:
            return PlatformUnavailable(platform, f"server error {status}", status=status)
        return None

    return classify


class PlatformHTTP:
    """A session bound to one platform and base URL."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        classify: Classifier,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/") + "/"
        self.classify = classify
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "wtg/0.1 (+Landkreis Ludwigslust-Parchim)")

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201, 202, 204, 206, 308),
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; raise a typed error unless the answer is fine.

        ``ok`` lists the statuses the caller handles itself (e.g. 308 for resumable uploads).
        """
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            resp = self.session.request(method, url, **kwargs)
        except requests.ConnectTimeout as exc:
            # the request never reached the platform
            raise ConnectionLost(self.platform, "connect timeout", outcome_unknown=False) from exc
        except requests.ConnectionError as exc:
            sent = not _is_refused(exc)
            raise ConnectionLost(
                self.platform, f"connection error: {type(exc).__name__}", outcome_unknown=sent
            ) from exc
        except requests.Timeout as exc:
            raise ConnectionLost(self.platform, "read timeout", outcome_unknown=True) from exc
        except requests.RequestException as exc:
            raise ConnectionLost(self.platform, type(exc).__name__, outcome_unknown=True) from exc
        log.debug("%s %s %s -> %s", self.platform, method, redact_url(url), resp.status_code)
        body = _body(resp)
        error = self.classify(resp.status_code, body, resp.headers)
        if error is not None:
            raise error
        if resp.status_code not in ok:
            error = default_classify(self.platform)(resp.status_code, body, resp.headers)
            if error is None:
                from .errors import ProtocolError, RejectedByPlatform

                detail = _short(body)
                error = (
                    RejectedByPlatform(self.platform, detail, status=resp.status_code)
                    if 400 <= resp.status_code < 500
                    else ProtocolError(self.platform, detail, status=resp.status_code)
                )
            raise error
        return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.request(method, path, **kwargs)
        body = _body(resp)
        if not isinstance(body, dict | list):
            from .errors import ProtocolError

            raise ProtocolError(self.platform, f"expected JSON, got {_short(body)}",
                                status=resp.status_code)
        return body


def read_chunks(
    fh: BinaryIO, start: int, size: int, chunk_size: int
) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) pieces of an open file from ``start`` to ``size``; one chunk in memory."""
    fh.seek(start)
    offset = start
    while offset < size:
        data = fh.read(min(chunk_size, size - offset))
        if not data:
            raise OSError(f"file ended at {offset} of {size} bytes")
        yield offset, data
        offset += len(data)


def _is_refused(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return "Connection refused" in text or "NewConnectionError" in text


def _body(resp: requests.Response) -> Any:
    ctype = resp.headers.get("Content-Type", "")
    if "json" in ctype:
        try:
            return resp.json()
        except ValueError:
            return resp.text
    return resp.text


def _short(body: Any) -> str:
    text = body if isinstance(body, str) else repr(body)
    return text[:300]

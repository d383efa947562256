"""Graph API pieces shared by the Facebook and Instagram adapters.

* :func:`classify` turns a Graph answer into a typed error (tested from a table). The error body
  is ``{"error": {"message", "type", "code", "error_subcode", "is_transient", "error_data",
  "fbtrace_id"}}`` [doc FB-ERR, IG-ERR]; the platform's own code and message stay in
  ``code``/``detail``, staff read a German sentence.
* :func:`usage_wait_seconds` reads how long Meta wants us to wait when throttled:
  ``X-Business-Use-Case-Usage`` (Page tokens; ``estimated_time_to_regain_access`` in minutes
  [3p, consistent across client code]), ``Retry-After`` when present, else a usage header at
  100 % means "about an hour" (the app window is a rolling hour [doc FB-RL]).
* the ``rupload`` host answers errors in its own shape ``{"debug_info": {"retriable", "type",
  "message"}}`` [3p, docs/platforms/facebook.md R-ERR]: ``retriable`` -> transient.
* :class:`UploadAgain` (the platform dropped the unpublished upload: Instagram container
  EXPIRED or "generate a new container" subcodes [IG-ERR]) and :class:`LookupFailed` (a
  read-only lookup failed: always transient, never a rejection) are the two errors the Meta
  adapters add to the tree in :mod:`.errors`.
* :func:`caption_with_marker` appends the post's marker, which reconciliation searches for.

Graph has no idempotency key, and no refresh grant for Page tokens or Facebook-Login user
tokens: an expired token is :class:`CredentialsExpired` (staff reconnect the account).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from episodes.capabilities.text import MARKER_RESERVE, caption_with_marker

from .errors import (
    CredentialsExpired,
    LookupFailed,
    PlatformError,
    PlatformUnavailable,
    QuotaExhausted,
    RateLimited,
    RejectedByPlatform,
    TransientError,
    UploadAgain,
)
from .http import retry_after_seconds

T = TypeVar("T")

log = logging.getLogger("wtg.platforms.graph")

#: Graph throttling codes: 4 app, 17 user, 32 page, 613 custom, 80001 Pages BUC [doc FB-ERR,
#: FB-BLOG-RL; 613/80001 3p], 341 application limit [doc FB-ERR]
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, 80001})
#: token expired / revoked / invalid [doc FB-ERR]
TOKEN_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
#: the default wait when a throttle answer carries no usable header
DEFAULT_THROTTLE_WAIT = 300.0
#: the app-level window is a rolling hour [doc FB-RL]
APP_WINDOW_SECONDS = 3600.0

SUBCODE_TRANSFER_WINDOW = 1363037  # chunked /videos: "send this window instead" [code FB-SDK]
SUBCODE_NOT_READY = 2207027  # IG: container not FINISHED (code 9007) [3p]
SUBCODE_QUOTA = 2207042  # IG: publishing limit reached (code 9) [doc IG-ERR]
SUBCODE_SPAM = 2207051  # IG: restricted activity (code 4) [doc IG-ERR]
SUBCODE_EXPIRED = 2207020  # IG: media expired, create a new container [doc IG-ERR]
IG_RETRY_SUBCODES = frozenset({2207001, 2207003})  # server error, download timeout
#: IG: "generate a new container and try again" [doc IG-ERR]: expired, create failed, unknown
#: upload error
IG_NEW_CONTAINER_SUBCODES = frozenset({SUBCODE_EXPIRED, 2207032, 2207053})


class TransferWindow(PlatformUnavailable):
    """Chunked upload: the server wants another window (``[start_offset, end_offset)`` when its
    answer says which [code FB-SDK]; None when it does not, then the status tells)."""

    kind = "transfer_window"

    def __init__(self, platform: str, detail: str, *, start: int | None, end: int | None,
                 **kw: Any) -> None:
        self.start_offset = start
        self.end_offset = end
        super().__init__(platform, detail, **kw)


def read_only(platform: str, what: str, fn: Callable[[], T]) -> T:
    """Run a read-only lookup; any failure except an expired token is :class:`LookupFailed`."""
    try:
        return fn()
    except (CredentialsExpired, TransientError):
        raise
    except (PlatformError, KeyError, ValueError, TypeError) as exc:
        raise LookupFailed(platform, f"{what}: {exc}") from exc


def graph_error(body: Any) -> dict[str, Any] | None:
    """The ``error`` object of a Graph answer, or None."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


def usage_wait_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds Meta asks us to wait, from its usage headers (None: nothing said)."""
    h = {k.lower(): v for k, v in headers.items()}
    explicit = retry_after_seconds(h)
    if explicit is not None:
        return explicit
    best: float | None = None
    full = False
    raw = h.get("x-business-use-case-usage")
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        for entries in data.values() if isinstance(data, dict) else []:
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                minutes = _number(entry.get("estimated_time_to_regain_access"))
                if minutes:
                    best = max(best or 0.0, minutes * 60.0)
                full = full or _at_limit(entry)
    for name in ("x-app-usage", "x-ad-account-usage"):
        raw = h.get(name)
        if raw:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                full = full or _at_limit(entry)
    if best is None and full:
        best = APP_WINDOW_SECONDS
    return best


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _at_limit(entry: Mapping[str, Any]) -> bool:
    keys = ("call_count", "total_cputime", "total_time", "acc_id_util_pct")
    return any((_number(entry.get(k)) or 0) >= 100 for k in keys)


def classify(platform: str, label: str) -> Callable[[int, Any, Mapping[str, str]], Any]:
    """The Graph classifier for one adapter (``label`` is what staff read, e.g. "Facebook")."""

    def _classify(status: int, body: Any, headers: Mapping[str, str]) -> PlatformError | None:
        err = graph_error(body)
        debug = body.get("debug_info") if isinstance(body, dict) else None
        if err is None and isinstance(debug, dict):
            return _from_rupload(platform, label, status, debug)
        if err is None:
            if status == 429:
                wait = usage_wait_seconds(headers) or DEFAULT_THROTTLE_WAIT
                return RateLimited(platform, "HTTP 429", status=status, retry_after=wait)
            if status >= 500:
                return PlatformUnavailable(platform, f"server error {status}", status=status)
            return None
        return _from_error(platform, label, status, err, headers)

    return _classify


def _from_rupload(platform: str, label: str, status: int,
                  debug: Mapping[str, Any]) -> PlatformError:
    """An error of the rupload host (``debug_info`` shape)."""
    kind = str(debug.get("type") or "")
    detail = f"rupload {kind}: {str(debug.get('message') or '')[:300]}"
    if debug.get("retriable") is True or status >= 500:
        return PlatformUnavailable(platform, detail, status=status)
    if status == 429:
        return RateLimited(platform, detail, status=status, retry_after=DEFAULT_THROTTLE_WAIT)
    if kind == "NotAuthorizedError":
        return CredentialsExpired(platform, detail, status=status, message_de=(
            f"Der Upload-Server von {label} nimmt das Zugangstoken nicht an. Bitte das Konto "
            "neu verbinden und das neue Zugangstoken hinterlegen. Der Beitrag wartet so lange."))
    return RejectedByPlatform(platform, detail, status=status, code=kind or None, message_de=(
        f"Der Upload-Server von {label} hat die Übertragung abgelehnt ({kind or status}). "
        "wtg setzt neu an."))


def _from_error(
    platform: str, label: str, status: int, err: Mapping[str, Any], headers: Mapping[str, str]
) -> PlatformError:
    code = _int(err.get("code"))
    sub = _int(err.get("error_subcode"))
    message = str(err.get("message") or "")[:500]
    detail = f"{message} (subcode {sub})" if sub else message
    kw: dict[str, Any] = {"code": code, "status": status}
    if sub == SUBCODE_TRANSFER_WINDOW:
        data = err.get("error_data") or {}
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                data = {}
        start, end = _int(data.get("start_offset")), _int(data.get("end_offset"))
        if start is None or end is None:
            start = end = None
        return TransferWindow(platform, detail, start=start, end=end, **kw)
    if code == 4 and sub == SUBCODE_SPAM:
        return RejectedByPlatform(platform, detail, message_de=(
            f"{label} schränkt das Konto gerade ein (Schutz vor Spam). Bitte in der App prüfen "
            "und es später erneut versuchen."), **kw)
    if code in THROTTLE_CODES:
        wait = usage_wait_seconds(headers) or DEFAULT_THROTTLE_WAIT
        return RateLimited(platform, detail, retry_after=wait, message_de=(
            f"{label} begrenzt gerade die Zahl der Anfragen (Code {code}). wtg wartet "
            f"{int(wait)} Sekunden und versucht es dann erneut."), **kw)
    if code in TOKEN_CODES or (err.get("type") == "OAuthException" and code is None):
        return CredentialsExpired(platform, detail, message_de=(
            f"Der Zugang zu {label} ist abgelaufen oder wurde widerrufen (Code {code}). "
            "Bitte das Konto neu verbinden und das neue Zugangstoken hinterlegen; ein "
            "automatisches Erneuern ist bei Meta nicht möglich. Der Beitrag wartet so lange."),
            **kw)
    if code in PERMISSION_CODES:
        return CredentialsExpired(platform, detail, message_de=(
            f"Dem Zugang zu {label} fehlt eine Berechtigung (Code {code}: {message}). Bitte das "
            "Konto mit allen nötigen Rechten neu verbinden. Der Beitrag wartet so lange."), **kw)
    if code == 9 and sub == SUBCODE_QUOTA:
        return QuotaExhausted(platform, detail, message_de=(
            f"Das Tageskontingent für Beiträge bei {label} ist aufgebraucht. Der Beitrag wartet, "
            "bis wieder Beiträge möglich sind (gleitendes 24-Stunden-Fenster)."), **kw)
    if code == 9007 or sub == SUBCODE_NOT_READY:
        return PlatformUnavailable(platform, detail, message_de=(
            f"{label} ist mit der Verarbeitung des Videos noch nicht fertig. wtg versucht es "
            "automatisch erneut."), **kw)
    if sub in IG_NEW_CONTAINER_SUBCODES:
        return UploadAgain(platform, detail, message_de=(
            f"{label} hat das hochgeladene, noch nicht veröffentlichte Video verworfen "
            f"({message or sub}). wtg lädt es automatisch neu hoch; es entsteht kein doppelter "
            "Beitrag."), **kw)
    if code in (1, 2) or err.get("is_transient") is True or sub in IG_RETRY_SUBCODES:
        return PlatformUnavailable(platform, detail, **kw)
    if code == 506:
        return RejectedByPlatform(platform, detail, message_de=(
            f"{label} meldet einen doppelten Beitrag (Code 506); nichts wurde erneut gepostet."),
            **kw)
    if code == 368:
        return RejectedByPlatform(platform, detail, message_de=(
            f"{label} hat das Konto vorübergehend wegen eines Richtlinienverstoßes gesperrt. "
            "Bitte in der App prüfen."), **kw)
    if status >= 500:
        return PlatformUnavailable(platform, detail, **kw)
    return RejectedByPlatform(platform, detail, message_de=(
        f"{label} hat die Anfrage abgelehnt (Code {code}: {message or 'ohne Begründung'}). "
        "Bitte Video und Text prüfen."), **kw)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["MARKER_RESERVE", "caption_with_marker"]

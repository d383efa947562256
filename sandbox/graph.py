"""What the Facebook and Instagram sandboxes share: the Graph API's manners.

* URL layout on one local server: ``/graph/{ver}/...`` stands for ``graph.facebook.com``,
  ``/graph-video/{ver}/...`` for ``graph-video.facebook.com`` and ``/rupload/...`` for
  ``rupload.facebook.com``.
* tokens: ``access_token`` in the query/form or ``Authorization: OAuth|Bearer``; an unknown
  token -> code 190 "Invalid OAuth access token", an expired one -> 190 / subcode 463; a token of
  the wrong kind (user vs Page) -> 190 as well.
* errors in the real format ``{"error": {"message", "type", "code", "error_subcode",
  "fbtrace_id"}}`` (HTTP 400 for OAuth and parameter errors [unverified status]); the rupload
  host answers in its own shape ``{"debug_info": {"retriable", "type", "message"}}`` (seen by
  third parties on the live host; docs/platforms/facebook.md, R-ERR).
* a rolling per-token call budget (``rate_limit`` calls per ``rate_window`` seconds): every
  answer carries ``X-Business-Use-Case-Usage``; over budget -> the sandbox's ``throttle_code``
  (4, 17, 32 or 613) with ``estimated_time_to_regain_access`` (minutes) and no ``Retry-After``.
* uploaded bytes go to files in a temp dir (removed in ``stop()``) with a running sha256.
* the rupload POST (``offset``/``file_size`` headers, raw body): bytes that arrive before the
  connection drops are kept; what the platform then does with them is each sandbox's reading.

The sandboxes never import ``workers``: :class:`SandboxAccount` has the attribute names of the
adapters' ``Account`` so callers build one from the other.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import math
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import Request, Response, Sandbox


@dataclass
class Blob:
    """Bytes received so far for one upload, on disk, with their running sha256."""

    path: Path
    size: int = 0
    declared: int | None = None  # the file_size the client announced
    _hash: Any = field(default_factory=hashlib.sha256)

    def append(self, data: bytes) -> None:
        with self.path.open("ab") as fh:
            fh.write(data)
        self._hash.update(data)
        self.size += len(data)

    def truncate(self, size: int) -> None:
        """Keep only the first ``size`` bytes (a platform that drops what a broken request
        carried)."""
        data = self.path.read_bytes()[:size] if self.path.exists() else b""
        self.path.write_bytes(data)
        self._hash = hashlib.sha256(data)
        self.size = len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def complete(self) -> bool:
        return self.declared is not None and self.size == self.declared


class GraphSandbox(Sandbox):
    """Base of the Facebook and Instagram sandboxes."""

    version = "v24.0"
    throttle_code = 32  # Page-level throttling; Instagram uses 4

    def __init__(
        self,
        *,
        port: int = 0,
        processing_polls: int = 2,
        rate_limit: int | None = None,
        rate_window: float = 3600.0,
    ) -> None:
        super().__init__(port=port)
        self.processing_polls = processing_polls
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.clock_offset = 0.0
        self.tokens: dict[str, dict[str, Any]] = {}  # token -> {"kind", "expired"}
        self.fail_processing: list[str] = []  # errors for the next uploads' processing
        self._calls: dict[str, list[float]] = {}
        self._ids = itertools.count(17_841_400_000_000_001)
        #: tests: a rupload POST that has received ``hold_after`` bytes sets ``holding`` and
        #: waits for ``hold`` before it reads on (so a client can be killed mid-request)
        self.hold_after: int | None = None
        self.hold = threading.Event()
        self.holding = threading.Event()
        #: tests: set once a rupload POST has ended (``last_cut``: its body ended early)
        self.rupload_done = threading.Event()
        self.last_cut = False
        self.tmp = Path(tempfile.mkdtemp(prefix=f"wtg-sandbox-{self.platform}-"))

    # --- lifecycle and clock --------------------------------------------------------------
    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (rate windows, scheduling, container expiry)."""
        with self.lock:
            self.clock_offset += seconds

    def new_id(self) -> str:
        return str(next(self._ids))

    def new_blob(self, name: str) -> Blob:
        return Blob(path=self.tmp / name)

    def exhaust_budget(self) -> None:
        """From now on the budget is what the busiest token has already used this window."""
        with self.lock:
            now = self.now()
            used = [len([t for t in calls if t > now - self.rate_window])
                    for calls in self._calls.values()]
            self.rate_limit = max([1, *used])

    def expire_token(self, token: str) -> None:
        with self.lock:
            self.tokens[token]["expired"] = True

    # --- Graph error answers --------------------------------------------------------------
    def error(
        self,
        code: int,
        message: str,
        *,
        status: int = 400,
        type_: str = "OAuthException",
        subcode: int | None = None,
        data: dict[str, Any] | None = None,
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        err: dict[str, Any] = {"message": message, "type": type_, "code": code,
                               "fbtrace_id": f"Sbx{next(self._ids):x}"}
        if subcode is not None:
            err["error_subcode"] = subcode
        if data is not None:
            err["error_data"] = data
        if transient is not None:
            err["is_transient"] = transient
        return Response(status, {"error": err}, dict(headers or {}))

    def invalid(self, message: str, *, subcode: int | None = None) -> Response:
        """Code 100, the Graph API's "Invalid parameter"."""
        return self.error(100, message, subcode=subcode)

    # --- tokens and budget ----------------------------------------------------------------
    @staticmethod
    def token_of(req: Request, form: dict[str, str]) -> str | None:
        auth = req.headers.get("authorization", "")
        for scheme in ("oauth ", "bearer "):
            if auth.lower().startswith(scheme):
                return auth[len(scheme):].strip()
        return form.get("access_token")

    def authorize(
        self, req: Request, form: dict[str, str], *, kind: str, header_only: bool = False
    ) -> Response | None:
        """None when the call may go ahead, else the error answer."""
        token = self.token_of(req, {} if header_only else form)
        if header_only and not req.headers.get("authorization", "").lower().startswith("oauth "):
            return self.error(190, "Invalid OAuth access token: the Authorization header with "
                                   "'OAuth <token>' is required for uploads.")
        info = self.tokens.get(token or "")
        if not token:
            return self.error(2500, "An active access token must be used to query information.")
        if info is None or info["kind"] != kind:
            return self.error(190, "Invalid OAuth access token - Cannot parse access token")
        if info["expired"]:
            return self.error(190, "Error validating access token: Session has expired.",
                              subcode=463)
        return self._spend(token)

    def _spend(self, token: str) -> Response | None:
        with self.lock:
            now = self.now()
            calls = [t for t in self._calls.get(token, []) if t > now - self.rate_window]
            if self.rate_limit is not None and len(calls) >= self.rate_limit:
                regain = math.ceil((calls[0] + self.rate_window - now) / 60.0)
                self._calls[token] = calls
                return self.error(
                    self.throttle_code,
                    f"(#{self.throttle_code}) Application request limit reached",
                    headers={"X-Business-Use-Case-Usage": self._usage(len(calls), regain)},
                )
            calls.append(now)
            self._calls[token] = calls
        return None

    def _usage(self, count: int, regain_minutes: int = 0) -> str:
        pct = 0 if not self.rate_limit else min(100, round(100 * count / self.rate_limit))
        return json.dumps({"1234567890": [{
            "type": "pages", "call_count": pct, "total_cputime": max(0, pct // 2),
            "total_time": max(0, pct // 2), "estimated_time_to_regain_access": regain_minutes,
        }]})

    def dispatch(self, req: Request) -> Response:
        resp = super().dispatch(req)
        if resp.status == 404 and isinstance(resp.body, dict) and "error" in resp.body \
                and not isinstance(resp.body["error"], dict):
            resp = self.error(100, f"Unsupported {req.method} request. Object or endpoint does "
                                   f"not exist: {req.path}", type_="GraphMethodException",
                              subcode=33)
        if "X-Business-Use-Case-Usage" not in resp.headers:
            token = self.token_of(req, dict(req.query)) or ""
            with self.lock:
                n = len(self._calls.get(token, []))
            resp.headers["X-Business-Use-Case-Usage"] = self._usage(n)
        return resp

    # --- bodies ---------------------------------------------------------------------------
    @staticmethod
    def multipart(req: Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
        """Fields and files of a multipart/form-data body (falls back to ``req.form()``)."""
        ctype = req.headers.get("content-type", "")
        if "multipart/form-data" not in ctype:
            return req.form(), {}
        head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
        fields, files = dict(req.query), {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename is not None:
                files[name] = (filename, payload)
            else:
                fields[name] = payload.decode("utf-8")
        return fields, files

    def rupload_error(self, status: int, type_: str, message: str, *,
                      retriable: bool = False) -> Response:
        """An answer of the rupload host, in its own error shape."""
        return Response(status, {"debug_info": {"retriable": retriable, "type": type_,
                                                "message": message}})

    def receive_rupload(self, req: Request, blob: Blob, *,
                        restart_at_zero: bool = False) -> tuple[Response, bool]:
        """A ``rupload`` POST: headers ``offset`` and ``file_size``, raw bytes streamed into
        ``blob``. Returns the answer and whether the body ended early (the client went away).

        ``offset`` must equal the bytes held (``restart_at_zero``: 0 also, which starts over);
        under the reading ``rupload_chunks=single_request`` one POST must carry every remaining
        byte."""
        assert req.stream is not None
        try:
            offset = int(req.headers["offset"])
            file_size = int(req.headers["file_size"])
        except (KeyError, ValueError):
            return self.rupload_error(400, "ParameterValidationError",
                                      "HeaderValuePredicate: Header Offset not convertable to "
                                      "unsigned long"), False
        declared = int(req.headers.get("content-length") or 0)
        if blob.declared is None:
            blob.declared = file_size
        if file_size != blob.declared:
            return self.rupload_error(400, "InvalidRequest", f"file_size {file_size} differs "
                                      f"from {blob.declared}"), False
        if offset == 0 and restart_at_zero and blob.size:
            blob.truncate(0)
        if offset != blob.size:
            return self.rupload_error(400, "InvalidRequest", f"offset {offset} does not match "
                                      "what the upload holds"), False
        if offset + declared > file_size:
            return self.rupload_error(400, "InvalidRequest", "more bytes than file_size"), False
        if self.reading("rupload_chunks") == "single_request" and offset + declared != file_size:
            return self.rupload_error(400, "InvalidRequest", "the request must carry the rest "
                                      "of the file"), False
        received = 0
        while True:
            if self.hold_after is not None and received >= self.hold_after:
                self.holding.set()
                self.hold.wait(30)
            data = req.stream.read(1 << 14)
            if not data:
                break
            blob.append(data)
            received += len(data)
        self.last_cut = received < declared
        self.rupload_done.set()
        return Response(200, {"success": True}), self.last_cut

"""Structured logging, bound per task, free of secrets (a redaction filter as a backstop)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "wtg_log", default=None
)

_SECRETISH = re.compile(
    r"(?i)(authorization:\s*\S+\s+|bearer\s+|(?:access|refresh)_token[\"'=:\s]+|"
    r"client_secret[\"'=:\s]+|password[\"'=:\s]+|upload_token[\"'=:\s]+|"
    r"upload_id[\"'=:\s]+|fb_exchange_token[\"'=:\s]+|code_verifier[\"'=:\s]+|"
    r"[?&](?:code|state)=)([A-Za-z0-9._~+/=%-]{4,})"
)


def redact(text: str) -> str:
    return _SECRETISH.sub(lambda m: m.group(1) + "***", text)


class bind:
    """``with bind(task="wtg.publish", post=3):`` adds fields to every log line inside."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        self._token: contextvars.Token[dict[str, Any] | None] | None = None

    def __enter__(self) -> None:
        self._token = _context.set({**(_context.get() or {}), **self.fields})

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _context.reset(self._token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.wtg = _context.get() or {}
        record.msg = redact(str(record.msg))
        args = record.args
        if isinstance(args, Mapping):  # "%(name)s" style, as Celery logs: keep it a mapping
            record.args = {k: _redact_value(v) for k, v in args.items()}
        elif isinstance(args, tuple):
            record.args = tuple(_redact_value(a) for a in args)
        return True


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        ctx = getattr(record, "wtg", {})
        if ctx:
            base += " " + " ".join(f"{k}={v}" for k, v in ctx.items())
        return redact(base)


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "wtg", {}),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(doc, ensure_ascii=False, default=str))


def setup_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(
        _Json() if json_lines else _Text("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "apscheduler.executors", "PIL", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

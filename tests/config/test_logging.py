"""Logging: Celery's mapping-style arguments survive the redaction filter, in a real worker too."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest

from config.logging import _ContextFilter, _Text
from tests.harness import Stack


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through wtg's filter and text formatter into a buffer."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(_Text("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("wtg.test.logging")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, buf
    logger.handlers.clear()


def test_mapping_arguments_are_formatted_and_redacted(captured):
    """A ``%(name)s`` message with a dict argument (Celery's style) is formatted, and a token in
    one of the mapping's values is redacted."""
    logger, buf = captured
    logger.info("Task %(name)s[%(id)s] received: %(extra)s",
                {"name": "wtg.publish.run", "id": "abc", "extra": "Bearer geheim123456"})
    out = buf.getvalue()
    assert "Task wtg.publish.run[abc] received: Bearer ***" in out
    assert "geheim123456" not in out


def test_tuple_arguments_are_redacted(captured):
    """Positional arguments still pass through the redaction filter."""
    logger, buf = captured
    logger.info("upload %s of %d", "access_token=abcdefghij", 3)
    assert "access_token=*** of 3" in buf.getvalue()


def test_real_worker_logs_celery_lines_without_logging_errors(make_stack: Callable[..., Stack]):
    """A real ``wtg worker`` that runs a task writes Celery's received/succeeded lines for it and
    no "--- Logging error ---" traceback."""
    stack = make_stack()
    stack.start_worker(queues="publish")
    result = stack.celery.send_task("wtg.publish.check_account", args=["niemand"])
    assert result.get(timeout=30)["ok"] is False

    def logged() -> str:
        text = stack.log_text()
        return text if f"[{result.id}] succeeded" in text else ""

    text = stack.wait_for(logged, timeout=20, message="the task's succeeded line in the log")
    assert f"Task wtg.publish.check_account[{result.id}] received" in text
    assert "Logging error" not in text
    assert "format requires a mapping" not in text

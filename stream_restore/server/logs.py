"""Structured logs: every record carries the id of the call it belongs to (``stream_id``)."""

from __future__ import annotations

import contextvars
import json
import logging
import time

__all__ = ["CALL_ID", "CallIdFilter", "JsonFormatter", "configure_logging"]

CALL_ID: contextvars.ContextVar[str] = contextvars.ContextVar("stream_restore_call_id", default="-")


class CallIdFilter(logging.Filter):
    """Adds ``record.stream_id`` from the context of the task or thread that logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "stream_id"):
            record.stream_id = CALL_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, stream_id, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "stream_id": getattr(record, "stream_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: int, json_lines: bool) -> None:
    """Route the root logger through the call-id filter, as JSON lines or as plain text."""
    handler = logging.StreamHandler()
    handler.addFilter(CallIdFilter())
    handler.setFormatter(
        JsonFormatter() if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s [%(stream_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

"""Structured logs: one JSON object per line, carrying the incident id of the work in hand."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

incident_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("incident_id", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@contextmanager
def incident_context(incident_id: str | None) -> Iterator[None]:
    """Tag every log line written inside the block with this incident id."""
    token = incident_var.set(incident_id)
    try:
        yield
    finally:
        incident_var.reset(token)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with time, level, logger, message, incident and extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON."""
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        incident = getattr(record, "incident", None) or incident_var.get()
        if incident:
            payload["incident"] = incident
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "incident":
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, with the incident id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one line of text."""
        incident = getattr(record, "incident", None) or incident_var.get()
        prefix = f"[{incident}] " if incident else ""
        line = f"{record.levelname:<7} {record.name}: {prefix}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Send the root logger to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

"""Log lines are JSON and carry the incident id of the work in hand."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, TextFormatter, incident_context


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "bot.test", "levelname": "INFO", "msg": msg})
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def test_json_line_has_incident_from_context_and_extras() -> None:
    with incident_context("INC-7"):
        line = JsonFormatter().format(record("opened channel", channel="C1"))
    data = json.loads(line)
    assert data["incident"] == "INC-7" and data["channel"] == "C1" and data["message"] == "opened channel"
    assert data["level"] == "info"


def test_context_is_reset_after_block() -> None:
    with incident_context("INC-1"):
        pass
    assert "incident" not in json.loads(JsonFormatter().format(record("x")))


def test_text_format_prefixes_incident() -> None:
    assert "[INC-3] hello" in TextFormatter().format(record("hello", incident="INC-3"))

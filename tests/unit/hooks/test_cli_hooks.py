"""runbookctl hooks: text and JSON listings from the registry."""

from __future__ import annotations

import json

import pytest

from bot.cli import main


def test_json_lists_fields_with_types_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hooks", "--format", "json"]) == 0
    listing = {h["name"]: h for h in json.loads(capsys.readouterr().out)}
    query = {f["name"]: f for f in listing["database_query"]["fields"]}
    assert query["max_rows"] == {**query["max_rows"], "type": "int", "required": False, "default": 100}
    assert query["database"]["required"]
    assert listing["scale"]["kind"] == "action" and listing["scale"]["deprecated"] is False


def test_text_listing_and_kind_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hooks", "--kind", "action"]) == 0
    out = capsys.readouterr().out
    assert "restart_service  [action v1.0.0]" in out
    assert "    max_replicas: int (required)" in out
    assert "prometheus_query" not in out

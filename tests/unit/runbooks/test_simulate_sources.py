"""simulate --alert reads every intake source with the bot's own parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import InvalidInput
from bot.intake.sources import get_source
from bot.runbooks.simulate import alert_from_payload, detect_source

PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "payloads"
CASES = [
    ("alertmanager", "firing.json"),
    ("grafana", "firing.json"),
    ("pagerduty", "triggered.json"),
    ("opsgenie", "create.json"),
    ("generic", "firing.json"),
]


@pytest.mark.parametrize(("source", "name"), CASES)
def test_detected_source_gives_the_parsers_first_alert(source: str, name: str) -> None:
    data = json.loads((PAYLOADS / source / name).read_text())
    assert detect_source(data) == source
    parser = get_source(source)
    assert parser is not None
    assert alert_from_payload(data) == parser.parse(data).alerts[0]


def test_datadog_needs_its_source_named() -> None:
    data = json.loads((PAYLOADS / "datadog" / "triggered.json").read_text())
    alert = alert_from_payload(data, "datadog")
    assert alert.source == "datadog"


def test_a_plain_alert_object_is_one_generic_alert() -> None:
    alert = alert_from_payload({"name": "DiskFull", "service": "db", "labels": {"env": "staging"}})
    assert (alert.name, alert.service, alert.environment, alert.source) == ("DiskFull", "db", "staging", "generic")


def test_payloads_without_alerts_and_unknown_sources_are_clear_errors() -> None:
    acked = json.loads((PAYLOADS / "pagerduty" / "acknowledged.json").read_text())
    with pytest.raises(InvalidInput, match="carries no alert"):
        alert_from_payload(acked)
    with pytest.raises(InvalidInput, match="unknown alert source 'nagios'"):
        alert_from_payload({"name": "x"}, "nagios")

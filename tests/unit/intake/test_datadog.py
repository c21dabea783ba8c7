"""Datadog webhook (runbook-bot template) → Alert."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.alerts import AlertStatus, Severity
from bot.errors import InvalidInput
from bot.intake.datadog import parse_datadog

Payload = Callable[[str, str], bytes]


def test_triggered_fires(payload: Payload) -> None:
    [alert] = parse_datadog(payload("datadog", "triggered")).alerts
    assert alert.group_key == "datadog:9bd4ac313a4d1e8fae2482df7b77628"
    assert alert.fingerprint == "7384750100000000000"
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "[Triggered on {host:web-3}] High error rate on checkout"
    assert (alert.severity, alert.service, alert.environment) == (Severity.P2, "checkout-api", "prod")
    assert alert.labels == {"env": "prod", "service": "checkout-api", "team": "payments", "host": "web-3"}
    assert alert.starts_at == datetime(2025, 11, 20, 8, 15, 2, tzinfo=UTC)
    assert alert.links.source == "https://app.datadoghq.com/event/event?id=7384750123456789012"


def test_recovered_resolves_the_same_alert(payload: Payload) -> None:
    [fired] = parse_datadog(payload("datadog", "triggered")).alerts
    [alert] = parse_datadog(payload("datadog", "recovered")).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert (alert.group_key, alert.fingerprint) == (fired.group_key, fired.fingerprint)
    assert alert.ends_at == datetime(2025, 11, 20, 8, 38, 20, tzinfo=UTC)


def test_warn_without_priority_maps_the_alert_type(payload: Payload) -> None:
    [alert] = parse_datadog(payload("datadog", "warn_no_priority")).alerts
    assert alert.status is AlertStatus.FIRING
    assert alert.severity is Severity.P3


def test_falls_back_to_alert_id_without_aggregation_or_cycle_key(payload: Payload) -> None:
    body = json.loads(payload("datadog", "triggered"))
    body.update(aggreg_key="", alert_cycle_key="", date="2025-11-20T08:15:02Z")
    [alert] = parse_datadog(body).alerts
    assert alert.group_key == "datadog:12345678"
    assert len(alert.fingerprint) == 16
    assert alert.starts_at == datetime(2025, 11, 20, 8, 15, 2, tzinfo=UTC)


def test_missing_transition_and_id_are_named(payload: Payload) -> None:
    body = json.loads(payload("datadog", "triggered"))
    body["alert_transition"] = ""
    del body["alert_id"]
    with pytest.raises(InvalidInput) as caught:
        parse_datadog(body)
    assert caught.value.fields == ["alert_id", "alert_transition"]

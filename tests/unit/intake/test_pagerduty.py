"""PagerDuty Webhooks v3 → Alert or Acknowledgement."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.alerts import AlertStatus, Severity
from bot.errors import InvalidInput
from bot.intake.pagerduty import parse_pagerduty

Payload = Callable[[str, str], bytes]


def test_triggered_opens_the_incident_group(payload: Payload) -> None:
    batch = parse_pagerduty(payload("pagerduty", "triggered"))
    [alert] = batch.alerts
    assert (alert.group_key, alert.fingerprint) == ("pagerduty:Q2LB6S4GKVM3JZ", "Q2LB6S4GKVM3JZ")
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "Checkout API error rate above 5%"
    assert alert.service == "checkout-api"
    assert alert.severity is Severity.P1, "high urgency without a priority is P1"
    assert alert.starts_at == datetime(2025, 11, 20, 8, 15, 2, tzinfo=UTC)
    assert alert.links.source == "https://acme.pagerduty.com/incidents/Q2LB6S4GKVM3JZ"
    assert alert.labels == {"urgency": "high", "incident_key": "a1b2c3d4e5f6"}


def test_priority_wins_over_urgency(payload: Payload) -> None:
    [alert] = parse_pagerduty(payload("pagerduty", "triggered_priority")).alerts
    assert alert.severity is Severity.P2


def test_low_urgency_is_p3(payload: Payload) -> None:
    body = json.loads(payload("pagerduty", "triggered"))
    body["event"]["data"]["urgency"] = "low"
    assert parse_pagerduty(body).alerts[0].severity is Severity.P3


def test_acknowledged_is_an_acknowledgement_not_an_alert(payload: Payload) -> None:
    batch = parse_pagerduty(payload("pagerduty", "acknowledged"))
    assert batch.alerts == []
    [ack] = batch.acknowledgements
    assert (ack.source, ack.group_key, ack.actor) == ("pagerduty", "pagerduty:Q2LB6S4GKVM3JZ", "Ada Lovelace")
    assert ack.at == datetime(2025, 11, 20, 8, 17, 40, 100000, tzinfo=UTC)


def test_resolved_ends_at_the_event_time(payload: Payload) -> None:
    [alert] = parse_pagerduty(payload("pagerduty", "resolved")).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.ends_at == datetime(2025, 11, 20, 8, 41, 13, 900000, tzinfo=UTC)
    assert alert.group_key == "pagerduty:Q2LB6S4GKVM3JZ"


def test_reopened_is_a_new_firing_state(payload: Payload) -> None:
    body = json.loads(payload("pagerduty", "triggered"))
    triggered = parse_pagerduty(body).alerts[0]
    body["event"]["event_type"] = "incident.reopened"
    body["event"]["occurred_at"] = "2025-11-20T09:30:00Z"
    reopened = parse_pagerduty(body).alerts[0]
    assert reopened.status is AlertStatus.FIRING
    assert reopened.delivery_id() != triggered.delivery_id()


@pytest.mark.parametrize("name", ["annotated", "ping"])
def test_other_events_are_ignored(payload: Payload, name: str) -> None:
    batch = parse_pagerduty(payload("pagerduty", name))
    assert batch.is_empty
    assert batch.ignored == [json.loads(payload("pagerduty", name))["event"]["event_type"]]


def test_incident_event_without_an_id_is_refused(payload: Payload) -> None:
    body = json.loads(payload("pagerduty", "triggered"))
    del body["event"]["data"]["id"]
    body["event"]["occurred_at"] = "yesterday"
    with pytest.raises(InvalidInput) as caught:
        parse_pagerduty(body)
    assert caught.value.fields == ["event.occurred_at"]


def test_incident_data_fields_are_named(payload: Payload) -> None:
    body = json.loads(payload("pagerduty", "triggered"))
    del body["event"]["data"]["id"]
    with pytest.raises(InvalidInput) as caught:
        parse_pagerduty(body)
    assert caught.value.fields == ["event.data.id"]


def test_missing_event_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_pagerduty({"messages": []})
    assert caught.value.fields == ["event"]

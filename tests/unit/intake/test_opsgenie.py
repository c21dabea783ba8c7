"""Opsgenie outgoing webhook → Alert or Acknowledgement."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.alerts import AlertStatus, Severity
from bot.errors import InvalidInput
from bot.intake.opsgenie import parse_opsgenie

Payload = Callable[[str, str], bytes]


def test_create_fires_with_alias_as_group(payload: Payload) -> None:
    [alert] = parse_opsgenie(payload("opsgenie", "create")).alerts
    assert (alert.group_key, alert.fingerprint) == ("opsgenie:checkout-5xx", "70413a06-38d6-4c85-92b8-5ebc900d42e2")
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "Checkout API 5xx rate above 5% — Zahlungen schlagen fehl"
    assert alert.description == "<!channel> please look"
    assert (alert.severity, alert.service, alert.environment) == (Severity.P1, "checkout-api", "prod")
    assert alert.labels == {"service": "checkout-api", "env": "prod", "customer-facing": "", "region": "eu-west-1"}
    assert alert.starts_at == datetime(2025, 11, 20, 8, 15, 2, 250000, tzinfo=UTC)


def test_acknowledge_is_an_acknowledgement(payload: Payload) -> None:
    batch = parse_opsgenie(payload("opsgenie", "acknowledge"))
    assert batch.alerts == []
    [ack] = batch.acknowledgements
    assert (ack.group_key, ack.actor) == ("opsgenie:checkout-5xx", "ada@example.com")
    assert ack.at == datetime(2025, 11, 20, 8, 17, 20, tzinfo=UTC)


def test_close_resolves_at_update_time(payload: Payload) -> None:
    [alert] = parse_opsgenie(payload("opsgenie", "close")).alerts
    assert alert.status is AlertStatus.RESOLVED
    assert alert.ends_at == datetime(2025, 11, 20, 8, 38, 20, tzinfo=UTC)


def test_other_actions_are_ignored(payload: Payload) -> None:
    batch = parse_opsgenie(payload("opsgenie", "add_note"))
    assert batch.is_empty and batch.ignored == ["AddNote"]


def test_no_alias_falls_back_to_alert_id_and_p5_is_p4(payload: Payload) -> None:
    [alert] = parse_opsgenie(payload("opsgenie", "create_p5_no_alias")).alerts
    assert alert.group_key == "opsgenie:70413a06-38d6-4c85-92b8-5ebc900d42e2"
    assert alert.severity is Severity.P4
    assert alert.service == "checkout", "the entity when no service tag"


def test_missing_alert_id_and_bad_tags_are_named(payload: Payload) -> None:
    body = json.loads(payload("opsgenie", "create"))
    del body["alert"]["alertId"]
    body["alert"]["tags"] = "not-a-list"
    with pytest.raises(InvalidInput) as caught:
        parse_opsgenie(body)
    assert caught.value.fields == ["alert.alertId", "alert.tags"]

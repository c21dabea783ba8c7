"""Alertmanager webhook (v4) → Alert."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest

from bot.alerts import AlertStatus, Severity
from bot.errors import InvalidInput
from bot.intake.alertmanager import parse_alertmanager

Payload = Callable[[str, str], bytes]


def test_firing_group_becomes_one_alert(payload: Payload) -> None:
    batch = parse_alertmanager(payload("alertmanager", "firing"))
    assert batch.source == "alertmanager" and batch.acknowledgements == []
    [alert] = batch.alerts
    assert alert.group_key == (
        'alertmanager:{}/{team="payments"}:{alertname="PaymentServiceHighLatency", service="payment-service"}'
    )
    assert alert.fingerprint == "3f9c2a71be04d5e8"
    assert alert.name == "PaymentServiceHighLatency"
    assert alert.title == "payment-service p99 latency above 2s"
    assert alert.description.startswith("p99 latency of payment-service")
    assert (alert.status, alert.severity, alert.service, alert.environment) == (
        AlertStatus.FIRING,
        Severity.P1,
        "payment-service",
        "prod",
    )
    assert alert.starts_at == datetime(2025, 11, 20, 8, 14, 37, 512000, tzinfo=UTC)
    assert alert.ends_at is None, "the zero endsAt of a firing alert means no end"
    assert alert.links.runbook == "https://runbooks.example.com/payments/PaymentServiceHighLatency"
    assert alert.links.dashboard is not None and alert.links.dashboard.startswith("https://grafana.example.com/d/")
    assert alert.links.source is not None and alert.links.source.startswith("http://prometheus-k8s-0")
    assert alert.truncated_alerts == 0


def test_silence_link_prefills_every_label(payload: Payload) -> None:
    [alert] = parse_alertmanager(payload("alertmanager", "firing")).alerts
    assert alert.links.silence is not None
    base, _, query = alert.links.silence.partition("?filter=")
    assert base == "http://alertmanager-main.monitoring.svc:9093/#/silences/new"
    assert unquote(query).startswith('{alertname="PaymentServiceHighLatency", cluster="prod-eu-west-1"')


def test_resolved_alert_keeps_its_end_and_the_same_identity(payload: Payload) -> None:
    [firing] = parse_alertmanager(payload("alertmanager", "firing")).alerts
    [resolved] = parse_alertmanager(payload("alertmanager", "resolved")).alerts
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.ends_at == datetime(2025, 11, 20, 8, 44, 37, 512000, tzinfo=UTC)
    assert (resolved.group_key, resolved.fingerprint) == (firing.group_key, firing.fingerprint)
    assert resolved.delivery_id() != firing.delivery_id()


def test_redelivery_has_the_same_delivery_ids(payload: Payload) -> None:
    first = parse_alertmanager(payload("alertmanager", "firing")).alerts
    again = parse_alertmanager(json.loads(payload("alertmanager", "firing"))).alerts
    assert [a.delivery_id() for a in first] == [a.delivery_id() for a in again]


def test_mixed_group_keeps_per_alert_status_and_truncation(payload: Payload) -> None:
    alerts = parse_alertmanager(payload("alertmanager", "mixed_truncated")).alerts
    assert [(a.fingerprint, a.status) for a in alerts] == [("aa11", AlertStatus.FIRING), ("bb22", AlertStatus.RESOLVED)]
    assert {a.group_key for a in alerts} == {'alertmanager:{}/{team="storage"}:{alertname="DiskLatencyHigh"}'}
    assert all(a.truncated_alerts == 3 for a in alerts)
    firing, resolved = alerts
    assert firing.ends_at is None
    assert resolved.ends_at == datetime(2025, 11, 20, 7, 55, tzinfo=UTC), "offset converted to UTC"
    assert firing.starts_at == datetime(2025, 11, 20, 10, 0, 0, 123456, tzinfo=UTC), "nanoseconds cut to micro"
    assert (firing.severity, resolved.severity) == (Severity.P3, Severity.P1)
    assert (firing.service, firing.environment) == ("ceph", "staging"), "app label and env label"


def test_unicode_and_slack_mentions_pass_through_untouched(payload: Payload) -> None:
    firing = parse_alertmanager(payload("alertmanager", "mixed_truncated")).alerts[0]
    assert firing.title == "Latenz auf osd-1 über 200 ms — 🚨 prüfen"
    assert firing.description == "<!here> @channel <@U123> *bold* `code` & <script>"
    assert firing.annotations["description"] == firing.description


def test_missing_optional_fields_get_defaults(payload: Payload) -> None:
    [alert] = parse_alertmanager(payload("alertmanager", "minimal")).alerts
    assert alert.title == alert.name == "Watchdog"
    assert alert.description == "" and alert.annotations == {}
    assert len(alert.fingerprint) == 16, "computed from the labels when Alertmanager gives none"
    assert alert.links.silence is None and alert.links.source is None
    assert (alert.service, alert.severity) == ("unknown", Severity.P3)


def test_fingerprint_computed_from_labels_is_stable(payload: Payload) -> None:
    body = json.loads(payload("alertmanager", "minimal"))
    first = parse_alertmanager(body).alerts[0].fingerprint
    body["alerts"][0]["labels"] = {"alertname": "Watchdog", "x": "1"}
    assert parse_alertmanager(body).alerts[0].fingerprint != first
    body["alerts"][0]["labels"] = {"alertname": "Watchdog"}
    assert parse_alertmanager(body).alerts[0].fingerprint == first


def test_invalid_payload_names_every_bad_field(payload: Payload) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_alertmanager(payload("alertmanager", "invalid"))
    assert caught.value.fields == ["status", "alerts.0.labels", "alerts.1.startsAt"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "3"}, "version"),
        ({"groupKey": ""}, "groupKey"),
        ({"alerts": []}, "alerts"),
        ({"truncatedAlerts": -1}, "truncatedAlerts"),
    ],
)
def test_group_level_errors(payload: Payload, change: dict[str, object], field: str) -> None:
    body = {**json.loads(payload("alertmanager", "firing")), **change}
    with pytest.raises(InvalidInput) as caught:
        parse_alertmanager(body)
    assert caught.value.fields == [field]

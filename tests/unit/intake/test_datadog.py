"""Datadog webhook (default payload and runbook-bot template) → Alert."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.alerts import AlertStatus, Severity
from bot.errors import InvalidInput
from bot.intake.datadog import parse_datadog
from bot.intake.datadog_title import parse_title

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


def test_no_transition_and_no_state_in_the_title_is_named(payload: Payload) -> None:
    body = json.loads(payload("datadog", "triggered"))
    body.update(alert_transition="", alert_title="", title="High error rate on checkout")
    with pytest.raises(InvalidInput) as caught:
        parse_datadog(body)
    assert caught.value.fields == ["alert_transition", "title"]


DEFAULT_BODY = "%%%\nCPU high\n\n[[Monitor Status](https://app.datadoghq.com/monitors#18692904?)]\n%%%"


def default_payload(
    title: str, event_id: str = "5485379890863845239", date: str = "1591216985000"
) -> dict[str, object]:
    """Datadog's default webhook body: the seven fields it sends when no payload is configured."""
    return {
        "body": DEFAULT_BODY,
        "last_updated": date,
        "event_type": "query_alert_monitor",
        "title": title,
        "date": date,
        "org": {"id": "415600", "name": "Example"},
        "id": event_id,
    }


@pytest.mark.parametrize(
    ("title", "status"),
    [
        ("[Triggered on {host:web-3}] CPU high", AlertStatus.FIRING),
        ("[Re-Triggered on {host:web-3}] CPU high", AlertStatus.FIRING),
        ("[Warn on {host:web-3}] CPU high", AlertStatus.FIRING),
        ("[No Data on {host:web-3}] CPU high", AlertStatus.FIRING),
        ("[Recovered on {host:web-3}] CPU high", AlertStatus.RESOLVED),
        ("[Warn Recovered on {host:web-3}] CPU high", AlertStatus.RESOLVED),
        ("[No Data Recovered on {host:web-3}] CPU high", AlertStatus.RESOLVED),
        ("[P1] [Recovered on {host:web-3}] CPU high", AlertStatus.RESOLVED),
    ],
)
def test_default_payload_takes_the_state_from_the_title(title: str, status: AlertStatus) -> None:
    [alert] = parse_datadog(default_payload(title)).alerts
    assert alert.status is status
    assert alert.name == "CPU high"
    assert alert.group_key == "datadog:18692904", "the monitor id comes from the monitor link in the body"


def test_default_payload_trigger_and_recovery_share_group_and_fingerprint() -> None:
    [fired] = parse_datadog(default_payload("[Triggered on {host:web-3}] CPU high", "5485379890863845239")).alerts
    [other] = parse_datadog(default_payload("[Triggered on {host:web-4}] CPU high", "5485379890863845240")).alerts
    [done] = parse_datadog(
        default_payload("[Recovered on {host:web-3}] CPU high", "5485379890863845299", "1591217985000")
    ).alerts
    assert (done.group_key, done.fingerprint) == (fired.group_key, fired.fingerprint)
    assert other.group_key == fired.group_key and other.fingerprint != fired.fingerprint, "one alert per scope"
    assert fired.starts_at == datetime(2020, 6, 3, 20, 43, 5, tzinfo=UTC)
    assert done.ends_at == datetime(2020, 6, 3, 20, 59, 45, tzinfo=UTC)


def test_default_payload_without_monitor_link_groups_by_the_bare_title() -> None:
    fired_body = {**default_payload("[Triggered] [TEST] Disk full"), "body": "no link here"}
    done_body = {**default_payload("[Recovered] [TEST] Disk full"), "body": "no link here"}
    [fired] = parse_datadog(fired_body).alerts
    [done] = parse_datadog(done_body).alerts
    assert fired.name == "[TEST] Disk full", "a bracket that is no state stays in the name"
    assert (done.group_key, done.fingerprint) == (fired.group_key, fired.fingerprint)
    assert (fired.status, done.status) == (AlertStatus.FIRING, AlertStatus.RESOLVED)


def test_priority_prefix_sets_the_severity_and_ids_stay_exact() -> None:
    body = default_payload("[P1] [Triggered] Checkout down")
    body["id"] = 7879718351573282995  # a template with $ID unquoted: an integer above 2**53
    body["alert_id"] = 134462228
    [alert] = parse_datadog(body).alerts
    assert alert.severity is Severity.P1
    assert alert.group_key == "datadog:134462228"


def test_extended_template_without_transition_or_id_falls_back(payload: Payload) -> None:
    """The extended template still works without alert_id: the title's state and the body's link stand in."""
    body = json.loads(payload("datadog", "triggered"))
    body["alert_transition"] = ""
    del body["alert_id"]
    [alert] = parse_datadog(body).alerts
    assert alert.status is AlertStatus.FIRING
    assert alert.group_key == "datadog:9bd4ac313a4d1e8fae2482df7b77628"


@pytest.mark.timeout(10)
def test_hostile_titles_are_read_in_linear_time() -> None:
    many = parse_title("[x]" * 300_000 + "[Recovered] tail")
    assert many.state == "Recovered" and many.name.endswith("tail")
    spaces = parse_title("[Triggered" + " " * 1_000_000 + "x]")
    assert spaces.state is None and spaces.name.startswith("[Triggered")
    assert parse_title("[Triggered on {" + "}" * 100_000 + "]").state == "Triggered"

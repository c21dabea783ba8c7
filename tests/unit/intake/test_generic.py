"""runbook-bot generic JSON → Alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.alerts import AlertStatus, Severity
from bot.errors import InvalidInput
from bot.intake.generic import parse_generic

Payload = Callable[[str, str], bytes]


def test_full_alert(payload: Payload) -> None:
    [alert] = parse_generic(payload("generic", "firing")).alerts
    assert alert.group_key == "generic:nightly-backup"
    assert (alert.name, alert.title, alert.severity) == (
        "BackupFailed",
        "Nightly backup of orders-db failed",
        Severity.P1,
    )
    assert (alert.service, alert.environment, alert.value) == ("orders-db", "prod", 1.0)
    assert alert.links.runbook == "https://runbooks.example.com/backup"
    assert alert.starts_at == datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


def test_minimal_alert_gets_defaults(payload: Payload) -> None:
    [alert] = parse_generic(payload("generic", "minimal")).alerts
    assert alert.group_key == "generic:CronMissed/unknown/prod"
    assert (alert.title, alert.status, alert.severity) == ("CronMissed", AlertStatus.FIRING, Severity.P3)


def test_unknown_fields_are_refused(payload: Payload) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_generic(payload("generic", "unknown_field"))
    assert caught.value.fields == ["alerts.0.sevrity"]


def test_bad_status_and_missing_name_are_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_generic({"alerts": [{"name": "a", "status": "burning"}, {"title": "no name"}]})
    assert caught.value.fields == ["alerts.0.status", "alerts.1.name"]


def test_the_sandbox_banners_single_alert_shape_is_accepted() -> None:
    # The shape the sandbox banner shows; it used to fail with "alerts: Field required".
    [alert] = parse_generic(b'{"name":"DiskFull","service":"db","title":"disk 95% full"}').alerts
    assert (alert.name, alert.service, alert.title) == ("DiskFull", "db", "disk 95% full")
    assert alert.group_key == "generic:DiskFull/db/prod"


def test_a_single_alert_with_a_typo_is_still_refused_by_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_generic({"name": "DiskFull", "sevrity": "P1"})
    assert caught.value.fields == ["alerts.0.sevrity"]


def test_a_body_with_neither_name_nor_alerts_still_asks_for_alerts() -> None:
    with pytest.raises(InvalidInput, match="alerts"):
        parse_generic(b'{"title":"disk 95% full"}')

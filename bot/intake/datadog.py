"""Datadog Webhooks integration, with the payload template in docs/intake.md → Alert.

Datadog lets the sender define the body; our template fills one field per `$VARIABLE`
(`alert_id` ← `$ALERT_ID`, `alert_transition` ← `$ALERT_TRANSITION`, ...). Every value
arrives as a string, and a variable Datadog has no value for arrives empty. The aggregation
key names the group (falling back to the monitor id); the alert cycle key, which lasts from
trigger to recovery, is the fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.alerts import Alert, AlertLinks, AlertStatus
from bot.intake.batch import IntakeBatch
from bot.intake.common import (
    as_utc,
    environment_from,
    from_epoch,
    load_payload,
    map_severity,
    parse_tags,
    service_from,
    stable_id,
)

SOURCE = "datadog"

RESOLVED_TRANSITIONS = frozenset({"recovered", "warn recovered", "no data recovered"})
# $ALERT_TYPE when there is no priority: "error" (alert), "warning", "info", "success" (recovery).
ALERT_TYPE_SEVERITY = {"error": "error", "warning": "warning", "info": "info"}


class DatadogPayload(BaseModel):
    """A Datadog webhook body built from the documented template."""

    model_config = ConfigDict(extra="ignore")

    alert_id: str = Field(min_length=1)
    alert_transition: str = Field(min_length=1)
    alert_type: str = ""
    alert_priority: str = ""
    alert_title: str = ""
    title: str = ""
    body: str = ""
    aggreg_key: str = ""
    alert_cycle_key: str = ""
    alert_scope: str = ""
    alert_metric: str = ""
    hostname: str = ""
    link: str = ""
    tags: str | list[str] = ""
    date: datetime | None = None
    id: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _epoch(cls, value: object) -> object:
        if value in ("", None):
            return None
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
            return from_epoch(value)
        return value


def parse_datadog(body: bytes | Mapping[str, Any]) -> IntakeBatch:
    """Parse a Datadog webhook: Recovered resolves, every other transition fires."""
    payload = load_payload(DatadogPayload, body)
    transition = payload.alert_transition.strip().lower()
    status = AlertStatus.RESOLVED if transition in RESOLVED_TRANSITIONS else AlertStatus.FIRING
    labels = parse_tags(payload.tags)
    if payload.hostname:
        labels.setdefault("host", payload.hostname)
    title = payload.alert_title or payload.title or f"Datadog monitor {payload.alert_id}"
    severity_word = payload.alert_priority or ALERT_TYPE_SEVERITY.get(payload.alert_type.lower(), "")
    alert = Alert(
        source=SOURCE,
        name=payload.alert_title or payload.alert_metric or payload.alert_id,
        status=status,
        group_key=f"{SOURCE}:{payload.aggreg_key or payload.alert_id}",
        fingerprint=payload.alert_cycle_key or stable_id(payload.alert_id, payload.alert_scope),
        title=title,
        description=payload.body,
        service=service_from(labels),
        environment=environment_from(labels),
        severity=map_severity(severity_word),
        labels=labels,
        starts_at=as_utc(payload.date) if status is AlertStatus.FIRING else None,
        ends_at=as_utc(payload.date) if status is AlertStatus.RESOLVED else None,
        links=AlertLinks(source=payload.link or None),
    )
    return IntakeBatch(source=SOURCE, alerts=[alert])

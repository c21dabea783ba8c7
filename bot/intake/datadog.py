"""Datadog Webhooks integration → Alert: Datadog's default payload, and the template in docs/intake.md.

Datadog lets the sender define the body; our template fills one field per `$VARIABLE`
(`alert_id` ← `$ALERT_ID`, `alert_transition` ← `$ALERT_TRANSITION`, ...). Every value
arrives as a string, and a variable Datadog has no value for arrives empty. The aggregation
key names the group (falling back to the monitor id); the alert cycle key, which lasts from
trigger to recovery, is the fingerprint.

Datadog's default payload (`body`, `last_updated`, `event_type`, `title`, `date`, `org`, `id`)
has neither: the state comes from the title's prefix, the monitor id from the monitor link in
the body (else the bare title), and the scope from the title's `on {…}`. Ids stay strings:
19-digit event ids are above 2^53 and must not pass through a float.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from bot.alerts import Alert, AlertLinks, AlertStatus
from bot.errors import InvalidInput
from bot.intake.batch import IntakeBatch
from bot.intake.common import (
    INVALID_PAYLOAD,
    as_utc,
    environment_from,
    from_epoch,
    load_payload,
    map_severity,
    parse_tags,
    service_from,
    stable_id,
)
from bot.intake.datadog_title import TitleParts, is_recovery, parse_title

SOURCE = "datadog"

# $ALERT_TYPE when there is no priority: "error" (alert), "warning", "info", "success" (recovery).
ALERT_TYPE_SEVERITY = {"error": "error", "warning": "warning", "info": "info"}
# The monitor link Datadog puts in every notification body: `/monitors#123` or `/monitors/123`.
MONITOR_LINK = re.compile(r"/monitors[#/](\d+)")


class DatadogPayload(BaseModel):
    """A Datadog webhook body built from the documented template."""

    model_config = ConfigDict(extra="ignore")

    alert_id: str = ""
    alert_transition: str = ""
    monitor_id: str = ""
    severity: str = ""
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
    url: str = ""
    tags: str | list[str] = ""
    date: datetime | None = None
    id: str = ""

    @field_validator("alert_id", "monitor_id", "id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        # A template with `$ID` unquoted sends a number; keep every digit as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("date", mode="before")
    @classmethod
    def _epoch(cls, value: object) -> object:
        if value in ("", None):
            return None
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
            return from_epoch(value)
        return value


def parse_datadog(body: bytes | Mapping[str, Any]) -> IntakeBatch:
    """Parse a Datadog webhook: a recovery resolves, every other transition fires."""
    payload = load_payload(DatadogPayload, body)
    parts = parse_title(payload.alert_title or payload.title)
    transition = payload.alert_transition.strip() or parts.state
    if not transition:
        raise InvalidInput(
            "no alert_transition, and the title has no state prefix such as [Triggered] or [Recovered]",
            fields=["alert_transition", "title"],
            code=INVALID_PAYLOAD,
        )
    status = AlertStatus.RESOLVED if is_recovery(transition) else AlertStatus.FIRING
    labels = parse_tags(payload.tags)
    if payload.hostname:
        labels.setdefault("host", payload.hostname)
    monitor = _monitor_id(payload)
    scope = payload.alert_scope or parts.scope
    title = payload.alert_title or payload.title or f"Datadog monitor {monitor}"
    severity_word = (
        payload.alert_priority
        or payload.severity
        or parts.priority
        or ALERT_TYPE_SEVERITY.get(payload.alert_type.lower(), "")
    )
    # Without a monitor id, the title without its state prefix is what a trigger and its recovery share.
    group = payload.aggreg_key or monitor or stable_id(parts.name)
    alert = Alert(
        source=SOURCE,
        name=_name(payload, parts, monitor),
        status=status,
        group_key=f"{SOURCE}:{group}",
        fingerprint=payload.alert_cycle_key or stable_id(monitor or parts.name, scope),
        title=title,
        description=payload.body,
        service=service_from(labels),
        environment=environment_from(labels),
        severity=map_severity(severity_word),
        labels=labels,
        starts_at=as_utc(payload.date) if status is AlertStatus.FIRING else None,
        ends_at=as_utc(payload.date) if status is AlertStatus.RESOLVED else None,
        links=AlertLinks(source=payload.link or payload.url or None),
    )
    return IntakeBatch(source=SOURCE, alerts=[alert])


def _monitor_id(payload: DatadogPayload) -> str:
    if payload.alert_id or payload.monitor_id:
        return payload.alert_id or payload.monitor_id
    found = MONITOR_LINK.search(payload.body)
    return found.group(1) if found else ""


def _name(payload: DatadogPayload, parts: TitleParts, monitor: str) -> str:
    if payload.alert_title:
        return payload.alert_title
    return payload.alert_metric or parts.name or monitor or "Datadog alert"

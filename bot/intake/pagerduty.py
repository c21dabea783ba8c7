"""PagerDuty Webhooks v3 (`incident.*` events) → Alert or Acknowledgement.

The body is `{"event": {"event_type", "occurred_at", "agent", "data": <incident>}}`. One
PagerDuty incident is one alert group: the incident id is the group key and the fingerprint.
Other event types (annotated, priority_updated, `pagey.ping`, ...) are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.alerts import Alert, AlertLinks, AlertStatus, Severity
from bot.intake.batch import Acknowledgement, IntakeBatch
from bot.intake.common import as_utc, load_payload, map_severity

SOURCE = "pagerduty"

FIRING_EVENTS = frozenset({"incident.triggered", "incident.reopened"})
RESOLVED_EVENTS = frozenset({"incident.resolved"})
ACK_EVENTS = frozenset({"incident.acknowledged"})


class Reference(BaseModel):
    """A PagerDuty object reference (service, priority, agent, ...)."""

    model_config = ConfigDict(extra="ignore")

    id: str = ""
    type: str = ""
    summary: str = ""
    html_url: str | None = None


class IncidentData(BaseModel):
    """The incident an `incident.*` event is about."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    type: str = "incident"
    title: str = ""
    number: int | None = None
    status: str = ""
    urgency: str = ""
    incident_key: str | None = None
    html_url: str | None = None
    created_at: datetime | None = None
    service: Reference | None = None
    priority: Reference | None = None


class EventHeader(BaseModel):
    """What every v3 webhook event carries."""

    model_config = ConfigDict(extra="ignore")

    id: str = ""
    event_type: str = Field(min_length=1)
    resource_type: str = ""
    occurred_at: datetime
    agent: Reference | None = None


class AnyEvent(EventHeader):
    """An event of any type; `data` depends on the type."""

    data: dict[str, Any] = Field(default_factory=dict)


class IncidentEvent(EventHeader):
    """An `incident.*` event."""

    data: IncidentData


class PagerDutyPayload(BaseModel):
    """A PagerDuty v3 webhook body, any event type."""

    model_config = ConfigDict(extra="ignore")

    event: AnyEvent


class IncidentPayload(BaseModel):
    """A PagerDuty v3 webhook body about an incident."""

    model_config = ConfigDict(extra="ignore")

    event: IncidentEvent


def parse_pagerduty(body: bytes | Mapping[str, Any]) -> IntakeBatch:
    """Parse a PagerDuty v3 webhook: triggered/reopened fire, resolved resolves, acknowledged acknowledges."""
    kind = load_payload(PagerDutyPayload, body).event.event_type
    if kind not in FIRING_EVENTS | RESOLVED_EVENTS | ACK_EVENTS:
        return IntakeBatch(source=SOURCE, ignored=[kind])
    event = load_payload(IncidentPayload, body).event
    incident = event.data
    group_key = f"{SOURCE}:{incident.id}"
    if kind in ACK_EVENTS:
        actor = event.agent.summary if event.agent and event.agent.summary else None
        return IntakeBatch(
            source=SOURCE, acknowledgements=[Acknowledgement(SOURCE, group_key, actor, event.occurred_at)]
        )
    return IntakeBatch(source=SOURCE, alerts=[_to_alert(kind, event.occurred_at, incident, group_key)])


def _to_alert(kind: str, occurred_at: datetime, incident: IncidentData, group_key: str) -> Alert:
    firing = kind in FIRING_EVENTS
    priority = incident.priority.summary if incident.priority else ""
    # A reopen is a new firing state: stamp it with the event time so it is not taken for a re-delivery.
    started = occurred_at if kind == "incident.reopened" else incident.created_at or occurred_at
    labels = {"urgency": incident.urgency} if incident.urgency else {}
    if incident.incident_key:
        labels["incident_key"] = incident.incident_key
    service = incident.service.summary if incident.service and incident.service.summary else "unknown"
    return Alert(
        source=SOURCE,
        name=incident.title or incident.id,
        status=AlertStatus.FIRING if firing else AlertStatus.RESOLVED,
        group_key=group_key,
        fingerprint=incident.id,
        title=incident.title or f"PagerDuty incident {incident.number or incident.id}",
        service=service,
        severity=map_severity(priority) if priority else _urgency(incident.urgency),
        labels=labels,
        starts_at=as_utc(started),
        ends_at=None if firing else as_utc(occurred_at),
        links=AlertLinks(source=incident.html_url),
    )


def _urgency(urgency: str) -> Severity:
    return map_severity("critical" if urgency == "high" else "warning")

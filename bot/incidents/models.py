"""Incident record, its state machine and typed timeline and audit events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.alerts import AlertStatus, Severity, utcnow
from bot.errors import IllegalTransition


class Status(StrEnum):
    """Lifecycle states of an incident."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    MITIGATING = "mitigating"
    RESOLVED = "resolved"
    CLOSED = "closed"


class CommStatus(StrEnum):
    """What stakeholders are told, alongside the lifecycle: investigating → identified → monitoring → resolved."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


ALLOWED_MOVES: dict[Status, frozenset[Status]] = {
    Status.TRIGGERED: frozenset({Status.ACKNOWLEDGED, Status.MITIGATING, Status.RESOLVED}),
    Status.ACKNOWLEDGED: frozenset({Status.MITIGATING, Status.RESOLVED}),
    Status.MITIGATING: frozenset({Status.RESOLVED}),
    # Moving back to triggered is a reopen.
    Status.RESOLVED: frozenset({Status.CLOSED, Status.TRIGGERED}),
    Status.CLOSED: frozenset({Status.TRIGGERED}),
}

ACTIVE_STATUSES = frozenset({Status.TRIGGERED, Status.ACKNOWLEDGED, Status.MITIGATING})


def can_move(current: Status, target: Status) -> bool:
    """Whether the state machine allows current → target."""
    return target in ALLOWED_MOVES[current]


class Incident(BaseModel):
    """One incident, as stored; `version` grows by one on every write."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str
    number: int
    title: str
    service: str = "unknown"
    environment: str = "prod"
    severity: Severity = Severity.P3
    status: Status = Status.TRIGGERED
    labels: dict[str, str] = Field(default_factory=dict)
    source: str = "manual"
    group_key: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    header_ts: str | None = None
    escalation_ts: str | None = None
    # The incident's announcement in INCIDENTS_CHANNEL: published updates are threaded under it.
    announcement_ts: str | None = None
    commander: str | None = None
    # Who set the commander, and when: an approval for role:commander needs one not self-granted after the request.
    commander_set_by: str | None = None
    commander_set_at: datetime | None = None
    responders: list[str] = Field(default_factory=list)
    # Holders of the roles other than commander (which stays in `commander`), by role name: see incidents/roles.py.
    roles: dict[str, str] = Field(default_factory=dict)
    runbook_id: str | None = None
    paused: bool = False
    # True once the channel, header, escalation and first diagnostics are done (see incidents/provision.py).
    provisioned: bool = False
    # True when the escalation was armed in the same write that created the incident (paging needs no Slack).
    escalation_armed: bool = False
    alerts_firing: int = 0
    alerts_resolved: int = 0
    alert_states: dict[str, AlertStatus] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict)
    # The alert that opened the incident: runbook references (${alert.…}) resolve against it later on.
    first_alert: dict[str, Any] | None = None
    triggered_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_count: int = 0
    # The communication status stakeholders see; set by `/incident status <word>`, the header menu or an update.
    comm_status: CommStatus = CommStatus.INVESTIGATING
    # Channel privacy chosen when declaring; None follows PRIVATE_CHANNELS.
    private_channel: bool | None = None
    version: int = 0

    @property
    def is_active(self) -> bool:
        """True until the incident is resolved or closed."""
        return self.status in ACTIVE_STATUSES

    def transition(self, target: Status, actor: str | None = None, at: datetime | None = None) -> None:
        """Move to `target`, stamping times; raises IllegalTransition on a forbidden move."""
        if not can_move(self.status, target):
            raise IllegalTransition(
                f"{self.id} cannot move from {self.status.value} to {target.value}",
                incident=self.id,
                current=self.status.value,
                target=target.value,
            )
        now = at or utcnow()
        if target is Status.TRIGGERED:
            self.reopened_count += 1
            self.resolved_at = None
            self.closed_at = None
        elif target is Status.ACKNOWLEDGED:
            self.acknowledged_at = now
            self.acknowledged_by = actor
        elif target is Status.RESOLVED:
            self.resolved_at = now
        elif target is Status.CLOSED:
            self.closed_at = now
        self.status = target

    def recount_alerts(self) -> None:
        """Derive the firing and resolved counts from the per-alert states."""
        states = list(self.alert_states.values())
        self.alerts_firing = sum(1 for s in states if s is AlertStatus.FIRING)
        self.alerts_resolved = len(states) - self.alerts_firing


class EventType(StrEnum):
    """Kinds of timeline events."""

    OPENED = "opened"
    ALERT = "alert"
    STATUS = "status"
    REOPENED = "reopened"
    FIELD = "field"
    DIAGNOSTIC = "diagnostic"
    DECISION = "decision"
    APPROVAL = "approval"
    ACTION = "action"
    ESCALATION = "escalation"
    MESSAGE = "message"
    NOTE = "note"
    ROLE = "role"
    PIN = "pin"
    UNPIN = "unpin"


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of an incident's timeline."""

    type: EventType
    incident_id: str
    summary: str
    actor: str = "bot"
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    stream_id: str | None = None

    def headline(self) -> str:
        """`type: summary` for display, without repeating the type when the summary already starts with it."""
        kind = self.type.value
        if self.summary.lower().startswith((f"{kind}:", f"{kind} ")):
            return self.summary
        return f"{kind}: {self.summary}"

    def to_fields(self) -> dict[str, str]:
        """Flatten to Redis stream fields."""
        return {
            "type": self.type.value,
            "incident": self.incident_id,
            "summary": self.summary,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "data": json.dumps(self.data, default=str, sort_keys=True),
        }

    @classmethod
    def from_fields(cls, stream_id: str, fields: dict[str, str]) -> TimelineEvent:
        """Rebuild from Redis stream fields."""
        return cls(
            type=EventType(fields["type"]),
            incident_id=fields["incident"],
            summary=fields["summary"],
            actor=fields["actor"],
            at=datetime.fromisoformat(fields["at"]),
            data=json.loads(fields["data"]),
            stream_id=stream_id,
        )


@dataclass(frozen=True)
class AuditEvent:
    """One audit record: who did what to which incident and step, with which outcome."""

    action: str
    actor: str
    outcome: str
    incident_id: str | None = None
    step: str | None = None
    params_hash: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    stream_id: str | None = None

    def to_fields(self) -> dict[str, str]:
        """Flatten to Redis stream fields."""
        return {
            "action": self.action,
            "actor": self.actor,
            "outcome": self.outcome,
            "incident": self.incident_id or "",
            "step": self.step or "",
            "params_hash": self.params_hash or "",
            "at": self.at.isoformat(),
            "data": json.dumps(self.data, default=str, sort_keys=True),
        }

    @classmethod
    def from_fields(cls, stream_id: str, fields: dict[str, str]) -> AuditEvent:
        """Rebuild from Redis stream fields."""
        return cls(
            action=fields["action"],
            actor=fields["actor"],
            outcome=fields["outcome"],
            incident_id=fields["incident"] or None,
            step=fields["step"] or None,
            params_hash=fields["params_hash"] or None,
            at=datetime.fromisoformat(fields["at"]),
            data=json.loads(fields["data"]),
            stream_id=stream_id,
        )

    def to_json(self) -> str:
        """One JSON line, as `runbookctl audit` prints it."""
        record: dict[str, Any] = {k: v for k, v in self.to_fields().items() if k != "data"}
        record["data"] = self.data
        record["id"] = self.stream_id or ""
        return json.dumps(record, sort_keys=True, default=str)

"""Severity and communication-status changes: one compare-and-set each, in the timeline and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts import Severity
from bot.errors import InvalidInput
from bot.incidents.models import AuditEvent, CommStatus, EventType, Incident, TimelineEvent
from bot.incidents.store import IncidentStore

SEVERITY_WORDS = ", ".join(s.value for s in Severity)
COMM_WORDS = ", ".join(s.value for s in CommStatus)


@dataclass(frozen=True)
class Change:
    """What a change did: the incident after it, and the old value (None when it was already so)."""

    incident: Incident
    old: str | None

    @property
    def changed(self) -> bool:
        """Whether the value moved."""
        return self.old is not None


def parse_severity(word: str) -> Severity:
    """P1..P4 (any case); InvalidInput otherwise."""
    value = word.strip().upper()
    if value not in Severity.__members__:
        raise InvalidInput(f"severity must be one of {SEVERITY_WORDS}, not {word!r}", ["severity"])
    return Severity(value)


def parse_comm_status(word: str) -> CommStatus:
    """investigating, identified, monitoring or resolved (any case); InvalidInput otherwise."""
    try:
        return CommStatus(word.strip().lower())
    except ValueError:
        raise InvalidInput(f"status must be one of {COMM_WORDS}, not {word!r}", ["status"]) from None


async def change_severity_flow(store: IncidentStore, incident_id: str, severity: Severity, actor: str) -> Change:
    """Set the severity; a real change is one timeline event and one audit record."""
    old: list[Severity] = []

    def mutate(incident: Incident) -> list[TimelineEvent]:
        old.clear()  # a retried compare-and-set runs this again on a fresh record
        if incident.severity is severity:
            return []
        old.append(incident.severity)
        incident.severity = severity
        summary = f"severity {old[0].value} → {severity.value}"
        data = {"field": "severity", "old": old[0].value, "new": severity.value}
        return [TimelineEvent(EventType.FIELD, incident.id, summary, actor, data)]

    updated = await store.update_incident(incident_id, mutate)
    if not old:
        return Change(updated, None)
    data = {"old": old[0].value, "new": severity.value}
    await store.audit(AuditEvent("incident.severity", actor, "changed", incident_id, data=data))
    return Change(updated, old[0].value)


async def change_comm_status_flow(store: IncidentStore, incident_id: str, status: CommStatus, actor: str) -> Change:
    """Set the communication status; a real change is one timeline event."""
    old: list[CommStatus] = []

    def mutate(incident: Incident) -> list[TimelineEvent]:
        old.clear()
        if incident.comm_status is status:
            return []
        old.append(incident.comm_status)
        incident.comm_status = status
        summary = f"status {old[0].value} → {status.value}"
        data = {"field": "comm_status", "old": old[0].value, "new": status.value}
        return [TimelineEvent(EventType.FIELD, incident.id, summary, actor, data)]

    updated = await store.update_incident(incident_id, mutate)
    return Change(updated, old[0].value if old else None)

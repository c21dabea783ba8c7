"""Audit and timeline records of approval flows, with the fields every audit event carries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.approvals.models import Approval
from bot.engine.types import DiagnosticResult, overall_verdict
from bot.incidents.models import AuditEvent, EventType, TimelineEvent
from bot.incidents.store import IncidentStore


def diagnostics_data(results: Sequence[DiagnosticResult]) -> dict[str, Any]:
    """What a DIAGNOSTIC timeline event stores per step (the same shape the incident flows write)."""
    return {r.id: {"status": r.status.value, "value": r.value, "ms": round(r.duration_ms)} for r in results}


class Recorder:
    """Writes audit events (actor, time, incident, step, parameters hash, outcome) and timeline events."""

    def __init__(self, incidents: IncidentStore) -> None:
        self.incidents = incidents

    async def audit(
        self, approval: Approval, action: str, actor: str, outcome: str, data: dict[str, Any] | None = None
    ) -> None:
        """One audit event about one request."""
        details = {
            "approval": approval.id,
            "kind": approval.kind.value,
            "runbook": approval.runbook_id,
            "action": approval.action_name,
            "environment": approval.environment,
            "service": approval.service,
            "trust": approval.trust,
            **(data or {}),
        }
        await self.incidents.audit(
            AuditEvent(
                action=action,
                actor=actor,
                outcome=outcome,
                incident_id=approval.incident_id,
                step=approval.step_id,
                params_hash=approval.params_hash or None,
                data=details,
            )
        )

    async def timeline(
        self,
        incident_id: str,
        kind: EventType,
        summary: str,
        actor: str,
        approval: Approval,
        data: dict[str, Any] | None = None,
    ) -> None:
        """One timeline event about one request."""
        payload = {"approval": approval.id, "step": approval.step_id, **(data or {})}
        await self.incidents.append_timeline(TimelineEvent(kind, incident_id, summary, actor or "bot", payload))

    async def diagnostics(self, incident_id: str, results: Sequence[DiagnosticResult]) -> None:
        """Record re-run diagnostics on the timeline."""
        verdict = overall_verdict(list(results))
        await self.incidents.append_timeline(
            TimelineEvent(
                EventType.DIAGNOSTIC, incident_id, f"diagnostics: {verdict.value}", data=diagnostics_data(results)
            )
        )

    async def last_diagnostics(self, incident_id: str) -> dict[str, Any]:
        """The newest diagnostics recorded on the timeline (the "before" of a before/after)."""
        events = await self.incidents.read_timeline(incident_id)
        for event in reversed(events):
            if event.type is EventType.DIAGNOSTIC:
                return dict(event.data)
        return {}

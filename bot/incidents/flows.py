"""Incident flows: what happens when alerts arrive. No Slack or HTTP here; those come in as protocols."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from prometheus_client import Counter

from bot import metrics
from bot.alerts import Alert
from bot.engine.offer import PlanOutcome
from bot.engine.types import DiagnosticResult, overall_verdict
from bot.errors import IllegalTransition
from bot.incidents.lifecycle import first_alert_of
from bot.incidents.models import EventType, Incident, Status, TimelineEvent
from bot.incidents.store import AlertOutcome, Creation, IncidentStore, OnCreate
from bot.intake.batch import IntakeBatch
from bot.tasks import TaskSupervisor

if TYPE_CHECKING:
    from bot.escalation.scheduler import FiredTimer
    from bot.escalation.service import EscalationService
    from bot.incidents.provision import ProvisionGuard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchedRunbook:
    """The runbook chosen for an incident."""

    id: str
    name: str
    url: str | None = None
    owners: tuple[str, ...] = ()
    escalation: str | None = None


class Responder(Protocol):
    """The runbook side: match, diagnose, plan."""

    def match(self, alert: Alert) -> MatchedRunbook | None:
        """The runbook for this alert, if any."""
        ...

    async def diagnose(self, runbook_id: str, incident: Incident, alert: Alert | None) -> list[DiagnosticResult]:
        """Run the runbook's diagnostics for the incident."""
        ...

    def plan(self, runbook_id: str, incident: Incident, results: Sequence[DiagnosticResult]) -> PlanOutcome:
        """The next safe steps for this evidence."""
        ...


class Notifier(Protocol):
    """The chat side: channel, header, evidence, plan, recovery."""

    async def incident_opened(self, incident: Incident, runbook: MatchedRunbook | None) -> Incident:
        """Open the incident's channel and post its header; returns the incident with its channel bound."""
        ...

    async def incident_updated(self, incident: Incident) -> None:
        """Refresh the header in place."""
        ...

    async def incident_resolved(self, incident: Incident) -> None:
        """Post the recovery and refresh the header."""
        ...

    async def evidence_ready(
        self, incident: Incident, results: Sequence[DiagnosticResult], runbook_name: str
    ) -> str | None:
        """Post the evidence summary; returns where its details go (a thread ts), or None."""
        ...

    async def evidence_details(self, incident: Incident, results: Sequence[DiagnosticResult], thread: str) -> None:
        """Post every step's details under the summary (after the plan, so the plan is not held behind them)."""
        ...

    async def plan_ready(self, incident: Incident, plan: PlanOutcome) -> None:
        """Post the plan."""
        ...


class IncidentObserver(Protocol):
    """Something that follows incidents opening and ending (the status page); told after the channel work."""

    async def incident_opened(self, incident: Incident) -> None:
        """The incident was opened (its channel is provisioned)."""
        ...

    async def incident_ended(self, incident: Incident) -> None:
        """The incident was resolved or closed."""
        ...


class IncidentFlows:
    """Turns recorded alerts into incident work; the Slack part runs in the background."""

    def __init__(
        self,
        store: IncidentStore,
        notifier: Notifier,
        responder: Responder,
        tasks: TaskSupervisor | None = None,
        escalation: EscalationService | None = None,
        guard: ProvisionGuard | None = None,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.responder = responder
        self.tasks = tasks or TaskSupervisor()
        self.escalation = escalation
        self.guard = guard
        # Added by the composition root: each is told when an incident opens and ends.
        self.observers: list[IncidentObserver] = []

    async def receive_alerts(self, alerts: Sequence[Alert]) -> list[AlertOutcome]:
        """Record each alert (synchronously, so the sender's 2xx means stored), then follow up in the background."""
        outcomes = []
        for alert in alerts:
            # The provisioning guard and the escalation are written with the incident itself: if this
            # replica dies after that write, another one provisions and pages; Slack is not needed to page.
            outcome = await self.store.open_or_update(alert, self._on_create(alert))
            outcomes.append(outcome)
            result = "created" if outcome.created else "recorded" if outcome.recorded else "duplicate"
            _alerts_received(alert.source, result).inc()
            self._follow_up(outcome, alert)
        return outcomes

    def _on_create(self, alert: Alert) -> OnCreate:
        def create(incident: Incident) -> Creation:
            runbook = self.responder.match(alert)
            if runbook is not None:
                incident.runbook_id = runbook.id
            timers = [self.guard.arm_request(incident.id)] if self.guard is not None else []
            if self.escalation is None:
                return Creation((), timers)
            try:
                arms, started = self.escalation.opening_plan(incident, runbook.escalation if runbook else None)
            except Exception:  # a policy that cannot be planned must not lose the alert: provisioning retries it
                log.exception("escalation not armed with the incident", extra={"incident": incident.id})
                return Creation((), timers)
            incident.escalation_armed = True
            return Creation([started], timers + arms)

        return create

    async def accept(self, batch: IntakeBatch) -> list[AlertOutcome]:
        """The webhook sink: record the batch's alerts, then apply its acknowledgements."""
        outcomes = await self.receive_alerts(batch.alerts)
        for ack in batch.acknowledgements:
            await self.acknowledge_group(ack.group_key, ack.actor or ack.source)
        return outcomes

    async def acknowledge_group(self, group_key: str, actor: str) -> Incident | None:
        """Acknowledge the triggered incident of an alert group (a pager said so); None when nothing moved."""
        incident = await self.store.find_by_group(group_key)
        if incident is None or incident.status is not Status.TRIGGERED:
            return None
        try:
            if self.escalation is not None:
                updated = (await self.escalation.acknowledge(incident.id, actor)).incident
            else:
                updated = await self.store.transition(incident.id, Status.ACKNOWLEDGED, actor=actor)
        except IllegalTransition:
            return None  # a concurrent writer moved it on first; a later state wins over an ack
        self.tasks.spawn(self.notifier.incident_updated(updated), "update-header", updated.id)
        return updated

    async def incident_ended(self, incident: Incident) -> None:
        """Resolved or closed: stop paging and refresh the channel."""
        if self.escalation is not None:
            await self.escalation.incident_ended(incident)
        for observer in self.observers:
            await observer.incident_ended(incident)

    def _follow_up(self, outcome: AlertOutcome, alert: Alert) -> None:
        if not outcome.recorded:  # a duplicate: nothing to follow up (and its incident is not even parsed)
            return
        incident = outcome.incident
        if incident is None:
            return
        if outcome.created:
            metrics.INCIDENTS_OPENED.labels(incident.service).inc()
            self.tasks.spawn(self.provision(incident, alert), "open-incident", incident.id)
        elif outcome.status_changed and incident.status is Status.RESOLVED:
            self.tasks.spawn(self.notifier.incident_resolved(incident), "resolve-incident", incident.id)
            self.tasks.spawn(self.incident_ended(incident), "stop-escalation", incident.id)
        elif outcome.reopened:
            self.tasks.spawn(self.reopen_flow(incident, alert), "reopen-incident", incident.id)
        else:
            self.tasks.spawn(self.notifier.incident_updated(incident), "update-header", incident.id)

    async def provision(self, incident: Incident, alert: Alert | None, failures: int = 0) -> bool:
        """Open the channel and run the runbook once, under the lease; False when another worker holds it.

        A failure (Slack down, say) re-arms the safety timer after a backoff, after the lease is let go.
        """
        if self.guard is None:
            await self.open_incident_flow(incident, alert)
            return True
        error: str | None = None
        async with self.guard.lease(incident.id) as held:
            if not held:
                return False
            fresh = await self.store.get_incident(incident.id) or incident
            if not fresh.provisioned and fresh.status is not Status.CLOSED:
                try:
                    done = await self.open_incident_flow(fresh, alert)
                    await self.store.update_incident(done.id, _mark_provisioned)
                except Exception as exc:  # retried with backoff below, logged here
                    error = str(exc) or type(exc).__name__
                    log.warning(
                        "provisioning failed; will retry",
                        extra={"incident": incident.id, "attempt": failures + 1, "error": error},
                        exc_info=failures == 0,
                    )
            if error is None:
                await self.guard.done(incident.id)
        if error is not None:
            await self.guard.failed(incident.id, failures + 1, error)
        return True

    async def open_manual_incident(self, incident: Incident) -> None:
        """Provision an incident opened by hand, with the same safety timer as alert-opened ones."""
        if self.guard is not None:
            await self.guard.arm(incident.id)
        if self.escalation is not None and not incident.escalation_armed:
            # Paging starts now, not once the channel exists (a second write: the creating one is generic).
            incident = await self.escalation.start_paging(incident)
        # A declared incident carries its synthetic alert: the runbook is matched as an alert's would be.
        self.tasks.spawn(self.provision(incident, first_alert_of(incident)), "open-incident", incident.id)

    async def on_provision_timer(self, timer: FiredTimer) -> None:
        """The safety timer: provision what the opening replica did not finish, or wait for a live worker."""
        incident = await self.store.get_incident(timer.incident_id or "")
        if incident is None or incident.provisioned:
            return
        failures = int(timer.payload.get("failures", 0))
        if failures == 0:
            log.warning("provisioning an incident its opener did not finish", extra={"incident": incident.id})
        if not await self.provision(incident, first_alert_of(incident), failures) and self.guard is not None:
            await self.guard.arm(incident.id, failures=failures)

    async def open_incident_flow(self, incident: Incident, alert: Alert | None) -> Incident:
        """Match a runbook, open the channel, then diagnose and plan."""
        runbook = self.responder.match(alert) if alert is not None else None
        if runbook is not None and incident.runbook_id != runbook.id:
            incident = await self.store.update_incident(incident.id, _set_runbook(runbook.id))
        incident = await self.notifier.incident_opened(incident, runbook)
        if self.escalation is not None:
            await self.escalation.incident_opened(incident, runbook.escalation if runbook else None)
        for observer in self.observers:
            await observer.incident_opened(incident)
        if runbook is not None:
            await self.diagnose_and_plan(incident, runbook, alert)
        return incident

    async def reopen_flow(self, incident: Incident, alert: Alert) -> None:
        """A reopened incident gets its header refreshed and fresh evidence."""
        await self.notifier.incident_updated(incident)
        runbook = self.responder.match(alert)
        if runbook is not None:
            await self.diagnose_and_plan(incident, runbook, alert)

    async def diagnose_and_plan(self, incident: Incident, runbook: MatchedRunbook, alert: Alert | None) -> PlanOutcome:
        """Run diagnostics, record and post the evidence, then record and post the plan."""
        results = await self.responder.diagnose(runbook.id, incident, alert)
        verdict = overall_verdict(results)
        await self.store.append_timeline(
            TimelineEvent(
                EventType.DIAGNOSTIC,
                incident.id,
                f"diagnostics: {verdict.value}",
                data={r.id: {"status": r.status.value, "value": r.value, "ms": round(r.duration_ms)} for r in results},
            )
        )
        thread = await self.notifier.evidence_ready(incident, results, runbook.name)
        plan = self.responder.plan(runbook.id, incident, results)
        await self.store.append_timeline(
            TimelineEvent(
                EventType.DECISION,
                incident.id,
                "offered: " + (", ".join(s.id for s in plan.steps) or "nothing"),
                data={"steps": [{"id": s.id, "reason": s.reason} for s in plan.steps], "notes": plan.notes},
            )
        )
        # Summary and plan leave together within Slack's per-channel burst; the details follow in the thread.
        await self.notifier.plan_ready(incident, plan)
        if thread is not None:
            await self.notifier.evidence_details(incident, results, thread)
        return plan


def _mark_provisioned(incident: Incident) -> None:
    incident.provisioned = True


def _set_runbook(runbook_id: str) -> Callable[[Incident], None]:
    def mutate(incident: Incident) -> None:
        incident.runbook_id = runbook_id

    return mutate


# One counter per source and outcome, looked up once: .labels() takes a lock and builds a key per call.
@lru_cache(maxsize=64)
def _alerts_received(source: str, result: str) -> Counter:
    return metrics.ALERTS_RECEIVED.labels(source, result)

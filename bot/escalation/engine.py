"""Escalation flows (Slack-free): arm a policy's pages as timers, page when due, stop at the first ack."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from bot.alerts import utcnow
from bot.errors import IllegalTransition, IncidentNotFound
from bot.escalation.deliveries import (
    DeliveryConfig,
    DeliveryPort,
    PageDeliveries,
    delivery_timers,
    plan_deliveries,
)
from bot.escalation.loader import EscalationConfig
from bot.escalation.policy import (
    PageTarget,
    Policy,
    Target,
    TargetKind,
    escalation_steps,
    resolve_targets,
)
from bot.escalation.scheduler import FiredTimer, TimerScheduler
from bot.escalation.timers import ArmRequest, TimerStore
from bot.incidents.models import AuditEvent, EventType, Incident, Status, TimelineEvent
from bot.incidents.pages import PageRecorder
from bot.incidents.store import IncidentStore
from bot.jobs.deadletter import DeadLetters

log = logging.getLogger(__name__)

ESCALATE = "escalate"
_TARGETS: TypeAdapter[list[Target]] = TypeAdapter(list[Target])


@dataclass(frozen=True)
class AckResult:
    """What an acknowledgement did."""

    incident: Incident
    by_paged_target: bool
    already_acknowledged: bool
    cancelled: int
    paged: tuple[str, ...]


@dataclass(frozen=True)
class PendingPage:
    """A page still to come, for the countdown message."""

    timer_id: str
    level: int
    due_at: datetime
    targets: tuple[PageTarget, ...]
    reason: str


class _NotPaging(Exception):
    """Raised inside the compare-and-set to abort it: the incident no longer wants this page."""


def escalation_prefix(incident_id: str) -> str:
    """Id prefix of every escalation timer of one incident."""
    return f"esc:{incident_id}:"


class Escalator:
    """Starts, fires and stops escalations; the scheduler calls `handle_escalate` for due pages."""

    def __init__(
        self,
        store: IncidentStore,
        timers: TimerStore,
        config: EscalationConfig,
        port: DeliveryPort,
        clock: Callable[[], datetime] = utcnow,
        delivery: DeliveryConfig | None = None,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self.store = store
        self.timers = timers
        self.config = config
        self.clock = clock
        self.pages = PageRecorder(store)
        self.deliveries = PageDeliveries(store, timers, port, dead_letters, delivery, clock)

    def register(self, scheduler: TimerScheduler) -> None:
        """Route escalation timers, and the delivery jobs of each page, to this escalator."""
        scheduler.register(ESCALATE, self.handle_escalate)
        self.deliveries.register(scheduler)

    def plan_timers(
        self, incident: Incident, policy: Policy | None = None, now: datetime | None = None, name: str | None = None
    ) -> tuple[list[ArmRequest], TimelineEvent]:
        """One timer per planned page and the timeline event saying so; nothing is written."""
        now = now or self.clock()
        name = name or (self.config.book.policy_name_for(incident.service) if policy is None else "custom")
        policy = policy or self.config.policy_for(incident.service)
        run = uuid.uuid4().hex[:8]
        steps = escalation_steps(policy, incident.severity, now, self.config.schedules, now)
        arms = []
        for rs in steps:
            step = rs.step
            payload: dict[str, Any] = {
                "run": run,
                "seq": step.seq,
                "level": step.level,
                "round": step.round,
                "reason": step.reason,
                "targets": [t.model_dump() for t in step.targets],
            }
            timer_id = f"{escalation_prefix(incident.id)}{run}:{step.seq:03d}"
            arms.append(ArmRequest(timer_id, step.due_at, ESCALATE, payload, incident.id))
        summary = f"escalation policy {name!r} started: {len(steps)} pages planned"
        event = TimelineEvent(EventType.ESCALATION, incident.id, summary, data={"policy": name, "run": run}, at=now)
        return arms, event

    async def start_escalation(
        self, incident: Incident, policy: Policy | None = None, now: datetime | None = None
    ) -> list[ArmRequest]:
        """Arm one timer per planned page (replacing any earlier run); returns the timers armed."""
        await self.timers.cancel_incident(incident.id, escalation_prefix(incident.id))
        arms, event = self.plan_timers(incident, policy, now)
        await self.timers.arm_many(arms)
        await self.store.append_timeline(event)
        return arms

    async def handle_escalate(self, timer: FiredTimer) -> None:
        """Page one step if the incident is still triggered; the check and the record are one compare-and-set."""
        incident_id = timer.incident_id or ""
        level = int(timer.payload["level"])
        targets, unstaffed = resolve_targets(
            _TARGETS.validate_python(timer.payload["targets"]), self.config.schedules, timer.fired_at
        )
        reason = str(timer.payload["reason"])
        if timer.late:
            reason += f" (late by {int(timer.lateness.total_seconds())} s)"
        data = {
            "level": level,
            "seq": timer.payload["seq"],
            "targets": [_label(t) for t in targets],
            "unstaffed": list(unstaffed),
            "late": timer.late,
            "attempt": timer.attempt,
        }

        page_id = f"{timer.payload['run']}-{int(timer.payload['seq']):03d}"
        data["page"] = page_id

        def record(incident: Incident) -> TimelineEvent:
            # An ack that committed first makes this abort, so the page is never sent.
            if incident.status is not Status.TRIGGERED:
                raise _NotPaging(incident.status.value)
            summary = f"paging level {level}: {', '.join(data['targets']) or 'nobody'} ({reason})"
            return TimelineEvent(EventType.ESCALATION, incident.id, summary, data=data, at=timer.fired_at)

        deliveries = plan_deliveries(incident_id, page_id, level, targets, reason, timer.fired_at)
        users = [t.id for t in targets if t.kind is TargetKind.USER]
        try:
            # The page, who was paged and one durable job per delivery are written together, once.
            recorded = await self.pages.record_page(
                incident_id, page_id, record, users, delivery_timers(deliveries, timer.fired_at)
            )
        except _NotPaging as stop:
            log.info("escalation %s skipped: incident %s is %s", timer.id, incident_id, stop)
            return
        except IncidentNotFound:
            log.warning("escalation %s dropped: incident %s is gone", timer.id, incident_id)
            return
        if recorded is None:
            return  # a re-run after a crash: the page and its deliveries exist already
        outcome = "paged" if targets else "unstaffed"
        data["deliveries"] = [d.job_id for d in deliveries]
        await self.store.audit(
            AuditEvent("escalation.page", "bot", outcome, incident_id, step=f"level-{level}", data=data)
        )

    async def acknowledge(self, incident_id: str, user: str) -> AckResult:
        """Acknowledge, stop the escalation at once and record whether the acker had been paged."""
        try:
            incident = await self.store.transition(incident_id, Status.ACKNOWLEDGED, user)
            already = False
        except IllegalTransition:
            # A double click or a second replica got there first; anything but an ack already made is refused.
            incident = await self.store.get_incident_or_raise(incident_id)
            if incident.status not in (Status.ACKNOWLEDGED, Status.MITIGATING):
                raise
            already = True
        cancelled = await self.timers.cancel_incident(incident_id, escalation_prefix(incident_id))
        paged = await self.pages.paged_users(incident_id)
        by_paged = user in paged
        if not already:
            note = "paged" if by_paged else f"not paged; paged: {', '.join(paged) or 'nobody'}"
            data = {"by_paged_target": by_paged, "paged": list(paged), "cancelled": cancelled}
            event = TimelineEvent(EventType.ESCALATION, incident_id, f"acknowledged by {user} ({note})", user, data)
            await self.store.append_timeline(event)
            await self.store.audit(AuditEvent("escalation.ack", user, "acknowledged", incident_id, data=data))
        return AckResult(incident, by_paged, already, cancelled, paged)

    async def stop_incident(self, incident_id: str) -> int:
        """Disarm every timer of the incident (on resolve or close); returns how many."""
        return await self.timers.cancel_incident(incident_id)

    async def pending_pages(self, incident_id: str) -> list[PendingPage]:
        """Pages still armed, soonest first, with targets as the schedules will name them then."""
        now = self.clock()
        out = []
        for record in await self.timers.list_incident(incident_id):
            if record.kind != ESCALATE:
                continue
            targets = _TARGETS.validate_python(record.payload["targets"])
            resolved, _ = resolve_targets(targets, self.config.schedules, max(record.due_at, now))
            level = int(record.payload["level"])
            out.append(PendingPage(record.id, level, record.due_at, resolved, str(record.payload["reason"])))
        return out


def _label(target: PageTarget) -> str:
    label = f"{target.kind.value}:{target.id}"
    return f"{label} (via {target.via})" if target.via else label

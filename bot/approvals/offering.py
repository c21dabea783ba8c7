"""Offering steps as requests: a plan's steps, one step a person asks for, the rollback of a failed step."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.approvals.models import OPEN, UNSETTLED, Approval, ApprovalStatus
from bot.approvals.proposals import BOT_ACTOR, rollback_approval, step_approval
from bot.approvals.store import ApprovalGroup
from bot.engine.offer import PlanOutcome
from bot.engine.plan import PlannedStep, guards
from bot.errors import BotError, InvalidInput
from bot.incidents.models import EventType, Incident
from bot.runbooks.schema import Action

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService


class OfferFlows:
    """Creates requests, posts them and arms their expiry; automatic ones start at once."""

    def __init__(self, service: ApprovalService) -> None:
        self.service = service

    async def offer_plan(self, incident: Incident, plan: PlanOutcome, requester: str = BOT_ACTOR) -> list[Approval]:
        """A request per offered step not yet done nor open: post them, arm their expiry, start automatic ones."""
        service = self.service
        runbook = service.responder.runbook(plan.runbook_id)
        done = await service.store.done_steps(incident.id)
        now, notes = service.clock(), list(plan.notes)
        approvals: list[Approval] = []
        for step in plan.steps:
            if step.id in done or await self._still_open(incident.id, step.id, now):
                continue
            level = service.trust.level(runbook.id, step.id, incident.environment)
            try:
                approvals.append(
                    step_approval(service.responder, runbook, step, incident, level, requester, now, service.lifetime_s)
                )
            except BotError as exc:
                notes.append(f"{step.id} not offered: {exc}")
        group = ApprovalGroup(uuid.uuid4().hex[:12], plan.runbook_name, [a.id for a in approvals], notes)
        await self._publish(incident, approvals, group)
        for approval in approvals:
            if approval.status is ApprovalStatus.APPROVED:
                service.tasks.spawn(
                    service.decisions.start(approval, incident, BOT_ACTOR), "automatic-step", incident.id
                )
        return approvals

    async def request_step(self, incident: Incident, step_id: str, user: str) -> Approval:
        """A person asks for one step of the incident's runbook; they become its requester (four-eyes)."""
        service = self.service
        if not incident.runbook_id:
            raise InvalidInput(f"{incident.id} has no runbook, so it has no steps to request")
        runbook = service.responder.runbook(incident.runbook_id)
        remediation = runbook.remediation(step_id)
        if remediation is None:
            raise InvalidInput(f"runbook {runbook.id} has no step {step_id!r}", fields=["step"])
        planned = PlannedStep(remediation, "request", f"requested by <@{user}>", guards(remediation))
        step = service.responder.offer(planned, incident)
        level = service.trust.level(runbook.id, step.id, incident.environment)
        approval = step_approval(
            service.responder, runbook, step, incident, level, user, service.clock(), service.lifetime_s
        )
        if approval.status is ApprovalStatus.APPROVED:
            approval.status, approval.approved_by = ApprovalStatus.PENDING, []  # a person asked: a person approves
        group = ApprovalGroup(uuid.uuid4().hex[:12], runbook.name, [approval.id], title=f"requested by <@{user}>")
        await self._publish(incident, [approval], group)
        return approval

    async def offer_rollback(self, incident: Incident, failed: Approval, action: Action) -> Approval:
        """Propose the rollback of a failed step as a new request that itself runs once."""
        service = self.service
        proposal = rollback_approval(service.responder, failed, action, incident, service.clock(), service.lifetime_s)
        group = ApprovalGroup(uuid.uuid4().hex[:12], failed.runbook_id, [proposal.id], title="rollback offered")
        await self._publish(incident, [proposal], group)
        return proposal

    async def _publish(self, incident: Incident, approvals: Sequence[Approval], group: ApprovalGroup) -> None:
        service = self.service
        for a in approvals:
            a.group = group.id
        await service.store.create(approvals, group)
        for a in approvals:
            outcome = "shadow" if a.status is ApprovalStatus.SHADOW else a.trust
            await service.recorder.audit(
                a, f"{a.kind.value}.proposed", a.requester, outcome, {"what_runs": a.what_runs}
            )
        if approvals:
            summary = "proposed: " + ", ".join(f"{a.step_id} ({a.trust})" for a in approvals)
            await service.recorder.timeline(incident.id, EventType.APPROVAL, summary, BOT_ACTOR, approvals[0])
        where = await service.presenter.show_plan(incident, group, approvals)
        if where is not None:
            await service.store.bind_message(approvals, *where)
        for a in approvals:
            if a.status in OPEN:
                await service.expiry.arm(a)

    async def _still_open(self, incident_id: str, step_id: str, now: float) -> bool:
        latest = await self.service.store.latest_for_step(incident_id, step_id)
        return (
            latest is not None
            and latest.status in (*OPEN, ApprovalStatus.APPROVED, ApprovalStatus.EXECUTING, *UNSETTLED)
            # A step whose outcome nobody knows is never offered again until a person settles it.
            and (latest.expires_at > now or latest.status in (ApprovalStatus.EXECUTING, *UNSETTLED))
        )

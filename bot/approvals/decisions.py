"""What a click on a request does: approve (then start the one execution), dry run, skip, mark done."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import metrics
from bot.approvals.models import OPEN, Approval, ApprovalKind, ApprovalStatus
from bot.approvals.ports import Reply, ReplyKind
from bot.approvals.proposals import action_of
from bot.incidents.models import EventType, Incident
from bot.policy.rules import Refusal, kill_switch_refusal, refusal_text

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService


class DecisionFlows:
    """The buttons of an open request; each click is checked against the request's policy first."""

    def __init__(self, service: ApprovalService) -> None:
        self.service = service

    async def approve(self, approval_id: str, user: str) -> Reply:
        """A person clicks Approve: refuse, wait for a second approver, or claim and start the one execution."""
        service = self.service
        found = await self._open_request(approval_id, user)
        if isinstance(found, Reply):
            return found
        approval, incident = found
        if approval.kind is ApprovalKind.MANUAL or approval.status is ApprovalStatus.SHADOW:
            return Reply(ReplyKind.INFO, "this step has nothing to approve here")
        refusal = await service.gate.check(approval, incident, user)
        if refusal is not None:
            return await service.refuse(approval, user, *refusal)
        recorded = await service.store.record_approval(approval, user, service.clock())
        if recorded.code in ("self", "same"):
            reason = Refusal.SELF_APPROVAL if recorded.code == "self" else Refusal.SAME_APPROVER
            return await service.refuse(approval, user, reason)
        if recorded.code == "expired":
            return await self._expired(approval, user)
        approval.approved_by = recorded.approved_by
        if recorded.code == "waiting":
            await service.recorder.audit(approval, "approval.approved", user, "waiting")
            await service.presenter.refresh(approval)
            return Reply(
                ReplyKind.WAITING,
                f"Approved; waiting for {approval.required - len(recorded.approved_by)} more approver(s).",
            )
        if recorded.code == "now_approved":
            waited = max(0.0, service.clock() - approval.created_at)
            metrics.APPROVAL_SECONDS.labels(approval.action_name).observe(waited)
            await service.recorder.audit(approval, "approval.approved", user, "approved")
            summary = f"{approval.name} approved"
            await service.recorder.timeline(incident.id, EventType.APPROVAL, summary, user, approval)
        if recorded.code in ("now_approved", ApprovalStatus.APPROVED.value):
            return await self.start(approval, incident, user)
        return Reply(ReplyKind.INFO, f"this step is already {recorded.code}; nothing more runs")

    async def dry_run(self, approval_id: str, user: str) -> Reply:
        """Exactly what would run, for the clicker only; nothing runs."""
        service = self.service
        approval = await service.store.find(approval_id)
        if approval is None or approval.action is None:
            return Reply(
                ReplyKind.INFO,
                refusal_text(Refusal.UNKNOWN) if approval is None else "a manual step: see its instructions",
            )
        incident = await service.incidents.get_incident_or_raise(approval.incident_id)
        hook, config = service.responder.prepare_action(action_of(approval), incident)
        ctx = service.responder.hook_context(incident, None)
        ctx.dry_run = True
        output = await hook.execute(config, ctx)
        await service.recorder.audit(approval, "step.dry_run", user, "described")
        return Reply(ReplyKind.INFO, f"Dry run of *{approval.name}*: {output.output}")

    async def skip(self, approval_id: str, user: str) -> Reply:
        """An approver declines the step; its buttons go."""
        found = await self._open_request(approval_id, user)
        if isinstance(found, Reply):
            return found
        approval, incident = found
        if not await self.service.may_decide(approval, incident, user):
            policy = self.service.policy_of(approval)
            return await self.service.refuse(approval, user, Refusal.NOT_APPROVER, policy.describe())
        return await self._close(approval, user, ApprovalStatus.SKIPPED, "approval.skipped", "Skipped.")

    async def mark_done(self, approval_id: str, user: str) -> Reply:
        """A person says they did a manual step."""
        found = await self._open_request(approval_id, user)
        if isinstance(found, Reply):
            return found
        approval, _ = found
        reply = await self._close(approval, user, ApprovalStatus.DONE, "step.marked_done", "Marked done.")
        if reply.kind is ReplyKind.DONE:
            await self.service.store.mark_step_done(approval.incident_id, approval.step_id)
        return reply

    async def start(self, approval: Approval, incident: Incident, actor: str) -> Reply:
        """Claim an approved request and run it once, unless the kill switch or the step's hourly limit says no."""
        service = self.service
        fresh = await service.incidents.get_incident_or_raise(incident.id)
        switch = kill_switch_refusal(service.settings.kill_switch, fresh)
        if switch is not None:
            return await service.refuse(approval, actor, switch)
        refused = await self._over_hourly_limit(approval, actor)
        if refused is not None:
            return refused
        if service.executor.stopping:
            return Reply(ReplyKind.INFO, "this bot replica is stopping; click Approve again in a moment")
        code = await service.executor.claim(approval)
        if code == "expired":
            return await self._expired(approval, actor)
        if code != "ok":
            return Reply(ReplyKind.INFO, f"this step is already {code}; it runs only once")
        approval.status = ApprovalStatus.EXECUTING
        await service.presenter.refresh(approval)
        service.tasks.spawn(
            service.executor.run(approval, fresh, service.offer_rollback, service.offer_plan),
            "execute-step",
            incident.id,
        )
        return Reply(ReplyKind.RUNNING, f"Approved: running *{approval.name}* now.")

    async def _over_hourly_limit(self, approval: Approval, actor: str) -> Reply | None:
        """The refusal when the step's `max_per_hour` is used up (the request is then refused for good)."""
        service = self.service
        remediation = service.responder.runbook(approval.runbook_id).remediation(approval.step_id)
        limit = remediation.safety.max_per_hour if remediation is not None else None
        if limit is None:
            return None
        taken = await service.rate.take(approval.service, approval.action_name, limit, approval.id, service.clock())
        if taken.allowed:
            return None
        detail = f"{approval.action_name} on {approval.service} ran {taken.used} time(s) this hour (max {limit})"
        await service.store.transition(
            approval, [ApprovalStatus.APPROVED], ApprovalStatus.REFUSED, service.clock(), result=detail
        )
        await service.presenter.refresh(approval)
        return await service.refuse(approval, actor, Refusal.RATE_LIMITED, detail)

    async def _open_request(self, approval_id: str, user: str) -> tuple[Approval, Incident] | Reply:
        service = self.service
        approval = await service.store.find(approval_id)
        if approval is None:
            return Reply(ReplyKind.REFUSED, refusal_text(Refusal.UNKNOWN), Refusal.UNKNOWN)
        if approval.status in (*OPEN, ApprovalStatus.APPROVED) and approval.expires_at <= service.clock():
            return await self._expired(approval, user)
        if approval.status.is_final:
            return Reply(ReplyKind.INFO, refusal_text(Refusal.CLOSED, approval.status.value))
        return approval, await service.incidents.get_incident_or_raise(approval.incident_id)

    async def _close(self, approval: Approval, user: str, target: ApprovalStatus, audit: str, text: str) -> Reply:
        service = self.service
        code = await service.store.transition(approval, OPEN, target, service.clock(), finished_by=user)
        if code == "expired":
            return await self._expired(approval, user)
        if code != "ok":
            return Reply(ReplyKind.INFO, refusal_text(Refusal.CLOSED, code))
        approval.status, approval.finished_by = target, user
        await service.recorder.audit(approval, audit, user, target.value)
        summary = f"{approval.name}: {target.value}"
        await service.recorder.timeline(approval.incident_id, EventType.APPROVAL, summary, user, approval)
        await service.presenter.refresh(approval)
        return Reply(ReplyKind.DONE, text)

    async def _expired(self, approval: Approval, user: str) -> Reply:
        await self.service.expire(approval.incident_id, approval.id)
        return await self.service.refuse(approval, user, Refusal.EXPIRED)

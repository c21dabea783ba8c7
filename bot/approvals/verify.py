"""A person settles a step whose outcome is unknown: Verified OK, Failed (offer the rollback) or Run again.

Each button moves the request out of `unknown`/`interrupted` with one compare-and-set, so a double click,
a Slack retry or a second replica does the follow-up once. Run again never runs anything: it creates a
fresh request for the same step under the same policy, which needs its own approval.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.approvals.models import UNSETTLED, Approval, ApprovalKind, ApprovalStatus
from bot.approvals.ports import ExecutionOutcome, Reply, ReplyKind
from bot.approvals.proposals import action_of
from bot.errors import BotError
from bot.incidents.models import EventType, Incident
from bot.policy.rules import Refusal, refusal_text
from hooks.base import ActionOutput

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService

log = logging.getLogger(__name__)


class OutcomeFlows:
    """The three verify buttons; Slack reaches them through bot.slack.verify_listeners."""

    def __init__(self, service: ApprovalService) -> None:
        self.service = service

    async def verified_ok(self, approval_id: str, user: str) -> Reply:
        """The person checked: the step did what it should. It counts as done; the next plan follows."""
        result = "verified OK by a person after its outcome was unknown"
        taken = await self._take(approval_id, user, ApprovalStatus.SUCCEEDED, result)
        if isinstance(taken, Reply):
            return taken
        approval, incident, _ = taken
        if approval.kind is ApprovalKind.STEP:
            service = self.service
            await service.store.mark_step_done(incident.id, approval.step_id)
            before = await service.recorder.last_diagnostics(incident.id)
            follow_up = service.executor.follow_up(incident, approval, before, service.offer_plan)
            service.tasks.spawn(follow_up, "verified-follow-up", incident.id)
        return Reply(ReplyKind.DONE, f"*{approval.name}* recorded as succeeded (verified by you).")

    async def verified_failed(self, approval_id: str, user: str) -> Reply:
        """The person checked: the step did not work (or did harm). It counts as failed; its rollback is offered."""
        result = "marked failed by a person after its outcome was unknown"
        taken = await self._take(approval_id, user, ApprovalStatus.FAILED, result)
        if isinstance(taken, Reply):
            return taken
        approval, incident, _ = taken
        if approval.kind is not ApprovalKind.STEP:
            return Reply(ReplyKind.DONE, "Recorded as failed. A failed rollback offers nothing further: act by hand.")
        outcome = await self._offer_rollback(approval, incident, result)
        await self.service.presenter.show_result(incident, approval, outcome)
        return Reply(ReplyKind.DONE, f"*{approval.name}* recorded as failed; {outcome.rollback_note}.")

    async def run_again(self, approval_id: str, user: str) -> Reply:
        """Offer the same step again as a fresh request: nothing runs until it is approved under its policy."""
        taken = await self._take(approval_id, user, ApprovalStatus.RERUN, "run again requested")
        if isinstance(taken, Reply):
            return taken
        approval, incident, previous = taken
        try:
            fresh = await self._request_again(approval, incident, user)
        except BaseException:
            # Give the buttons back rather than leave a step nobody can settle.
            await self.service.store.transition(
                approval, [ApprovalStatus.RERUN], previous, self.service.clock(), check_expiry=False
            )
            await self._refresh(approval)
            raise
        await self.service.executor.executions.mark(incident.id, approval.id, rerun_id=fresh.id)
        return Reply(ReplyKind.DONE, f"Offered *{fresh.name}* again: it runs only once someone approves it.")

    async def _request_again(self, approval: Approval, incident: Incident, user: str) -> Approval:
        service = self.service
        if approval.kind is ApprovalKind.ROLLBACK:
            failed = await service.store.get(incident.id, approval.rollback_of)
            if failed is None:
                raise BotError(f"the step {approval.step_id} that this rollback undoes is no longer on record")
            return await service.offer_rollback(incident, failed, action_of(approval))
        return await service.request_step(incident, approval.step_id, user)

    async def _take(
        self, approval_id: str, user: str, target: ApprovalStatus, result: str
    ) -> tuple[Approval, Incident, ApprovalStatus] | Reply:
        """(request, incident, status it had) once this click moved it to `target`; else the reply saying why not."""
        found = await self._unsettled(approval_id, user)
        if isinstance(found, Reply):
            return found
        approval, incident = found
        previous = approval.status
        refused = await self._settle(approval, user, target, result)
        return refused if refused is not None else (approval, incident, previous)

    async def _unsettled(self, approval_id: str, user: str) -> tuple[Approval, Incident] | Reply:
        service = self.service
        approval = await service.store.find(approval_id)
        if approval is None:
            return Reply(ReplyKind.REFUSED, refusal_text(Refusal.UNKNOWN), Refusal.UNKNOWN)
        if not approval.status.is_unsettled:
            by = f" by <@{approval.finished_by}>" if approval.finished_by else ""
            return Reply(ReplyKind.INFO, f"this step was already settled ({approval.status.value}{by}); nothing more")
        incident = await service.incidents.get_incident_or_raise(approval.incident_id)
        if not await service.may_decide(approval, incident, user):
            return await service.refuse(approval, user, Refusal.NOT_APPROVER, service.policy_of(approval).describe())
        return approval, incident

    async def _settle(self, approval: Approval, user: str, target: ApprovalStatus, result: str) -> Reply | None:
        """Move unknown/interrupted → target once; None for the caller that did it, else a reply saying why not."""
        service = self.service
        code = await service.store.transition(
            approval, UNSETTLED, target, service.clock(), check_expiry=False, result=result, finished_by=user
        )
        if code != "ok":
            return Reply(ReplyKind.INFO, f"this step was already settled ({code}); nothing more")
        was = approval.status
        approval.status, approval.result, approval.finished_by = target, result, user
        data = {"was": was.value, "result": result}
        await service.recorder.audit(approval, f"{approval.kind.value}.verified", user, target.value, data)
        summary = f"{approval.name}: {result}"
        await service.recorder.timeline(approval.incident_id, EventType.ACTION, summary, user, approval, data)
        await self._refresh(approval)
        return None

    async def _refresh(self, approval: Approval) -> None:
        await self.service.presenter.refresh(approval)
        record = await self.service.executor.executions.get(approval.incident_id, approval.id)
        outcomes = self.service.executor.notices.outcomes
        if record is not None and outcomes is not None and record.fields.get("verify_ts"):
            await outcomes.refresh_unknown(approval, record.fields["verify_channel"], record.fields["verify_ts"])

    async def _offer_rollback(self, approval: Approval, incident: Incident, result: str) -> ExecutionOutcome:
        service, executor = self.service, self.service.executor
        output = ActionOutput(False, result)
        outcome = ExecutionOutcome(False, result, result, 0.0)
        remediation = service.responder.runbook(approval.runbook_id).remediation(approval.step_id)
        try:
            hook, config = service.responder.prepare_action(action_of(approval), incident)
        except BotError:
            hook, config = None, None
        action = await executor.rollback_action(remediation, hook, config, incident, output)
        return await executor.offer_rollback(incident, approval, action, outcome, service.offer_rollback)

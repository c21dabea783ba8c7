"""Who may decide about a request, whether it may run here at all, and how a refusal is counted and worded."""

from __future__ import annotations

from bot import metrics
from bot.approvals.models import Approval
from bot.approvals.ports import ApprovalPresenter, Reply, ReplyKind
from bot.approvals.proposals import BOT_ACTOR
from bot.approvals.recorder import Recorder
from bot.engine.responder import RunbookResponder
from bot.incidents.models import Incident
from bot.policy.approvers import ApproverPolicy, self_granted_commander
from bot.policy.rules import Refusal, allowed_environments, environment_allowed, kill_switch_refusal, refusal_text
from bot.settings import Settings


class ApprovalGate:
    """The policy checks a click goes through before anything is recorded or run."""

    def __init__(
        self, settings: Settings, responder: RunbookResponder, presenter: ApprovalPresenter, recorder: Recorder
    ) -> None:
        self.settings = settings
        self.responder = responder
        self.presenter = presenter
        self.recorder = recorder

    def policy_of(self, approval: Approval) -> ApproverPolicy:
        """Who may decide about this request."""
        return ApproverPolicy.from_strings(approval.approvers, self.settings.responder_usergroup)

    async def may_decide(self, approval: Approval, incident: Incident, user: str) -> bool:
        """Whether `user` is one of the request's approvers."""
        return await self.policy_of(approval).allows(user, incident, self.presenter.members, approval.created_at)

    async def check(self, approval: Approval, incident: Incident, user: str) -> tuple[Refusal, str] | None:
        """Why `user` may not approve this request now (kill switch, environment, approvers), or None."""
        switch = kill_switch_refusal(self.settings.kill_switch, incident)
        if switch is not None:
            return switch, ""
        runbook = self.responder.runbook(approval.runbook_id)
        remediation = runbook.remediation(approval.step_id)
        allowed = allowed_environments(remediation.safety, runbook.environments) if remediation else []
        if not environment_allowed(incident.environment, allowed):
            return Refusal.ENVIRONMENT, incident.environment
        if user != BOT_ACTOR and not await self.may_decide(approval, incident, user):
            policy = self.policy_of(approval)
            if policy.names_commander() and self_granted_commander(incident, user, approval.created_at):
                return Refusal.SELF_MADE_COMMANDER, f"approvers: {policy.describe()}"
            return Refusal.NOT_APPROVER, await policy.explain(self.presenter.members)
        return None

    async def refuse(self, approval: Approval, user: str, reason: Refusal, detail: str = "") -> Reply:
        """Count, audit and word a refusal for the person who clicked."""
        metrics.REFUSALS.labels(reason.value).inc()
        await self.recorder.audit(approval, "approval.refused", user, reason.value, {"detail": detail})
        return Reply(ReplyKind.REFUSED, refusal_text(reason, detail), reason)

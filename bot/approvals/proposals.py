"""Building approval requests: one per offered step, and one for the rollback of a failed step."""

from __future__ import annotations

import uuid
from typing import Any

from bot.approvals.models import Approval, ApprovalKind, ApprovalStatus, params_hash
from bot.engine.offer import OfferedStep
from bot.engine.responder import RunbookResponder
from bot.incidents.models import Incident
from bot.policy.approvers import parse_entries
from bot.policy.offering import OfferMode, offer_mode
from bot.policy.rules import requester_excluded, required_approvals
from bot.policy.trust import TrustLevel
from bot.runbooks.schema import Action, Remediation, Runbook

BOT_ACTOR = "bot"


def new_id() -> str:
    """An opaque approval id: all a Slack button carries."""
    return uuid.uuid4().hex[:20]


def bind_action(responder: RunbookResponder, action: Action, incident: Incident) -> tuple[str, str]:
    """(what runs, parameter hash) for an action resolved against the incident; raises InvalidInput."""
    hook, config = responder.prepare_action(action, incident)
    what = hook.describe(config, responder.hook_context(incident, None))
    return what, params_hash(action.type, config.model_dump(mode="json"), incident.environment)


def may_run_unattended(remediation: Remediation, level: TrustLevel) -> bool:
    """Automatic only when promoted and the runbook itself waives approval for a reversible step."""
    return offer_mode(remediation, level) is OfferMode.AUTOMATIC


def step_approval(
    responder: RunbookResponder,
    runbook: Runbook,
    step: OfferedStep,
    incident: Incident,
    level: TrustLevel,
    requester: str,
    now: float,
    lifetime_s: float,
) -> Approval:
    """The request for one offered step, in the state its trust level gives it."""
    remediation = runbook.remediation(step.id)
    if remediation is None:
        raise KeyError(step.id)
    safety = remediation.safety
    parse_entries(safety.approvers)  # refuse a bad policy when offering, not when clicking
    action = remediation.action if remediation.kind != "manual" else None
    what, bound = bind_action(responder, action, incident) if action is not None else ("", "")
    status, approved_by = ApprovalStatus.PENDING, []
    if action is not None and level is TrustLevel.SHADOW:
        status = ApprovalStatus.SHADOW
    elif action is not None and may_run_unattended(remediation, level):
        status, approved_by = ApprovalStatus.APPROVED, [BOT_ACTOR]
    return Approval(
        id=new_id(),
        incident_id=incident.id,
        kind=ApprovalKind.STEP if action is not None else ApprovalKind.MANUAL,
        runbook_id=runbook.id,
        step_id=step.id,
        name=step.name,
        environment=incident.environment,
        service=incident.service,
        what_runs=what,
        action=action.model_dump(mode="json") if action is not None else None,
        params_hash=bound,
        approvers=list(safety.approvers),
        required=required_approvals(safety),
        requester=requester,
        exclude_requester=requester_excluded(safety),
        irreversible=safety.irreversible,
        trust=level.value if action is not None else "manual",
        created_at=now,
        expires_at=now + lifetime_s,
        status=status,
        approved_by=approved_by,
        description=step.description,
        reason=step.reason,
        instructions=step.instructions,
        guards=list(step.guards),
    )


def rollback_approval(
    responder: RunbookResponder, failed: Approval, action: Action, incident: Incident, now: float, lifetime_s: float
) -> Approval:
    """The request to undo a failed step: same approvers, proposed by the bot, itself run once."""
    what, bound = bind_action(responder, action, incident)
    return Approval(
        id=new_id(),
        incident_id=incident.id,
        kind=ApprovalKind.ROLLBACK,
        runbook_id=failed.runbook_id,
        step_id=failed.step_id,
        name=f"Roll back: {failed.name}",
        environment=incident.environment,
        service=incident.service,
        what_runs=what,
        action=action.model_dump(mode="json"),
        params_hash=bound,
        approvers=list(failed.approvers),
        required=1,
        requester=BOT_ACTOR,
        exclude_requester=False,
        irreversible=False,
        trust=TrustLevel.APPROVAL.value,
        created_at=now,
        expires_at=now + lifetime_s,
        description=f"Undo {failed.name}: it failed or its expectation did not hold.",
        reason=f"rollback of {failed.step_id}",
        rollback_of=failed.id,
    )


def action_of(approval: Approval) -> Action:
    """The stored action of a request (never None for steps and rollbacks)."""
    data: dict[str, Any] = approval.action or {}
    return Action.model_validate(data)

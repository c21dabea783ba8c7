"""Running one claimed approval: the hook under its timeout, the expectation check, audit, rollback offer, follow-up."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bot import metrics
from bot.approvals.models import Approval, ApprovalKind, ApprovalStatus, params_hash
from bot.approvals.ports import ApprovalPresenter, ExecutionOutcome
from bot.approvals.proposals import action_of
from bot.approvals.recorder import Recorder
from bot.approvals.store import ApprovalStore
from bot.engine.expect import check_expectation
from bot.engine.offer import PlanOutcome
from bot.engine.responder import RunbookResponder
from bot.errors import BotError
from bot.incidents.lifecycle import first_alert_of
from bot.incidents.models import EventType, Incident
from bot.runbooks.schema import Action, Remediation
from hooks.base import ActionHook, ActionOutput

log = logging.getLogger(__name__)
NOTHING_TO_UNDO = "nothing ran, so there is nothing to roll back"

OfferPlan = Callable[[Incident, PlanOutcome], Awaitable[Any]]
# Proposes the rollback of a failed request; returns the new request, or raises BotError when it cannot.
OfferRollback = Callable[[Incident, Approval, Action], Awaitable[Approval]]


class Executor:
    """Runs approved requests that this process has claimed."""

    def __init__(
        self,
        store: ApprovalStore,
        responder: RunbookResponder,
        presenter: ApprovalPresenter,
        recorder: Recorder,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.responder = responder
        self.presenter = presenter
        self.recorder = recorder
        self.clock = clock
        self.owner = uuid.uuid4().hex[:12]

    async def run(
        self, approval: Approval, incident: Incident, offer_rollback: OfferRollback, offer_plan: OfferPlan
    ) -> ExecutionOutcome:
        """Execute once (the claim is already ours), record everything, then roll back or follow up."""
        actor = ",".join(approval.approved_by)
        await self.recorder.audit(approval, f"{approval.kind.value}.execution", actor, "started")
        before = await self.recorder.last_diagnostics(incident.id)
        started = time.monotonic()
        remediation = self.responder.runbook(approval.runbook_id).remediation(approval.step_id)
        output, hook, config = await self._execute(approval, incident, remediation)
        expect = remediation.expect if remediation is not None and approval.kind is ApprovalKind.STEP else None
        passed, verdict = check_expectation(
            output, expect.patterns if expect else [], expect.allow_failure if expect else False
        )
        status = ApprovalStatus.SUCCEEDED if passed else ApprovalStatus.FAILED
        await self.store.transition(
            approval,
            [ApprovalStatus.EXECUTING],
            status,
            self.clock(),
            check_expiry=False,
            result=verdict,
            finished_by=self.owner,
        )
        approval.status, approval.result = status, verdict
        metrics.STEPS_EXECUTED.labels(approval.service, approval.action_name, status.value).inc()
        duration = time.monotonic() - started
        data = {"verdict": verdict, "output": output.output[-2000:], "duration_s": round(duration, 3)}
        await self.recorder.audit(approval, f"{approval.kind.value}.result", actor, status.value, data)
        await self.recorder.timeline(
            incident.id, EventType.ACTION, f"{approval.name}: {status.value} ({verdict})", actor, approval, data
        )
        outcome = ExecutionOutcome(passed, verdict, output.output, duration)
        if not passed and approval.kind is ApprovalKind.STEP and not output.acted:
            outcome = ExecutionOutcome(**{**outcome.__dict__, "rollback_note": NOTHING_TO_UNDO})
        elif not passed and approval.kind is ApprovalKind.STEP:
            rollback = await self._rollback_action(remediation, hook, config, incident, output)
            outcome = await self._offer_rollback(incident, approval, rollback, outcome, offer_rollback)
        await self.presenter.show_result(incident, approval, outcome)
        await self.presenter.refresh(approval)
        if passed and approval.kind is ApprovalKind.STEP:
            await self.store.mark_step_done(incident.id, approval.step_id)
            await self._follow_up(incident, approval, before, offer_plan)
        return outcome

    async def _execute(
        self, approval: Approval, incident: Incident, remediation: Remediation | None
    ) -> tuple[ActionOutput, ActionHook | None, Any]:
        timeout = remediation.timeout if remediation is not None else 300.0
        try:
            hook, config = self.responder.prepare_action(action_of(approval), incident)
        except BotError as exc:  # refused before the hook ran: nothing changed
            return ActionOutput(False, f"{type(exc).__name__}: {exc}", acted=False), None, None
        try:
            bound = params_hash(approval.action_name, config.model_dump(mode="json"), incident.environment)
            if bound != approval.params_hash:
                refused = "refused: the step's parameters changed since it was approved"
                return ActionOutput(False, refused, acted=False), None, None
            ctx = self.responder.hook_context(incident, first_alert_of(incident))
            return await asyncio.wait_for(hook.execute(config, ctx), timeout), hook, config
        except TimeoutError:
            return ActionOutput(False, f"timed out after {timeout:g}s"), None, None
        except BotError as exc:
            return ActionOutput(False, f"{type(exc).__name__}: {exc}"), None, None
        except Exception as exc:
            # A hook bug must still end the request as failed (and offer the rollback), never leave it executing.
            log.exception("action hook crashed", extra={"approval": approval.id, "action": approval.action_name})
            return ActionOutput(False, f"internal error in {approval.action_name}: {type(exc).__name__}"), None, None

    async def _rollback_action(
        self,
        remediation: Remediation | None,
        hook: ActionHook | None,
        config: Any,
        incident: Incident,
        output: ActionOutput,
    ) -> Action | None:
        if remediation is not None and remediation.rollback is not None:
            return remediation.rollback
        if hook is None:
            return None
        spec = hook.rollback(config, self.responder.hook_context(incident, None), output)
        return Action(type=spec.action, config=spec.config) if spec is not None else None

    async def _offer_rollback(
        self,
        incident: Incident,
        failed: Approval,
        action: Action | None,
        outcome: ExecutionOutcome,
        offer_rollback: OfferRollback,
    ) -> ExecutionOutcome:
        if action is None:
            return ExecutionOutcome(**{**outcome.__dict__, "rollback_note": "no rollback is declared for this step"})
        try:
            offered = await offer_rollback(incident, failed, action)
        except BotError as exc:
            return ExecutionOutcome(**{**outcome.__dict__, "rollback_note": f"the rollback cannot be prepared: {exc}"})
        return ExecutionOutcome(**{**outcome.__dict__, "rollback_id": offered.id, "rollback_note": "rollback offered"})

    async def _follow_up(
        self, incident: Incident, approval: Approval, before: dict[str, Any], offer_plan: OfferPlan
    ) -> None:
        """Re-run the diagnostics, show before/after, then offer the next step."""
        try:
            fresh = await self.recorder.incidents.get_incident_or_raise(incident.id)
            after = await self.responder.diagnose(approval.runbook_id, fresh, first_alert_of(fresh))
            await self.recorder.diagnostics(fresh.id, after)
            await self.presenter.show_before_after(fresh, approval, before, after)
            await offer_plan(fresh, self.responder.plan(approval.runbook_id, fresh, after))
        except BotError:
            log.exception("follow-up after a step failed", extra={"approval": approval.id})

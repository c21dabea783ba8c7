"""Running one claimed approval: the hook under its timeout, the expectation check, audit, rollback offer, follow-up."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import metrics
from bot.approvals.executions import ExecutionStore, Owner, claim_fields
from bot.approvals.lease import StepLease
from bot.approvals.localproc import myself, scope
from bot.approvals.models import Approval, ApprovalKind, ApprovalStatus, params_hash
from bot.approvals.notices import OutcomeNotices
from bot.approvals.ports import ApprovalPresenter, ExecutionOutcome, OutcomePresenter
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
from hooks.processes import watching

log = logging.getLogger(__name__)
NOTHING_TO_UNDO = "nothing ran, so there is nothing to roll back"

OfferPlan = Callable[[Incident, PlanOutcome], Awaitable[Any]]
# Proposes the rollback of a failed request; returns the new request, or raises BotError when it cannot.
OfferRollback = Callable[[Incident, Approval, Action], Awaitable[Approval]]

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_LEASE_S = 30.0
# After a step's own timeout, how long shutdown still waits for it before cancelling it outright.
DRAIN_MARGIN_S = 2.0


@dataclass
class Running:
    """A step this process is running: its task, its deadline (loop time) and whether the action is still on."""

    task: asyncio.Task[Any]
    deadline: float
    acting: bool = True


async def drain_running(running: dict[str, Running], margin_s: float, settle_s: float = 10.0) -> None:
    """Give each step up to its deadline plus `margin_s`, cancel one still acting, then let all finish marking.

    A step whose action has ended leaves `running` (and stops `acting`) before it records its outcome and
    announces it. The wait below covers every step seen at the start, so a shutdown never cancels one
    half-way through marking itself interrupted.
    """
    loop = asyncio.get_running_loop()
    seen = list(running.values())
    for step in seen:
        await asyncio.wait({step.task}, timeout=max(0.0, step.deadline + margin_s - loop.time()))
        if not step.task.done() and step.acting:
            step.task.cancel()
    pending = {s.task for s in [*seen, *running.values()] if not s.task.done()}
    if pending:
        await asyncio.wait(pending, timeout=settle_s)


@dataclass(frozen=True)
class Executed:
    """What running the hook gave."""

    output: ActionOutput
    hook: ActionHook | None
    config: Any
    timed_out: bool = False


class Executor:
    """Runs approved requests that this process has claimed."""

    def __init__(
        self,
        store: ApprovalStore,
        responder: RunbookResponder,
        presenter: ApprovalPresenter,
        recorder: Recorder,
        clock: Callable[[], float] = time.time,
        lease_s: float = DEFAULT_LEASE_S,
        outcomes: OutcomePresenter | None = None,
    ) -> None:
        self.store = store
        self.responder = responder
        self.presenter = presenter
        self.recorder = recorder
        self.clock = clock
        self.lease_s = lease_s
        self.owner = uuid.uuid4().hex[:12]
        self.identity = Owner(self.owner, scope(), myself())
        self.executions = ExecutionStore(store.redis, store.keys)
        self.notices = OutcomeNotices(store, self.executions, recorder, presenter, outcomes, clock)
        self.running: dict[str, Running] = {}
        self.stopping = False

    async def claim(self, approval: Approval) -> str:
        """Claim the one execution with its lease on record; enlisted first, so a claimed one is always found."""
        now = self.clock()
        await self.executions.enlist(approval.incident_id, approval.id, now + self.lease_s)
        fields = claim_fields(self.identity, now, self.lease_s, self._timeout(approval))
        return await self.store.claim_execution(approval, self.owner, now, fields)

    async def run(
        self, approval: Approval, incident: Incident, offer_rollback: OfferRollback, offer_plan: OfferPlan
    ) -> ExecutionOutcome | None:
        """Execute once (the claim is already ours), record everything, then roll back or follow up."""
        task = asyncio.current_task()
        assert task is not None
        # The lease is renewed from the first moment: nothing below may let it lapse while this replica lives.
        lease = StepLease(self.executions, self.identity, incident.id, approval.id, self.lease_s, self.clock, task)
        lease.start()
        try:
            actor = ",".join(approval.approved_by)
            await self.recorder.audit(approval, f"{approval.kind.value}.execution", actor, "started")
            running = f"{approval.name}: running"
            await self.recorder.timeline(incident.id, EventType.ACTION, running, actor, approval, {"owner": self.owner})
            before = await self.recorder.last_diagnostics(incident.id)
            started = time.monotonic()
            remediation = self.responder.runbook(approval.runbook_id).remediation(approval.step_id)
            executed = await self._supervised(approval, incident, lease)
        finally:
            await lease.close()
        if executed is None:
            return None
        output, hook, config = executed.output, executed.hook, executed.config
        expect = remediation.expect if remediation is not None and approval.kind is ApprovalKind.STEP else None
        passed, verdict = check_expectation(
            output, expect.patterns if expect else [], expect.allow_failure if expect else False
        )
        status = ApprovalStatus.SUCCEEDED if passed else ApprovalStatus.FAILED
        code = await self.store.transition(
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
        if code != "ok":
            # Settled as unknown while it ran (its lease lapsed): say what happened, leave the verdict to a person.
            data["late"] = code
        await self.recorder.audit(approval, f"{approval.kind.value}.result", actor, status.value, data)
        await self.recorder.timeline(
            incident.id, EventType.ACTION, f"{approval.name}: {status.value} ({verdict})", actor, approval, data
        )
        if code == "ok":
            await self.executions.discharge(incident.id, approval.id)
        outcome = ExecutionOutcome(passed, verdict, output.output, duration)
        if not passed and approval.kind is ApprovalKind.STEP and not output.acted:
            outcome = ExecutionOutcome(**{**outcome.__dict__, "rollback_note": NOTHING_TO_UNDO})
        elif not passed and approval.kind is ApprovalKind.STEP and code == "ok":
            rollback = await self.rollback_action(remediation, hook, config, incident, output)
            outcome = await self.offer_rollback(incident, approval, rollback, outcome, offer_rollback)
        await self.presenter.show_result(incident, approval, outcome)
        await self.presenter.refresh(approval)
        if passed and approval.kind is ApprovalKind.STEP and code == "ok":
            await self.store.mark_step_done(incident.id, approval.step_id)
            await self.follow_up(incident, approval, before, offer_plan)
        return outcome

    async def drain(self, margin_s: float = DRAIN_MARGIN_S) -> None:
        """Shutdown: claim nothing more; give each running step up to its own timeout, then stop it (marked)."""
        self.stopping = True
        await drain_running(self.running, margin_s)

    async def _supervised(self, approval: Approval, incident: Incident, lease: StepLease) -> Executed | None:
        """Run the hook under the lease; None when the step was interrupted (and marked so)."""
        timeout = self._timeout(approval)
        running = self.running[approval.id] = Running(lease.task, asyncio.get_running_loop().time() + timeout)
        try:
            # Still ours? A lease lost before the action starts cancels it here, before anything runs.
            await lease.renew_once()
            with watching(lease.on_process):
                executed = await self._execute(approval, incident, timeout)
        except asyncio.CancelledError:
            await lease.close()
            await self._interrupted(approval, lease.lost or "the bot stopped while it ran; its processes were killed")
            raise
        finally:
            running.acting = False
            self.running.pop(approval.id, None)
        await lease.close()
        if executed.timed_out and self.stopping:
            why = f"the bot was stopping and the step ran to its timeout ({timeout:g}s); its processes were killed"
            await self._interrupted(approval, why)
            return None
        return executed

    async def _interrupted(self, approval: Approval, why: str) -> None:
        """Mark a step this process stopped mid-way, then announce it for a person to verify."""
        try:
            code = await self.store.transition(
                approval, [ApprovalStatus.EXECUTING], ApprovalStatus.INTERRUPTED, self.clock(),
                check_expiry=False, result=why, finished_by=self.owner,
            )  # fmt: skip
            if code != "ok":
                return
            approval.status, approval.result = ApprovalStatus.INTERRUPTED, why
            metrics.STEPS_EXECUTED.labels(approval.service, approval.action_name, "interrupted").inc()
            await self.executions.enlist(approval.incident_id, approval.id, self.clock())
            await self.notices.announce(approval.incident_id, approval.id)
        except BotError:
            # The lease lapses and any replica's sweep announces it instead.
            log.exception("could not mark an interrupted step", extra={"approval": approval.id})

    def _timeout(self, approval: Approval) -> float:
        try:
            remediation = self.responder.runbook(approval.runbook_id).remediation(approval.step_id)
        except BotError:
            remediation = None
        return remediation.timeout if remediation is not None else DEFAULT_TIMEOUT_S

    async def _execute(self, approval: Approval, incident: Incident, limit_s: float) -> Executed:
        try:
            hook, config = self.responder.prepare_action(action_of(approval), incident)
        except BotError as exc:  # refused before the hook ran: nothing changed
            return Executed(ActionOutput(False, f"{type(exc).__name__}: {exc}", acted=False), None, None)
        try:
            bound = params_hash(approval.action_name, config.model_dump(mode="json"), incident.environment)
            if bound != approval.params_hash:
                refused = "refused: the step's parameters changed since it was approved"
                return Executed(ActionOutput(False, refused, acted=False), None, None)
            ctx = self.responder.hook_context(incident, first_alert_of(incident))
            return Executed(await asyncio.wait_for(hook.execute(config, ctx), limit_s), hook, config)
        except TimeoutError:
            return Executed(ActionOutput(False, f"timed out after {limit_s:g}s"), None, None, timed_out=True)
        except BotError as exc:
            return Executed(ActionOutput(False, f"{type(exc).__name__}: {exc}"), None, None)
        except Exception as exc:
            # A hook bug must still end the request as failed (and offer the rollback), never leave it executing.
            log.exception("action hook crashed", extra={"approval": approval.id, "action": approval.action_name})
            output = ActionOutput(False, f"internal error in {approval.action_name}: {type(exc).__name__}")
            return Executed(output, None, None)

    async def rollback_action(
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

    async def offer_rollback(
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

    async def follow_up(
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

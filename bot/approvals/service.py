"""Approval flows: offer steps, approve under policy, dry run, skip, mark done, expire; execution is exactly once."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot import metrics
from bot.approvals.execute import Executor
from bot.approvals.models import UNSETTLED, Approval, ApprovalKind, ApprovalStatus
from bot.approvals.ports import ApprovalPresenter, ExpiryTimers, OutcomePresenter, Reply, ReplyKind
from bot.approvals.proposals import BOT_ACTOR, action_of, rollback_approval, step_approval
from bot.approvals.recorder import Recorder
from bot.approvals.store import ApprovalGroup, ApprovalStore
from bot.approvals.sweep import ExecutionSweeper
from bot.approvals.verify import OutcomeFlows
from bot.engine.offer import PlanOutcome
from bot.engine.plan import PlannedStep, guards
from bot.engine.responder import RunbookResponder
from bot.errors import BotError, InvalidInput
from bot.incidents.models import EventType, Incident
from bot.incidents.store import IncidentStore
from bot.policy.approvers import ApproverPolicy, self_granted_commander
from bot.policy.rules import (
    ActionRateLimit,
    Refusal,
    allowed_environments,
    environment_allowed,
    kill_switch_refusal,
    refusal_text,
)
from bot.policy.trust import TrustBook
from bot.runbooks.schema import Action
from bot.settings import Settings
from bot.tasks import TaskSupervisor

log = logging.getLogger(__name__)

EXPIRY_TIMER = "approval-expiry"
DEFAULT_LIFETIME_S = 120.0
OPEN = (ApprovalStatus.PENDING, ApprovalStatus.SHADOW)


class ApprovalService:
    """Every approval flow; Slack reaches it through the presenter and the listeners only."""

    def __init__(
        self,
        store: ApprovalStore,
        incidents: IncidentStore,
        responder: RunbookResponder,
        presenter: ApprovalPresenter,
        rate: ActionRateLimit,
        trust: TrustBook,
        settings: Settings,
        tasks: TaskSupervisor,
        timers: ExpiryTimers | None = None,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        clock: Callable[[], float] = time.time,
        outcomes: OutcomePresenter | None = None,
    ) -> None:
        self.store = store
        self.incidents = incidents
        self.responder = responder
        self.presenter = presenter
        self.rate = rate
        self.trust = trust
        self.settings = settings
        self.tasks = tasks
        self.timers = timers
        self.lifetime_s = lifetime_s
        self.clock = clock
        self.recorder = Recorder(incidents)
        lease_s = settings.execution_lease_s
        self.executor = Executor(store, responder, presenter, self.recorder, clock, lease_s, outcomes)
        executor = self.executor
        self.sweeper = ExecutionSweeper(executor.executions, executor.identity, executor.notices, clock, lease_s / 2)
        self.verify = OutcomeFlows(self)

    async def start_executions(self) -> None:
        """Start-up: settle steps whose owner died (and reap their processes on this host), then sweep leases."""
        await self.sweeper.recover()
        self.sweeper.start()

    async def stop_executions(self) -> None:
        """Shutdown: running steps get up to their own timeout, then are stopped and marked interrupted."""
        await self.executor.drain()
        await self.sweeper.stop()

    # -- offering ------------------------------------------------------------

    async def offer_plan(self, incident: Incident, plan: PlanOutcome, requester: str = BOT_ACTOR) -> list[Approval]:
        """A request per offered step not yet done nor open: post them, arm their expiry, start automatic ones."""
        runbook = self.responder.runbook(plan.runbook_id)
        done = await self.store.done_steps(incident.id)
        now, notes = self.clock(), list(plan.notes)
        approvals: list[Approval] = []
        for step in plan.steps:
            if step.id in done or await self._still_open(incident.id, step.id, now):
                continue
            level = self.trust.level(runbook.id, step.id, incident.environment)
            try:
                approvals.append(
                    step_approval(self.responder, runbook, step, incident, level, requester, now, self.lifetime_s)
                )
            except BotError as exc:
                notes.append(f"{step.id} not offered: {exc}")
        group = ApprovalGroup(uuid.uuid4().hex[:12], plan.runbook_name, [a.id for a in approvals], notes)
        await self._publish(incident, approvals, group)
        for approval in approvals:
            if approval.status is ApprovalStatus.APPROVED:
                self.tasks.spawn(self._start(approval, incident, BOT_ACTOR), "automatic-step", incident.id)
        return approvals

    async def request_step(self, incident: Incident, step_id: str, user: str) -> Approval:
        """A person asks for one step of the incident's runbook; they become its requester (four-eyes)."""
        if not incident.runbook_id:
            raise InvalidInput(f"{incident.id} has no runbook, so it has no steps to request")
        runbook = self.responder.runbook(incident.runbook_id)
        remediation = runbook.remediation(step_id)
        if remediation is None:
            raise InvalidInput(f"runbook {runbook.id} has no step {step_id!r}", fields=["step"])
        planned = PlannedStep(remediation, "request", f"requested by <@{user}>", guards(remediation))
        step = self.responder.offer(planned, incident)
        level = self.trust.level(runbook.id, step.id, incident.environment)
        approval = step_approval(self.responder, runbook, step, incident, level, user, self.clock(), self.lifetime_s)
        if approval.status is ApprovalStatus.APPROVED:
            approval.status, approval.approved_by = ApprovalStatus.PENDING, []  # a person asked: a person approves
        group = ApprovalGroup(uuid.uuid4().hex[:12], runbook.name, [approval.id], title=f"requested by <@{user}>")
        await self._publish(incident, [approval], group)
        return approval

    async def offer_rollback(self, incident: Incident, failed: Approval, action: Action) -> Approval:
        """Propose the rollback of a failed step as a new request that itself runs once."""
        proposal = rollback_approval(self.responder, failed, action, incident, self.clock(), self.lifetime_s)
        group = ApprovalGroup(uuid.uuid4().hex[:12], failed.runbook_id, [proposal.id], title="rollback offered")
        await self._publish(incident, [proposal], group)
        return proposal

    async def _publish(self, incident: Incident, approvals: Sequence[Approval], group: ApprovalGroup) -> None:
        for a in approvals:
            a.group = group.id
        await self.store.create(approvals, group)
        for a in approvals:
            outcome = "shadow" if a.status is ApprovalStatus.SHADOW else a.trust
            await self.recorder.audit(a, f"{a.kind.value}.proposed", a.requester, outcome, {"what_runs": a.what_runs})
        if approvals:
            summary = "proposed: " + ", ".join(f"{a.step_id} ({a.trust})" for a in approvals)
            await self.recorder.timeline(incident.id, EventType.APPROVAL, summary, BOT_ACTOR, approvals[0])
        where = await self.presenter.show_plan(incident, group, approvals)
        if where is not None:
            await self.store.bind_message(approvals, *where)
        for a in approvals:
            if a.status in OPEN:
                await self._arm_expiry(a)

    async def _still_open(self, incident_id: str, step_id: str, now: float) -> bool:
        latest = await self.store.latest_for_step(incident_id, step_id)
        return (
            latest is not None
            and latest.status in (*OPEN, ApprovalStatus.APPROVED, ApprovalStatus.EXECUTING, *UNSETTLED)
            # A step whose outcome nobody knows is never offered again until a person settles it.
            and (latest.expires_at > now or latest.status in (ApprovalStatus.EXECUTING, *UNSETTLED))
        )

    # -- clicks --------------------------------------------------------------

    async def approve(self, approval_id: str, user: str) -> Reply:
        """A person clicks Approve: refuse, wait for a second approver, or claim and start the one execution."""
        found = await self._open_request(approval_id, user)
        if isinstance(found, Reply):
            return found
        approval, incident = found
        if approval.kind is ApprovalKind.MANUAL or approval.status is ApprovalStatus.SHADOW:
            return Reply(ReplyKind.INFO, "this step has nothing to approve here")
        refusal = await self._gate(approval, incident, user)
        if refusal is not None:
            return await self.refuse(approval, user, *refusal)
        recorded = await self.store.record_approval(approval, user, self.clock())
        if recorded.code in ("self", "same"):
            reason = Refusal.SELF_APPROVAL if recorded.code == "self" else Refusal.SAME_APPROVER
            return await self.refuse(approval, user, reason)
        if recorded.code == "expired":
            return await self._expired(approval, user)
        approval.approved_by = recorded.approved_by
        if recorded.code == "waiting":
            await self.recorder.audit(approval, "approval.approved", user, "waiting")
            await self.presenter.refresh(approval)
            return Reply(
                ReplyKind.WAITING,
                f"Approved; waiting for {approval.required - len(recorded.approved_by)} more approver(s).",
            )
        if recorded.code == "now_approved":
            metrics.APPROVAL_SECONDS.labels(approval.action_name).observe(max(0.0, self.clock() - approval.created_at))
            await self.recorder.audit(approval, "approval.approved", user, "approved")
            await self.recorder.timeline(incident.id, EventType.APPROVAL, f"{approval.name} approved", user, approval)
        if recorded.code in ("now_approved", ApprovalStatus.APPROVED.value):
            return await self._start(approval, incident, user)
        return Reply(ReplyKind.INFO, f"this step is already {recorded.code}; nothing more runs")

    async def dry_run(self, approval_id: str, user: str) -> Reply:
        """Exactly what would run, for the clicker only; nothing runs."""
        approval = await self.store.find(approval_id)
        if approval is None or approval.action is None:
            return Reply(
                ReplyKind.INFO,
                refusal_text(Refusal.UNKNOWN) if approval is None else "a manual step: see its instructions",
            )
        incident = await self.incidents.get_incident_or_raise(approval.incident_id)
        hook, config = self.responder.prepare_action(action_of(approval), incident)
        ctx = self.responder.hook_context(incident, None)
        ctx.dry_run = True
        output = await hook.execute(config, ctx)
        await self.recorder.audit(approval, "step.dry_run", user, "described")
        return Reply(ReplyKind.INFO, f"Dry run of *{approval.name}*: {output.output}")

    async def skip(self, approval_id: str, user: str) -> Reply:
        """An approver declines the step; its buttons go."""
        found = await self._open_request(approval_id, user)
        if isinstance(found, Reply):
            return found
        approval, incident = found
        if not await self.may_decide(approval, incident, user):
            return await self.refuse(approval, user, Refusal.NOT_APPROVER, self.policy_of(approval).describe())
        return await self._close(approval, user, ApprovalStatus.SKIPPED, "approval.skipped", "Skipped.")

    async def mark_done(self, approval_id: str, user: str) -> Reply:
        """A person says they did a manual step."""
        found = await self._open_request(approval_id, user)
        if isinstance(found, Reply):
            return found
        approval, _ = found
        reply = await self._close(approval, user, ApprovalStatus.DONE, "step.marked_done", "Marked done.")
        if reply.kind is ReplyKind.DONE:
            await self.store.mark_step_done(approval.incident_id, approval.step_id)
        return reply

    # -- expiry --------------------------------------------------------------

    async def expire(self, incident_id: str, approval_id: str) -> bool:
        """Expire a request whose time is up (once across replicas): audit it and replace its buttons."""
        if not await self.store.expire(incident_id, approval_id, self.clock()):
            return False
        approval = await self.store.get(incident_id, approval_id)
        if approval is not None:
            await self.recorder.audit(approval, "approval.expired", BOT_ACTOR, "expired")
            await self.presenter.refresh(approval)
        return True

    async def on_expiry_timer(self, timer: Any) -> None:
        """Handler for the durable `approval-expiry` timer."""
        await self.expire(timer.payload["incident"], timer.payload["approval"])

    async def _arm_expiry(self, approval: Approval) -> None:
        if self.timers is not None:
            due = datetime.fromtimestamp(approval.expires_at, UTC)
            payload = {"incident": approval.incident_id, "approval": approval.id}
            await self.timers.arm(f"approval:{approval.id}", due, EXPIRY_TIMER, payload, approval.incident_id)
            return
        self.tasks.spawn(self._expire_later(approval), "approval-expiry", approval.incident_id, timer=True)

    async def _expire_later(self, approval: Approval) -> None:
        await asyncio.sleep(max(0.0, approval.expires_at - self.clock()) + 0.05)
        await self.expire(approval.incident_id, approval.id)

    # -- internals -----------------------------------------------------------

    async def _open_request(self, approval_id: str, user: str) -> tuple[Approval, Incident] | Reply:
        approval = await self.store.find(approval_id)
        if approval is None:
            return Reply(ReplyKind.REFUSED, refusal_text(Refusal.UNKNOWN), Refusal.UNKNOWN)
        if approval.status in (*OPEN, ApprovalStatus.APPROVED) and approval.expires_at <= self.clock():
            return await self._expired(approval, user)
        if approval.status.is_final:
            return Reply(ReplyKind.INFO, refusal_text(Refusal.CLOSED, approval.status.value))
        return approval, await self.incidents.get_incident_or_raise(approval.incident_id)

    def policy_of(self, approval: Approval) -> ApproverPolicy:
        """Who may decide about this request."""
        return ApproverPolicy.from_strings(approval.approvers, self.settings.responder_usergroup)

    async def may_decide(self, approval: Approval, incident: Incident, user: str) -> bool:
        """Whether `user` is one of the request's approvers."""
        return await self.policy_of(approval).allows(user, incident, self.presenter.members, approval.created_at)

    async def _gate(self, approval: Approval, incident: Incident, user: str) -> tuple[Refusal, str] | None:
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

    async def _start(self, approval: Approval, incident: Incident, actor: str) -> Reply:
        fresh = await self.incidents.get_incident_or_raise(incident.id)
        switch = kill_switch_refusal(self.settings.kill_switch, fresh)
        if switch is not None:
            return await self.refuse(approval, actor, switch)
        remediation = self.responder.runbook(approval.runbook_id).remediation(approval.step_id)
        limit = remediation.safety.max_per_hour if remediation is not None else None
        if limit is not None:
            taken = await self.rate.take(approval.service, approval.action_name, limit, approval.id, self.clock())
            if not taken.allowed:
                detail = (
                    f"{approval.action_name} on {approval.service} ran {taken.used} time(s) this hour (max {limit})"
                )
                await self.store.transition(
                    approval, [ApprovalStatus.APPROVED], ApprovalStatus.REFUSED, self.clock(), result=detail
                )
                await self.presenter.refresh(approval)
                return await self.refuse(approval, actor, Refusal.RATE_LIMITED, detail)
        if self.executor.stopping:
            return Reply(ReplyKind.INFO, "this bot replica is stopping; click Approve again in a moment")
        code = await self.executor.claim(approval)
        if code == "expired":
            return await self._expired(approval, actor)
        if code != "ok":
            return Reply(ReplyKind.INFO, f"this step is already {code}; it runs only once")
        approval.status = ApprovalStatus.EXECUTING
        await self.presenter.refresh(approval)
        self.tasks.spawn(
            self.executor.run(approval, fresh, self.offer_rollback, self.offer_plan), "execute-step", incident.id
        )
        return Reply(ReplyKind.RUNNING, f"Approved: running *{approval.name}* now.")

    async def _close(self, approval: Approval, user: str, target: ApprovalStatus, audit: str, text: str) -> Reply:
        code = await self.store.transition(approval, OPEN, target, self.clock(), finished_by=user)
        if code == "expired":
            return await self._expired(approval, user)
        if code != "ok":
            return Reply(ReplyKind.INFO, refusal_text(Refusal.CLOSED, code))
        approval.status, approval.finished_by = target, user
        await self.recorder.audit(approval, audit, user, target.value)
        await self.recorder.timeline(
            approval.incident_id, EventType.APPROVAL, f"{approval.name}: {target.value}", user, approval
        )
        await self.presenter.refresh(approval)
        return Reply(ReplyKind.DONE, text)

    async def _expired(self, approval: Approval, user: str) -> Reply:
        await self.expire(approval.incident_id, approval.id)
        return await self.refuse(approval, user, Refusal.EXPIRED)

    async def refuse(self, approval: Approval, user: str, reason: Refusal, detail: str = "") -> Reply:
        """Count, audit and word a refusal for the person who clicked."""
        metrics.REFUSALS.labels(reason.value).inc()
        await self.recorder.audit(approval, "approval.refused", user, reason.value, {"detail": detail})
        return Reply(ReplyKind.REFUSED, refusal_text(reason, detail), reason)

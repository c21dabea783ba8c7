"""Approval flows: offer steps, approve under policy, dry run, skip, mark done, expire; execution is exactly once.

The service builds the parts and is the one object the rest of the bot holds: offering lives in
bot.approvals.offering, the request buttons in bot.approvals.decisions, the policy checks in
bot.approvals.gate, expiry in bot.approvals.expiry, and the verify buttons in bot.approvals.verify.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.approvals.decisions import DecisionFlows
from bot.approvals.execute import Executor
from bot.approvals.expiry import EXPIRY_TIMER, RequestExpiry
from bot.approvals.gate import ApprovalGate
from bot.approvals.models import OPEN, Approval
from bot.approvals.offering import OfferFlows
from bot.approvals.ports import ApprovalPresenter, ExpiryTimers, OutcomePresenter, Reply
from bot.approvals.proposals import BOT_ACTOR
from bot.approvals.recorder import Recorder
from bot.approvals.store import ApprovalStore
from bot.approvals.sweep import ExecutionSweeper
from bot.approvals.verify import OutcomeFlows
from bot.engine.offer import PlanOutcome
from bot.engine.responder import RunbookResponder
from bot.incidents.models import Incident
from bot.incidents.store import IncidentStore
from bot.policy.approvers import ApproverPolicy
from bot.policy.rules import ActionRateLimit, Refusal
from bot.policy.trust import TrustBook
from bot.runbooks.schema import Action
from bot.settings import Settings
from bot.tasks import TaskSupervisor

# Importable from here as before the split.
__all__ = ["DEFAULT_LIFETIME_S", "EXPIRY_TIMER", "OPEN", "ApprovalService"]

DEFAULT_LIFETIME_S = 120.0


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
        self.gate = ApprovalGate(settings, responder, presenter, self.recorder)
        self.expiry = RequestExpiry(store, self.recorder, presenter, tasks, timers, clock)
        self.offers = OfferFlows(self)
        self.decisions = DecisionFlows(self)
        self.verify = OutcomeFlows(self)

    async def start_executions(self) -> None:
        """Start-up: settle steps whose owner died (and reap their processes on this host), then sweep leases."""
        await self.sweeper.recover()
        self.sweeper.start()

    async def stop_executions(self) -> None:
        """Shutdown: running steps get up to their own timeout, then are stopped and marked interrupted."""
        await self.executor.drain()
        await self.sweeper.stop()

    # -- offering (bot.approvals.offering) -----------------------------------

    async def offer_plan(self, incident: Incident, plan: PlanOutcome, requester: str = BOT_ACTOR) -> list[Approval]:
        """A request per offered step not yet done nor open: post them, arm their expiry, start automatic ones."""
        return await self.offers.offer_plan(incident, plan, requester)

    async def request_step(self, incident: Incident, step_id: str, user: str) -> Approval:
        """A person asks for one step of the incident's runbook; they become its requester (four-eyes)."""
        return await self.offers.request_step(incident, step_id, user)

    async def offer_rollback(self, incident: Incident, failed: Approval, action: Action) -> Approval:
        """Propose the rollback of a failed step as a new request that itself runs once."""
        return await self.offers.offer_rollback(incident, failed, action)

    # -- clicks (bot.approvals.decisions) ------------------------------------

    async def approve(self, approval_id: str, user: str) -> Reply:
        """A person clicks Approve: refuse, wait for a second approver, or claim and start the one execution."""
        return await self.decisions.approve(approval_id, user)

    async def dry_run(self, approval_id: str, user: str) -> Reply:
        """Exactly what would run, for the clicker only; nothing runs."""
        return await self.decisions.dry_run(approval_id, user)

    async def skip(self, approval_id: str, user: str) -> Reply:
        """An approver declines the step; its buttons go."""
        return await self.decisions.skip(approval_id, user)

    async def mark_done(self, approval_id: str, user: str) -> Reply:
        """A person says they did a manual step."""
        return await self.decisions.mark_done(approval_id, user)

    # -- expiry (bot.approvals.expiry) ---------------------------------------

    async def expire(self, incident_id: str, approval_id: str) -> bool:
        """Expire a request whose time is up (once across replicas): audit it and replace its buttons."""
        return await self.expiry.expire(incident_id, approval_id)

    async def on_expiry_timer(self, timer: Any) -> None:
        """Handler for the durable `approval-expiry` timer."""
        await self.expiry.on_expiry_timer(timer)

    # -- policy (bot.approvals.gate) -----------------------------------------

    def policy_of(self, approval: Approval) -> ApproverPolicy:
        """Who may decide about this request."""
        return self.gate.policy_of(approval)

    async def may_decide(self, approval: Approval, incident: Incident, user: str) -> bool:
        """Whether `user` is one of the request's approvers."""
        return await self.gate.may_decide(approval, incident, user)

    async def refuse(self, approval: Approval, user: str, reason: Refusal, detail: str = "") -> Reply:
        """Count, audit and word a refusal for the person who clicked."""
        return await self.gate.refuse(approval, user, reason, detail)

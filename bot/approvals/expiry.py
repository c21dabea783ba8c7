"""Requests expire when their time is up: a durable timer when there is one, else a task on this replica."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.approvals.models import Approval
from bot.approvals.ports import ApprovalPresenter, ExpiryTimers
from bot.approvals.proposals import BOT_ACTOR
from bot.approvals.recorder import Recorder
from bot.approvals.store import ApprovalStore
from bot.tasks import TaskSupervisor

EXPIRY_TIMER = "approval-expiry"


class RequestExpiry:
    """Arms each open request's expiry and expires it once across replicas."""

    def __init__(
        self,
        store: ApprovalStore,
        recorder: Recorder,
        presenter: ApprovalPresenter,
        tasks: TaskSupervisor,
        timers: ExpiryTimers | None,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.presenter = presenter
        self.tasks = tasks
        self.timers = timers
        self.clock = clock

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

    async def arm(self, approval: Approval) -> None:
        """Expire the request at its `expires_at`."""
        if self.timers is not None:
            due = datetime.fromtimestamp(approval.expires_at, UTC)
            payload = {"incident": approval.incident_id, "approval": approval.id}
            await self.timers.arm(f"approval:{approval.id}", due, EXPIRY_TIMER, payload, approval.incident_id)
            return
        self.tasks.spawn(self._expire_later(approval), "approval-expiry", approval.incident_id, timer=True)

    async def _expire_later(self, approval: Approval) -> None:
        await asyncio.sleep(max(0.0, approval.expires_at - self.clock()) + 0.05)
        await self.expire(approval.incident_id, approval.id)

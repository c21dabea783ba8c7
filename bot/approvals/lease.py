"""The owner's side of one running step: renew its lease, record its process groups, stop it if the lease is lost.

The lease governs the step: when it cannot be renewed before it lapses, or the record says someone else
settled it, the step is cancelled (its process group dies with it) before any other replica may call its
outcome unknown. A renewal that hangs counts as a failed one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bot.approvals.executions import ExecutionStore, Owner
from bot.approvals.localproc import ProcessId, start_ticks
from bot.errors import StoreError

log = logging.getLogger(__name__)


class StepLease:
    """Heartbeat and process bookkeeping of one claimed execution, owned by the task that runs it."""

    def __init__(
        self,
        executions: ExecutionStore,
        owner: Owner,
        incident_id: str,
        approval_id: str,
        lease_s: float,
        clock: Callable[[], float],
        task: asyncio.Task[Any],
    ) -> None:
        self.executions = executions
        self.owner = owner
        self.incident_id = incident_id
        self.approval_id = approval_id
        self.lease_s = lease_s
        self.clock = clock
        self.task = task
        self.held_until = clock() + lease_s
        self.lost = ""
        self._beat: asyncio.Task[None] | None = None
        self._recorded = False

    def start(self) -> None:
        """Begin renewing every third of the lease."""
        self._beat = asyncio.create_task(self._heartbeat(), name=f"lease:{self.approval_id}")

    async def on_process(self, pgid: int) -> None:
        """Process watcher: record the group before the step goes on (a failure here stops the step)."""
        group = ProcessId(pgid, start_ticks(pgid) or 0)
        await self.executions.record_group(self.incident_id, self.approval_id, self.owner, group)
        self._recorded = True

    async def close(self) -> None:
        """Stop renewing; the step's process groups are dead by now, so nothing is left to reap."""
        if self._beat is not None:
            self._beat.cancel()
            # asyncio.wait, not `await task`: a cancellation of the caller itself must still reach the caller.
            await asyncio.wait({self._beat})
            self._beat = None
        if self._recorded:
            try:
                await self.executions.forget_group(self.approval_id, self.owner.scope)
                self._recorded = False
            except StoreError:
                # Harmless: a later reaper finds the group empty and drops the entry.
                log.warning("could not forget a finished process group", extra={"approval": self.approval_id})

    async def renew_once(self) -> bool:
        """One renewal; False (and the step cancelled) once the lease is lost or about to lapse unrenewed."""
        interval = self.lease_s / 3
        now = self.clock()
        try:
            code = await asyncio.wait_for(
                self.executions.renew(self.incident_id, self.approval_id, self.owner.replica, now + self.lease_s),
                interval,
            )
        except (StoreError, TimeoutError) as exc:
            if self.clock() + interval < self.held_until:
                log.warning("lease renewal failed; retrying", extra={"approval": self.approval_id, "error": str(exc)})
                return True
            code = f"not renewed before it lapsed ({exc or 'timeout'})"
        if code == "ok":
            self.held_until = now + self.lease_s
            return True
        self.lost = f"lease lost: {code}"
        log.error("execution lease lost; stopping the step", extra={"approval": self.approval_id, "why": code})
        self.task.cancel()
        return False

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not await self.renew_once():
                return

"""Finding executions whose owner is gone: at start-up (same host, at once) and by a periodic lease sweep.

Nothing found here ever runs again: a lost execution becomes `unknown` and is announced for a person to
verify. At start-up the replica also kills the process groups that steps of dead bot processes on this
host (same boot, same PID namespace) left behind, so no action keeps running unsupervised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.approvals.executions import ExecutionRecord, ExecutionRef, ExecutionStore, Owner
from bot.approvals.localproc import ReapOutcome, is_alive, reap_group
from bot.approvals.notices import OutcomeNotices
from bot.errors import BotError
from bot.waits import wait_event

log = logging.getLogger(__name__)

STOP_WITHIN_S = 5.0


class ExecutionSweeper:
    """Settles lost executions and reaps orphaned process groups; one per process."""

    def __init__(
        self,
        executions: ExecutionStore,
        owner: Owner,
        notices: OutcomeNotices,
        clock: Callable[[], float],
        interval_s: float,
    ) -> None:
        self.executions = executions
        self.owner = owner
        self.notices = notices
        self.clock = clock
        self.interval_s = interval_s
        self._loop: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def recover(self) -> None:
        """Start-up: reap orphans on this host and settle executions whose owner here is dead (start() announces)."""
        await self.reap()
        for ref in await self.executions.everything():
            record = await self.executions.get(ref.incident_id, ref.approval_id)
            if record is not None and self._owner_dead_here(record):
                pid = record.owner_process.pid
                why = f"the bot process that ran it (pid {pid}) ended while it ran"
                await self._settle(ref, record, record.owner, why)

    async def sweep_once(self) -> int:
        """Settle and announce every execution whose lease lapsed; returns how many were announced."""
        announced = 0
        now = self.clock()
        for ref in await self.executions.due(now):
            try:
                record = await self.executions.get(ref.incident_id, ref.approval_id)
                if record is None:
                    await self.executions.discharge(ref.incident_id, ref.approval_id)
                    continue
                if record.status == "executing":
                    ago = max(0.0, now - record.lease_until)
                    why = f"its owner {record.owner} stopped renewing the lease ({ago:.0f}s ago)"
                    if await self._settle(ref, record, "", why) == "alive":
                        continue
                announced += await self.notices.announce(ref.incident_id, ref.approval_id)
            except BotError:
                # One bad entry (say Slack down for the notice) must not stop the others; it is retried.
                log.exception("sweeping an execution failed", extra={"approval": ref.approval_id})
        return announced

    async def reap(self) -> list[tuple[str, ReapOutcome]]:
        """Kill process groups recorded on this host by bot processes that are gone; returns what was done."""
        done = []
        for entry in await self.executions.groups_in(self.owner.scope):
            if entry.owner == self.owner.process or is_alive(entry.owner):
                continue
            outcome = reap_group(entry.group)
            log.warning(
                "orphaned step process group",
                extra={"approval": entry.approval_id, "pgid": entry.group.pid, "outcome": outcome.value},
            )
            await self.executions.forget_group(entry.approval_id, self.owner.scope)
            done.append((entry.approval_id, outcome))
        return done

    def start(self) -> None:
        """Sweep now, then every `interval_s`, in the background until stop()."""
        if self._loop is None:
            self._stop = asyncio.Event()
            self._loop = asyncio.create_task(self._run(self._stop), name="execution-sweep")

    async def stop(self) -> None:
        """Stop the periodic sweep (the flag ends it even if a library swallowed the cancellation)."""
        if self._loop is not None:
            self._stop.set()
            self._loop.cancel()
            await asyncio.wait({self._loop}, timeout=STOP_WITHIN_S)
            self._loop = None

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.reap()
                await self.sweep_once()
            except Exception:
                # The sweep is what notices lost steps: it must outlive any one failure (logged, never hidden).
                log.exception("execution sweep failed; retrying at the next interval")
            await wait_event(stop, self.interval_s)

    def _owner_dead_here(self, record: ExecutionRecord) -> bool:
        return (
            record.status == "executing"
            and bool(self.owner.scope)
            and record.scope == self.owner.scope
            and record.owner != self.owner.replica
            and not is_alive(record.owner_process)
        )

    async def _settle(self, ref: ExecutionRef, record: ExecutionRecord, dead_owner: str, why: str) -> str:
        code = await self.executions.settle_lost(ref.incident_id, ref.approval_id, self.clock(), dead_owner, why)
        if code == "alive":
            # The index score is only a hint: move it to the lease the record holds.
            await self.executions.enlist(ref.incident_id, ref.approval_id, record.lease_until)
        elif code == "settled":
            log.warning("execution lost its owner", extra={"approval": ref.approval_id, "why": why})
            await self.executions.enlist(ref.incident_id, ref.approval_id, self.clock())
        return code

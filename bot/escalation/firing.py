"""Run claimed timers: each handler under its lease, then complete, retry or drop it; counted in /metrics.

The scheduler (bot/escalation/scheduler.py) decides when to claim; this module runs what was claimed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import metrics
from bot.errors import BotError, InvalidInput
from bot.escalation.lease import LeaseLost, LeaseTerms, Sleep, run_under_lease
from bot.escalation.timers import ClaimedTimer, TimerStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiredTimer:
    """What a handler receives: the timer, when it fired and whether it fired late."""

    id: str
    kind: str
    payload: dict[str, Any]
    due_at: datetime
    fired_at: datetime
    incident_id: str | None
    generation: str
    attempt: int
    late: bool

    @property
    def lateness(self) -> timedelta:
        """Fire time minus due time."""
        return self.fired_at - self.due_at


Handler = Callable[[FiredTimer], Awaitable[None]]


@dataclass(frozen=True)
class SchedulerConfig:
    """Tuning for one replica's timer loop."""

    # The longest sleep while the wake channel is subscribed: a lost notification delays a timer at most this.
    tick_s: float = 1.0
    # The longest sleep while it is not (Redis unreachable, or wake_on_arm off): the old polling period.
    poll_s: float = 0.2
    # Subscribe to the wake channel, so a timer armed anywhere sooner than this replica's plan wakes it.
    wake_on_arm: bool = True
    # One round claims for at most this long before the loop plans again (a backlog goes on at once).
    round_s: float = 0.2
    # The loop takes back a lease this long after it ran out (the holder's view of it ends a round trip later).
    requeue_grace_s: float = 0.1
    # Rounds start at least this far apart (a backlog or a wake-up aside): a cap on claims per second when
    # timers fall due every millisecond, at the cost of up to this much lateness.
    round_gap_s: float = 0.005
    batch: int = 200
    lease_s: float = 10.0
    max_concurrency: int = 200
    late_after_s: float = 30.0
    max_attempts: int = 5
    retry_after_s: float = 5.0
    # The handler is cancelled when this much of its lease is left unrenewed (None: a quarter of lease_s).
    lease_margin_s: float | None = None
    # One round's Redis work (requeue, claim) and one plan get this long, so a hung call never stalls the loop.
    tick_timeout_s: float = 2.0

    @property
    def lease_terms(self) -> LeaseTerms:
        """Renewal period and cancel margin for this lease length."""
        return LeaseTerms.for_lease(self.lease_s, self.lease_margin_s)


@dataclass
class SchedulerStats:
    """Counters since start."""

    fired: int = 0
    failed: int = 0
    dropped: int = 0
    superseded: int = 0
    leases_lost: int = 0
    stalled_ticks: int = 0
    sleeps: int = 0
    woken_early: int = 0
    lateness_s: list[float] = field(default_factory=list)


class TimerFiring:
    """Runs claimed timers as tasks and tracks them until their completion is recorded."""

    def __init__(
        self,
        timers: TimerStore,
        config: SchedulerConfig,
        clock: Callable[[], datetime],
        sleep: Sleep,
        stats: SchedulerStats,
        record_lateness: bool,
    ) -> None:
        self.timers, self.config, self.clock, self.sleep, self.stats = timers, config, clock, sleep, stats
        self.handlers: dict[str, Handler] = {}
        self.inflight: set[asyncio.Task[None]] = set()
        self.started_at: datetime | None = None
        self._record_lateness = record_lateness
        self._completions: list[tuple[ClaimedTimer, asyncio.Future[bool]]] = []

    async def stop(self, timeout_s: float) -> None:
        """Let in-flight handlers finish for `timeout_s`, then cancel the rest."""
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def spawn(self, timer: ClaimedTimer, expires_at: datetime) -> None:
        """Run the timer's handler in a task of its own."""
        task = asyncio.get_running_loop().create_task(self._fire(timer, expires_at))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _fire(self, timer: ClaimedTimer, expires_at: datetime) -> None:
        try:
            await self._fire_once(timer, expires_at)
        except BotError:
            # The lease stays with us until it expires; then another tick requeues the timer.
            log.exception("timer %s: store call failed during dispatch", timer.id)

    async def _fire_once(self, timer: ClaimedTimer, expires_at: datetime) -> None:
        fired = self._fired(timer)
        if timer.attempts == 1:
            # How late the wake-up was; a retry or a requeue after a lost lease is late by design, not counted.
            metrics.TIMER_LATENESS.labels(timer.kind).observe(max(0.0, fired.lateness.total_seconds()))
        try:
            await self._run_with_lease(timer, fired, expires_at)
        except LeaseLost as lost:
            # Not ours any more: no retry, no completion; whoever claims it next runs it.
            self.stats.leases_lost += 1
            metrics.TIMERS_FIRED.labels(timer.kind, "lease_lost").inc()
            log.warning("timer %s (%s): handler cancelled, lease lost: %s", timer.id, timer.kind, lost)
            return
        except Exception as exc:
            await self._failed(timer, exc)
            return
        self.stats.fired += 1
        metrics.TIMERS_FIRED.labels(timer.kind, "ok").inc()
        if self._record_lateness:
            self.stats.lateness_s.append(fired.lateness.total_seconds())
        if not await self._complete(timer):
            # Re-armed by its own handler (a repeating reminder) or, rarely, a lease that ran out.
            self.stats.superseded += 1
            log.debug("timer %s ran; its record now belongs to a newer arming or claim", timer.id)

    async def _complete(self, timer: ClaimedTimer) -> bool:
        # Completions that finish together share one pipelined round trip.
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._completions.append((timer, done))
        if len(self._completions) == 1:
            asyncio.get_running_loop().call_soon(self._flush_completions)
        return await done

    def _flush_completions(self) -> None:
        batch, self._completions = self._completions, []
        task = asyncio.get_running_loop().create_task(self._complete_batch(batch))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _complete_batch(self, batch: list[tuple[ClaimedTimer, asyncio.Future[bool]]]) -> None:
        try:
            results = await self.timers.complete_many([t for t, _ in batch])
        except BotError as exc:
            for _, done in batch:
                done.set_exception(exc)
            return
        for (_, done), ok in zip(batch, results, strict=True):
            done.set_result(ok)

    def _fired(self, timer: ClaimedTimer) -> FiredTimer:
        now = self.clock()
        late_cut = timedelta(seconds=self.config.late_after_s)
        started = self.started_at or now
        return FiredTimer(
            id=timer.id,
            kind=timer.kind,
            payload=timer.payload,
            due_at=timer.due_at,
            fired_at=now,
            incident_id=timer.incident_id,
            generation=timer.generation,
            attempt=timer.attempts,
            late=timer.due_at < started or now - timer.due_at > late_cut,
        )

    async def _run_with_lease(self, timer: ClaimedTimer, fired: FiredTimer, expires_at: datetime) -> None:
        handler = self.handlers.get(timer.kind)
        if handler is None:
            raise InvalidInput(f"no handler registered for timer kind {timer.kind!r}")
        terms = self.config.lease_terms
        if (expires_at - self.clock()).total_seconds() <= terms.margin_s:
            raise LeaseLost("the claim came back with too little of its lease left to start")

        async def renew(now: datetime) -> bool:
            return await self.timers.extend(timer.id, timer.token, now, self.config.lease_s)

        await run_under_lease(handler(fired), renew, expires_at, terms, self.clock, self.sleep)

    async def _failed(self, timer: ClaimedTimer, exc: Exception) -> None:
        log.error("timer %s (%s) failed on attempt %d", timer.id, timer.kind, timer.attempts, exc_info=exc)
        self.stats.failed += 1
        dropping = timer.attempts >= self.config.max_attempts
        metrics.TIMERS_FIRED.labels(timer.kind, "dropped" if dropping else "failed").inc()
        if dropping:
            self.stats.dropped += 1
            log.error("timer %s dropped after %d attempts", timer.id, timer.attempts)
            await self.timers.complete(timer.id, timer.token, timer.generation)
            return
        await self.timers.retry(timer.id, timer.token, self.clock() + timedelta(seconds=self.config.retry_after_s))

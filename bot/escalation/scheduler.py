"""Drive durable timers from an APScheduler AsyncIOScheduler (in-memory job store, one per process)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts import utcnow
from bot.errors import BotError, InvalidInput
from bot.escalation.lease import LeaseLost, LeaseTerms, Sleep, race, run_under_lease
from bot.escalation.timers import ClaimedTimer, TimerStore

log = logging.getLogger(__name__)

TICK_JOB = "rb-timers-tick"
NEAREST_JOB = "rb-timers-nearest"


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

    tick_s: float = 0.2
    batch: int = 200
    lease_s: float = 10.0
    max_concurrency: int = 200
    late_after_s: float = 30.0
    max_attempts: int = 5
    retry_after_s: float = 5.0
    # The handler is cancelled when this much of its lease is left unrenewed (None: a quarter of lease_s).
    lease_margin_s: float | None = None
    # One tick's Redis work (requeue, claim, plan) gets this long, so a hung call never stalls later ticks.
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
    lateness_s: list[float] = field(default_factory=list)


class TimerScheduler:
    """Claims due timers every tick and dispatches each to the handler registered for its kind."""

    def __init__(
        self,
        timers: TimerStore,
        config: SchedulerConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        record_lateness: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.timers = timers
        self.config = config or SchedulerConfig()
        self.clock = clock
        # Every wait (lease renewals, tick bounds) goes through `sleep`, so tests can move time instead.
        self.sleep = sleep
        self.stats = SchedulerStats()
        self.started_at: datetime | None = None
        self._record_lateness = record_lateness
        self._handlers: dict[str, Handler] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._pumps: set[asyncio.Task[int]] = set()
        self._completions: list[tuple[ClaimedTimer, asyncio.Future[bool]]] = []
        self._lock = asyncio.Lock()
        self._aps: AsyncIOScheduler | None = None

    def register(self, kind: str, handler: Handler) -> None:
        """Route timers of `kind` to the coroutine function `handler`."""
        if not inspect.iscoroutinefunction(handler):
            raise InvalidInput(f"timer handler for {kind!r} must be a coroutine function")
        if kind in self._handlers:
            raise InvalidInput(f"timer kind {kind!r} already has a handler")
        self._handlers[kind] = handler

    def kinds(self) -> list[str]:
        """Registered timer kinds."""
        return sorted(self._handlers)

    def handlers(self) -> dict[str, Handler]:
        """A copy of the kind → handler table (a second scheduler can serve the same kinds)."""
        return dict(self._handlers)

    async def start(self, ticking: bool = True) -> None:
        """Start ticking; timers that fell due while no replica ran fire at once, marked late.

        With `ticking=False` nothing runs on its own: the caller calls `pump()` (tests on a manual clock).
        """
        self.started_at = self.clock()
        if not ticking:
            return
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._aps.add_job(
            self.pump,
            "interval",
            seconds=self.config.tick_s,
            id=TICK_JOB,
            next_run_time=self.clock(),
            max_instances=2,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._aps.start()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stop ticking and let in-flight handlers finish; unfinished claims go back after their lease."""
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        for pump in set(self._pumps):
            pump.cancel()
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until no handler or completion is in flight."""
        while self._inflight:
            await asyncio.wait(set(self._inflight))

    async def pump(self) -> int:
        """One round: requeue expired leases, claim what is due, dispatch it; returns how many were claimed."""
        if self._lock.locked():
            return 0
        async with self._lock:
            tick = asyncio.ensure_future(self._tick())
            if not await race(tick, self.config.tick_timeout_s, self.sleep):
                # A hung Redis: give up this tick rather than hold every later one. A claim cut off here
                # may still land; its timers come back when their lease runs out.
                tick.cancel()
                await asyncio.gather(tick, return_exceptions=True)
                self.stats.stalled_ticks += 1
                log.warning("timer tick gave up after %g s; Redis is slow or unreachable", self.config.tick_timeout_s)
                return 0
            try:
                claimed, backlog = tick.result()
            except BotError:
                log.exception("timer pump failed; retrying next tick")
                return 0
        if backlog and self._aps is not None:
            # More is due than one tick could claim: go on at once instead of waiting for the next tick.
            task = asyncio.get_running_loop().create_task(self.pump())
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)
        return claimed

    async def _tick(self) -> tuple[int, bool]:
        claimed = await self._claim_for_one_tick()
        await self._plan_nearest()
        return claimed

    async def _claim_for_one_tick(self) -> tuple[int, bool]:
        now = self.clock()
        await self.timers.requeue_expired_leases(now)
        # Bounded by one tick so a backlog never holds the pump; `_plan_next` runs it again at once.
        budget_end = now + timedelta(seconds=self.config.tick_s)
        total = 0
        while (left := (budget_end - self.clock()).total_seconds()) > 0:
            free = self.config.max_concurrency - len(self._inflight)
            if free <= 0:
                await asyncio.wait(set(self._inflight), timeout=left, return_when=asyncio.FIRST_COMPLETED)
                continue
            limit = min(self.config.batch, free)
            sent_at = self.clock()
            claimed = await self.timers.claim_due(sent_at, limit, self.config.lease_s)
            # The lease runs from the time the claim was sent (the script stores exactly that), so a claim
            # whose reply was slow has less left: the handler's supervision starts from there.
            expires_at = sent_at + timedelta(seconds=self.config.lease_s)
            for timer in claimed:
                self._spawn(timer, expires_at)
            total += len(claimed)
            if len(claimed) < limit:
                return total, False
        return total, True

    async def _plan_nearest(self) -> None:
        # A date job at the soonest due time keeps lateness well under one tick.
        if self._aps is None:
            return
        now = self.clock()
        nearest = await self.timers.next_due()
        if nearest is None or nearest <= now or nearest > now + timedelta(seconds=self.config.tick_s):
            return
        self._aps.add_job(
            self.pump,
            "date",
            run_date=nearest,
            id=NEAREST_JOB,
            replace_existing=True,
            misfire_grace_time=None,
            max_instances=2,
        )

    def _spawn(self, timer: ClaimedTimer, expires_at: datetime) -> None:
        task = asyncio.get_running_loop().create_task(self._fire(timer, expires_at))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _fire(self, timer: ClaimedTimer, expires_at: datetime) -> None:
        try:
            await self._fire_once(timer, expires_at)
        except BotError:
            # The lease stays with us until it expires; then another tick requeues the timer.
            log.exception("timer %s: store call failed during dispatch", timer.id)

    async def _fire_once(self, timer: ClaimedTimer, expires_at: datetime) -> None:
        fired = self._fired(timer)
        try:
            await self._run_with_lease(timer, fired, expires_at)
        except LeaseLost as lost:
            # Not ours any more: no retry, no completion; whoever claims it next runs it.
            self.stats.leases_lost += 1
            log.warning("timer %s (%s): handler cancelled, lease lost: %s", timer.id, timer.kind, lost)
            return
        except Exception as exc:
            await self._failed(timer, exc)
            return
        self.stats.fired += 1
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
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

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
        handler = self._handlers.get(timer.kind)
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
        if timer.attempts >= self.config.max_attempts:
            self.stats.dropped += 1
            log.error("timer %s dropped after %d attempts", timer.id, timer.attempts)
            await self.timers.complete(timer.id, timer.token, timer.generation)
            return
        await self.timers.retry(timer.id, timer.token, self.clock() + timedelta(seconds=self.config.retry_after_s))

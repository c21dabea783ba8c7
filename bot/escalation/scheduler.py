"""Drive durable timers: one loop per process sleeps until the next due timer, woken early over Redis pub/sub."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bot.alerts import utcnow
from bot.errors import BotError, InvalidInput
from bot.escalation.alarm import AlarmClock
from bot.escalation.firing import FiredTimer, Handler, SchedulerConfig, SchedulerStats, TimerFiring
from bot.escalation.lease import Sleep, race
from bot.escalation.timers import Claim, TimerStore
from bot.escalation.wakeups import TimerWakeups

log = logging.getLogger(__name__)
T = TypeVar("T")
# FiredTimer, Handler and SchedulerConfig are imported from here by every timer kind.
__all__ = ["FiredTimer", "Handler", "SchedulerConfig", "SchedulerStats", "TimerScheduler"]


class TimerScheduler:
    """Sleeps until the soonest due timer, claims what is due and dispatches each to its kind's handler.

    A replica wakes at the soonest due time or lease expiry it read, early when the wake channel says a
    sooner timer was armed (any replica), and at least every `tick_s` whatever it heard, so a lost
    notification only delays a timer (docs/redis.md, "Timer wake-ups").
    """

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
        # Every wait (lease renewals, tick bounds, the sleep until the next timer) goes through `sleep`.
        self.sleep = sleep
        self.stats = SchedulerStats()
        self._firing = TimerFiring(timers, self.config, clock, sleep, self.stats, record_lateness)
        self._handlers = self._firing.handlers
        self._lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self.wakeups: TimerWakeups | None = None
        self._woken = asyncio.Event()
        # Soonest due time heard on the wake channel since the current round began (epoch seconds).
        self._heard = math.inf
        # What the loop sleeps until (epoch seconds); -inf while it is busy with a round.
        self._sleeping_until = -math.inf
        self._requeue_at = datetime.min.replace(tzinfo=UTC)
        self._last_claim: Claim | None = None
        self._stopping = False
        self._gap = timedelta(seconds=self.config.round_gap_s)
        # On real time the loop sleeps on APScheduler's alarm; on an injected clock, on the injected sleep.
        self._alarm = AlarmClock() if clock is utcnow and sleep is asyncio.sleep else None

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

    @property
    def started_at(self) -> datetime | None:
        """When start() ran; timers due before it fire marked late."""
        return self._firing.started_at

    @property
    def asleep_until(self) -> datetime | None:
        """When the loop wakes next while it sleeps; None while it works or has been woken."""
        if self._sleeping_until == -math.inf or self._woken.is_set():
            return None
        return datetime.fromtimestamp(self._sleeping_until, UTC)

    def handlers(self) -> dict[str, Handler]:
        """A copy of the kind → handler table (a second scheduler can serve the same kinds)."""
        return dict(self._handlers)

    async def start(self, ticking: bool = True) -> None:
        """Start the wake loop; timers that fell due while no replica ran fire at once, marked late.

        With `ticking=False` nothing runs on its own: the caller calls `pump()` (tests on a manual clock).
        """
        self._firing.started_at = self.clock()
        self._stopping = False
        if not ticking:
            return
        loop = asyncio.get_running_loop()
        if self.config.wake_on_arm and not callable(getattr(self.timers.redis, "pubsub", None)):
            # Older redis-py releases have no pub/sub on the asyncio Cluster client: poll instead.
            log.warning("this Redis client cannot subscribe; timers poll every %g s", self.config.poll_s)
        elif self.config.wake_on_arm:
            self.wakeups = TimerWakeups(self.timers.redis, self.timers.keys.timers_wake(), self.notify)
            self._listener = loop.create_task(self.wakeups.run(), name="timer-wakeups")
        if self._alarm is not None:
            self._alarm.start()
        self._loop = loop.create_task(self._run(), name="timer-loop")

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the loop and let in-flight handlers finish; unfinished claims go back after their lease."""
        self._stopping = True
        if self.wakeups is not None:
            self.wakeups.stop()
        for task in (self._loop, self._listener):
            if task is not None:
                task.cancel()
                # Bounded: a cancellation a library swallows must not hold up the shutdown.
                if not (await asyncio.wait({task}, timeout=2.0))[0]:
                    log.error("timer task %s did not stop within 2 s", task.get_name())
        self._loop = self._listener = None
        if self._alarm is not None:
            self._alarm.stop()
        await self._firing.stop(timeout_s)

    async def drain(self) -> None:
        """Wait until no handler or completion is in flight."""
        while self._firing.inflight:
            await asyncio.wait(set(self._firing.inflight))

    def notify(self, due_ts: float | None) -> None:
        """A timer due at `due_ts` (epoch seconds; None: unknown, look now) was armed: wake if it is sooner."""
        at = -math.inf if due_ts is None else due_ts
        self._heard = min(self._heard, at)
        if at < self._sleeping_until and not self._woken.is_set():
            self.stats.woken_early += 1
            self._woken.set()

    async def pump(self) -> int:
        """One round: requeue expired leases, claim what is due, dispatch it; returns how many were claimed."""
        return (await self._round(requeue=True, grace_s=0.0))[0]

    async def _run(self) -> None:
        # Not `while True`: a cancellation that races a Redis read's timeout can come back as a store error.
        while not self._stopping:
            # Heard from here on counts for the next sleep: a timer armed during the round is not missed.
            self._heard, self._sleeping_until = math.inf, -math.inf
            self._woken.clear()
            self._last_claim = None
            began = self.clock()
            _, backlog = await self._round(began >= self._requeue_at, self.config.requeue_grace_s)
            if backlog:
                await asyncio.sleep(0)  # more is due than one round could claim: go on, letting handlers run
                continue
            wake = await self._plan()
            floor = began + self._gap
            if self._heard >= floor.timestamp():
                # Rounds start at least round_gap_s apart: with timers due every millisecond, every replica
                # would otherwise claim without pause, and a timer due but claimed elsewhere meanwhile (or a
                # skewed clock) would make it spin. A timer heard of that falls due sooner is looked at at once.
                wake = max(wake, floor)
            await self._sleep_until(wake)

    async def _round(self, requeue: bool, grace_s: float) -> tuple[int, bool]:
        if self._lock.locked():
            return 0, False
        async with self._lock:
            done = await self._bounded(self._claim_round(requeue, grace_s))
        return done if done is not None else (0, False)

    async def _bounded(self, work: Awaitable[T]) -> T | None:
        """`work`'s result, or None when Redis failed or did not answer within tick_timeout_s."""
        task = asyncio.ensure_future(work)
        if not await race(task, self.config.tick_timeout_s, self.sleep):
            # A hung Redis: give up this round rather than hold every later one. A claim cut off here
            # may still land; its timers come back when their lease runs out.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self.stats.stalled_ticks += 1
            log.warning("timer tick gave up after %g s; Redis is slow or unreachable", self.config.tick_timeout_s)
            return None
        try:
            return task.result()
        except BotError:
            log.exception("timer round failed; retrying next tick")
            return None

    async def _claim_round(self, requeue: bool, grace_s: float) -> tuple[int, bool]:
        now = self.clock()
        if requeue:
            # Leases that ran out `grace_s` ago: a lease runs from when its claim was sent, so its holder's view
            # of it ends a round trip later, and replicas' clocks differ a little.
            await self.timers.requeue_expired_leases(now - timedelta(seconds=grace_s))
            self._requeue_at = now + timedelta(seconds=self.config.tick_s)
        # Bounded so a backlog never holds the loop from planning; the loop goes on at once after it.
        budget_end = now + timedelta(seconds=self.config.round_s)
        total = 0
        while (left := (budget_end - self.clock()).total_seconds()) > 0:
            free = self.config.max_concurrency - len(self._firing.inflight)
            if free <= 0:
                await asyncio.wait(set(self._firing.inflight), timeout=left, return_when=asyncio.FIRST_COMPLETED)
                continue
            limit = min(self.config.batch, free)
            sent_at = self.clock()
            claim = self._last_claim = await self.timers.claim(sent_at, limit, self.config.lease_s)
            claimed = claim.timers
            # The lease runs from the time the claim was sent (the script stores exactly that), so a claim
            # whose reply was slow has less left: the handler's supervision starts from there.
            expires_at = sent_at + timedelta(seconds=self.config.lease_s)
            for timer in claimed:
                self._firing.spawn(timer, expires_at)
            total += len(claimed)
            if len(claimed) < limit:
                return total, False
        return total, True

    async def _plan(self) -> datetime:
        """When to wake next: the soonest due time or lease expiry, a timer heard of, or the tick."""
        now = self.clock()
        listening = self.wakeups is not None and self.wakeups.subscribed
        longest = self.config.tick_s if listening else min(self.config.tick_s, self.config.poll_s)
        wake = now + timedelta(seconds=longest)
        last = self._last_claim
        if last is not None and last.every_shard:
            # The claim reported what it left behind: no need to ask again.
            soonest: tuple[datetime | None, datetime | None] | None = (last.next_due, last.lease_end)
        else:
            soonest = await self._bounded(self.timers.next_wake())
        if soonest is not None:
            due, lease_end = soonest
            if lease_end is not None:
                # A lease running out (a replica died holding it): requeue then (with the grace), not at the tick.
                lease_end += timedelta(seconds=self.config.requeue_grace_s)
                self._requeue_at = min(self._requeue_at, lease_end)
            wake = min([wake, *(t for t in (due, lease_end) if t is not None)])
        if self._heard < wake.timestamp():
            wake = datetime.fromtimestamp(max(self._heard, 0.0), UTC)
        return wake

    async def _sleep_until(self, wake: datetime) -> None:
        now = self.clock()
        delay = (wake - now).total_seconds()
        if delay <= 0 or self._woken.is_set():
            return
        self.stats.sleeps += 1
        self._sleeping_until = wake.timestamp()
        if self._alarm is not None:
            try:
                await self._alarm.sleep_until(wake, self._woken)
            finally:
                self._sleeping_until = -math.inf
            return
        waiter = asyncio.ensure_future(self._woken.wait())
        try:
            await race(waiter, delay, self.sleep)
        finally:
            waiter.cancel()
            self._sleeping_until = -math.inf

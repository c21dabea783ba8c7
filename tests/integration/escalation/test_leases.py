"""A lease governs its handler: renewals on a manual clock against a real Redis.

Time moves only when the test advances the clock; Redis is real, so the test waits (briefly, in real
time) for a renewal's round trip before it checks what another replica would see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from bot.connections import Redis
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.keys import Keys
from tests.manual_clock import ManualClock, eventually

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)
CONFIG = SchedulerConfig(lease_s=10.0, tick_s=0.2)  # renew every 3.3 s; cancel with 2.5 s left


class Handler:
    """A handler that runs until released, and counts how many copies run at once."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.release = asyncio.Event()
        self.started: list[datetime] = []
        self.cancelled_at: list[datetime] = []
        self.finished = 0
        self.running = 0
        self.most_at_once = 0

    async def run(self, timer: FiredTimer) -> None:
        self.started.append(self.clock.now())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.release.wait()
            self.finished += 1
        except asyncio.CancelledError:
            self.cancelled_at.append(self.clock.now())
            raise
        finally:
            self.running -= 1


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(redis: Redis, keys: Keys) -> TimerStore:
    return TimerStore(redis, keys)


@pytest.fixture
async def replicas(store: TimerStore, clock: ManualClock) -> AsyncIterator[tuple[TimerScheduler, TimerScheduler]]:
    a = TimerScheduler(store, CONFIG, clock=clock.now, sleep=clock.sleep)
    b = TimerScheduler(store, CONFIG, clock=clock.now, sleep=clock.sleep)
    await a.start(ticking=False)
    await b.start(ticking=False)
    yield a, b
    await a.stop(timeout_s=1)
    await b.stop(timeout_s=1)


async def lease_end(redis: Redis, keys: Keys, timer_id: str) -> datetime | None:
    score = await redis.zscore(keys.timers_leased(keys.timer_shard(timer_id)), timer_id)
    return None if score is None else datetime.fromtimestamp(score, UTC)


async def lease_holds_until(redis: Redis, keys: Keys, timer_id: str, at: datetime) -> bool:
    end = await lease_end(redis, keys, timer_id)
    return end is not None and end >= at


async def test_renewals_keep_a_long_handler_its_lease(
    store: TimerStore, replicas: tuple[TimerScheduler, TimerScheduler], clock: ManualClock, redis: Redis, keys: Keys
) -> None:
    a, b = replicas
    handler = Handler(clock)
    a.register("k", handler.run)
    b.register("k", handler.run)
    await store.arm("t", T0, "k", {})
    assert await a.pump() == 1
    await eventually(lambda: len(handler.started) == 1)
    for second in range(1, 31):  # 30 s: three leases' worth
        await clock.advance(1.0)
        last_renewal = T0 + timedelta(seconds=(second // (10 / 3)) * (10 / 3))
        await eventually(partial(lease_holds_until, redis, keys, "t", last_renewal + timedelta(seconds=9.9)))
        assert await b.pump() == 0  # another replica finds nothing to requeue or claim
    handler.release.set()
    await a.drain()
    assert (handler.finished, handler.cancelled_at, handler.most_at_once) == (1, [], 1)
    assert await store.counts() == (0, 0) and a.stats.leases_lost == 0


async def test_a_lease_taken_over_cancels_the_handler_at_its_next_renewal(
    store: TimerStore, replicas: tuple[TimerScheduler, TimerScheduler], clock: ManualClock
) -> None:
    a, _ = replicas
    handler = Handler(clock)
    a.register("k", handler.run)
    await store.arm("t", T0, "k", {})
    await a.pump()
    await eventually(lambda: len(handler.started) == 1)
    # A replica whose clock runs 11 s ahead requeues the lease and claims the timer under its own token.
    assert await store.requeue_expired_leases(T0 + timedelta(seconds=11)) == 1
    [taken] = await store.claim_due(T0 + timedelta(seconds=11), 10, 10)
    await clock.advance(3.4)  # A's first renewal is refused: the handler is cancelled, not left running
    await eventually(lambda: handler.cancelled_at != [])
    await a.drain()
    # Cancelled at its first renewal (3.33 s; the refusal comes back over a real socket, before 3.4 s).
    [cancelled] = handler.cancelled_at
    assert T0 + timedelta(seconds=10 / 3) <= cancelled <= T0 + timedelta(seconds=3.4) and handler.finished == 0
    assert a.stats.leases_lost == 1 and a.stats.failed == 0
    # A neither completed nor retried it: the new claimant still holds it.
    assert await store.complete("t", taken.token, taken.generation)


async def test_renewal_errors_cancel_the_handler_before_the_lease_runs_out(
    store: TimerStore,
    replicas: tuple[TimerScheduler, TimerScheduler],
    clock: ManualClock,
    redis: Redis,
    keys: Keys,
) -> None:
    a, b = replicas
    handler = Handler(clock)
    a.register("k", handler.run)
    b.register("k", handler.run)
    await store.arm("t", T0, "k", {})
    await a.pump()
    await eventually(lambda: len(handler.started) == 1)
    # Every renewal now fails inside Redis (WRONGTYPE on the leased set): the lease cannot be kept.
    leased = keys.timers_leased(keys.timer_shard("t"))
    aside = f"{leased}-aside"  # the same hash tag: RENAME stays in one Redis Cluster slot
    await redis.rename(leased, aside)
    await redis.set(leased, "not a sorted set")
    for _ in range(20):
        await clock.advance(0.5)
        await asyncio.sleep(0.01)  # let a renewal's real round trip come back before time moves on
    await eventually(lambda: handler.cancelled_at != [])
    [cancelled] = handler.cancelled_at
    assert cancelled <= T0 + timedelta(seconds=10 - 2.5) and a.stats.leases_lost == 1
    await redis.delete(leased)
    await redis.rename(aside, leased)
    # Once the lease has run out another replica runs the timer; the first copy is long gone.
    assert await b.pump() == 1
    await eventually(lambda: len(handler.started) == 2)
    assert handler.running == 1 and handler.most_at_once == 1
    handler.release.set()
    await b.drain()
    assert handler.finished == 1 and await store.counts() == (0, 0)


async def test_a_handler_that_finishes_before_any_renewal_completes_once(
    store: TimerStore, replicas: tuple[TimerScheduler, TimerScheduler], clock: ManualClock
) -> None:
    a, _ = replicas
    handler = Handler(clock)
    handler.release.set()
    a.register("k", handler.run)
    await store.arm("t", T0 + timedelta(seconds=5), "k", {"n": 1})
    assert await a.pump() == 0
    await clock.advance(5)
    assert await a.pump() == 1
    await a.drain()
    assert handler.finished == 1 and a.stats.fired == 1 and await store.counts() == (0, 0)

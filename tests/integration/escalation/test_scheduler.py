"""TimerScheduler against a real Redis and the real clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.connections import Redis
from bot.errors import InvalidInput
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.keys import Keys

FAST = SchedulerConfig(tick_s=0.05, lease_s=3, retry_after_s=0.1)


def now() -> datetime:
    return datetime.now(UTC)


async def wait_for(predicate: Callable[[], bool], limit_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def store(redis: Redis, keys: Keys) -> TimerStore:
    return TimerStore(redis, keys)


@pytest.fixture
async def scheduler(store: TimerStore) -> AsyncIterator[TimerScheduler]:
    s = TimerScheduler(store, FAST, record_lateness=True)
    yield s
    await s.stop()


async def test_fires_once_on_time(store: TimerStore, scheduler: TimerScheduler) -> None:
    fired: list[FiredTimer] = []

    async def handler(t: FiredTimer) -> None:
        fired.append(t)

    scheduler.register("k", handler)
    await scheduler.start()
    await store.arm("a", now() + timedelta(seconds=0.3), "k", {"x": 1})
    await wait_for(lambda: len(fired) == 1)
    await asyncio.sleep(0.3)
    assert len(fired) == 1 and fired[0].payload == {"x": 1} and not fired[0].late
    assert timedelta(0) <= fired[0].lateness < timedelta(seconds=0.5)
    assert await store.counts() == (0, 0)


async def test_overdue_timers_fire_at_start_marked_late(store: TimerStore, scheduler: TimerScheduler) -> None:
    fired: list[FiredTimer] = []

    async def handler(t: FiredTimer) -> None:
        fired.append(t)

    await store.arm("overdue", now() - timedelta(minutes=3), "k", {})
    scheduler.register("k", handler)
    await scheduler.start()
    await wait_for(lambda: len(fired) == 1, limit_s=2)
    assert fired[0].late and fired[0].lateness >= timedelta(minutes=3)


async def test_failed_handler_is_retried(store: TimerStore, scheduler: TimerScheduler) -> None:
    attempts: list[int] = []

    async def flaky(t: FiredTimer) -> None:
        attempts.append(t.attempt)
        if len(attempts) == 1:
            raise RuntimeError("pager down")

    scheduler.register("k", flaky)
    await scheduler.start()
    await store.arm("a", now(), "k", {})
    await wait_for(lambda: len(attempts) == 2)
    await asyncio.sleep(0.3)
    assert attempts == [1, 2] and scheduler.stats.failed == 1 and scheduler.stats.fired == 1


async def test_an_arming_already_run_elsewhere_is_skipped(store: TimerStore, scheduler: TimerScheduler) -> None:
    calls: list[str] = []

    async def handler(t: FiredTimer) -> None:
        calls.append(t.id)

    await store.arm("a", now(), "k", {})
    [slow] = await store.claim_due(now(), 1, lease_s=0.1)
    await asyncio.sleep(0.15)
    await store.requeue_expired_leases(now())
    # The slow claimant finishes after losing its lease: it cannot remove the timer, but marks it done.
    assert not await store.complete(slow.id, slow.token, slow.generation)
    scheduler.register("k", handler)
    await scheduler.start()
    await asyncio.sleep(0.3)
    assert calls == [] and await store.get("a") is None and await store.counts() == (0, 0)


async def test_live_claimant_renews_its_lease(redis: Redis, keys: Keys) -> None:
    config = SchedulerConfig(tick_s=0.05, lease_s=1.0)
    a, b = TimerScheduler(TimerStore(redis, keys), config), TimerScheduler(TimerStore(redis, keys), config)
    calls: list[str] = []

    async def slow(t: FiredTimer) -> None:
        calls.append(t.id)
        await asyncio.sleep(2.5)

    a.register("k", slow)
    b.register("k", slow)
    await a.start()
    await b.start()
    try:
        await TimerStore(redis, keys).arm("a", now(), "k", {})
        await asyncio.sleep(3.0)
    finally:
        await a.stop()
        await b.stop()
    assert calls == ["a"]


def test_register_checks_handlers(store: TimerStore) -> None:
    s = TimerScheduler(store)

    def not_async(t: FiredTimer) -> None:
        return None

    async def ok(t: FiredTimer) -> None:
        return None

    with pytest.raises(InvalidInput):
        s.register("k", not_async)  # type: ignore[arg-type]
    s.register("k", ok)
    with pytest.raises(InvalidInput):
        s.register("k", ok)
    assert s.kinds() == ["k"]

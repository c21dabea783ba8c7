"""TimerScheduler against a real Redis: on a manual clock, and once on the real clock with APScheduler ticking."""

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
from tests.manual_clock import ManualClock, run_for

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)
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
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def manual(store: TimerStore, clock: ManualClock) -> AsyncIterator[TimerScheduler]:
    """A scheduler on the manual clock: nothing fires until the test moves time and pumps."""
    s = TimerScheduler(store, SchedulerConfig(lease_s=10), clock=clock.now, sleep=clock.sleep, record_lateness=True)
    await s.start(ticking=False)
    yield s
    await s.stop(timeout_s=1)


async def test_fires_once_on_time_with_the_real_clock(store: TimerStore) -> None:
    # The one real-time check: APScheduler's ticks and the nearest-timer job really run, with a generous bound.
    scheduler = TimerScheduler(store, FAST, record_lateness=True)
    fired: list[FiredTimer] = []

    async def handler(t: FiredTimer) -> None:
        fired.append(t)

    scheduler.register("k", handler)
    await scheduler.start()
    try:
        await store.arm("a", now() + timedelta(seconds=0.3), "k", {"x": 1})
        await wait_for(lambda: len(fired) == 1)
    finally:
        await scheduler.stop()
    assert len(fired) == 1 and fired[0].payload == {"x": 1} and not fired[0].late
    assert timedelta(0) <= fired[0].lateness < timedelta(seconds=1)
    assert await store.counts() == (0, 0)


async def test_fires_when_due_and_only_once(store: TimerStore, manual: TimerScheduler, clock: ManualClock) -> None:
    fired: list[FiredTimer] = []

    async def handler(t: FiredTimer) -> None:
        fired.append(t)

    manual.register("k", handler)
    await store.arm("a", T0 + timedelta(minutes=5), "k", {"x": 1})
    await run_for(manual, clock, 299)
    assert fired == []
    await run_for(manual, clock, 1 + 600)
    assert len(fired) == 1 and fired[0].payload == {"x": 1} and not fired[0].late
    assert fired[0].lateness == timedelta(0) and fired[0].fired_at == T0 + timedelta(minutes=5)
    assert await store.counts() == (0, 0)


async def test_overdue_timers_fire_at_start_marked_late(
    store: TimerStore, manual: TimerScheduler, clock: ManualClock
) -> None:
    fired: list[FiredTimer] = []

    async def handler(t: FiredTimer) -> None:
        fired.append(t)

    await store.arm("overdue", T0 - timedelta(minutes=3), "k", {})
    manual.register("k", handler)
    await run_for(manual, clock, 0)
    assert len(fired) == 1 and fired[0].late and fired[0].lateness == timedelta(minutes=3)


async def test_failed_handler_is_retried_after_the_retry_delay(
    store: TimerStore, manual: TimerScheduler, clock: ManualClock
) -> None:
    attempts: list[tuple[int, datetime]] = []

    async def flaky(t: FiredTimer) -> None:
        attempts.append((t.attempt, clock.now()))
        if len(attempts) == 1:
            raise RuntimeError("pager down")

    manual.register("k", flaky)
    await store.arm("a", T0, "k", {})
    await run_for(manual, clock, manual.config.retry_after_s - 1)
    assert attempts == [(1, T0)]
    await run_for(manual, clock, 2)
    assert attempts == [(1, T0), (2, T0 + timedelta(seconds=manual.config.retry_after_s))]
    assert manual.stats.failed == 1 and manual.stats.fired == 1 and await store.counts() == (0, 0)


async def test_an_arming_already_run_elsewhere_is_skipped(
    store: TimerStore, manual: TimerScheduler, clock: ManualClock
) -> None:
    calls: list[str] = []

    async def handler(t: FiredTimer) -> None:
        calls.append(t.id)

    await store.arm("a", T0, "k", {})
    [slow] = await store.claim_due(T0, 1, lease_s=0.1)
    await store.requeue_expired_leases(T0 + timedelta(seconds=0.15))
    # The slow claimant finishes after losing its lease: it cannot remove the timer, but marks it done.
    assert not await store.complete(slow.id, slow.token, slow.generation)
    manual.register("k", handler)
    await run_for(manual, clock, 1)
    assert calls == [] and await store.get("a") is None and await store.counts() == (0, 0)


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

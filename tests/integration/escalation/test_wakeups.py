"""The timer loop sleeps until the soonest timer and is woken over pub/sub: on a manual clock, real Redis.

Time moves only when the test advances the clock; the wake-up message itself travels through the real
Redis, so the test waits (briefly, in real time) for the loop to go back to sleep before it moves time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.connections import Redis, is_cluster
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import ArmRequest, TimerStore
from bot.jobs.arming import arm_specs, arm_timers_lua
from bot.keys import Keys
from tests.manual_clock import ManualClock, eventually

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)
# A tick far longer than the timers: only the plan or a wake-up can make them fire on time.
SLOW_TICK = SchedulerConfig(tick_s=5.0, poll_s=2.0, lease_s=10.0)

Start = Callable[[SchedulerConfig], Awaitable[TimerScheduler]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(redis: Redis, keys: Keys) -> TimerStore:
    return TimerStore(redis, keys)


@pytest.fixture
def fired() -> list[FiredTimer]:
    return []


@pytest.fixture
async def start(store: TimerStore, clock: ManualClock, fired: list[FiredTimer]) -> AsyncIterator[Start]:
    """Starts a loop on the manual clock and returns it once it sleeps (subscribed, when it listens)."""
    started: list[TimerScheduler] = []

    async def handler(t: FiredTimer) -> None:
        fired.append(t)

    async def begin(config: SchedulerConfig) -> TimerScheduler:
        scheduler = TimerScheduler(store, config, clock=clock.now, sleep=clock.sleep)
        scheduler.register("k", handler)
        started.append(scheduler)
        await scheduler.start()
        listening = config.wake_on_arm
        await eventually(lambda: (not listening or _subscribed(scheduler)) and scheduler.asleep_until is not None)
        return scheduler

    yield begin
    for scheduler in started:
        await scheduler.stop(timeout_s=1)


@pytest.fixture
async def running(start: Start) -> TimerScheduler:
    """A listening loop whose tick is far longer than the timers under test."""
    return await start(SLOW_TICK)


def _subscribed(scheduler: TimerScheduler) -> bool:
    return scheduler.wakeups is not None and scheduler.wakeups.subscribed


async def asleep_until(scheduler: TimerScheduler, at: datetime) -> None:
    await eventually(lambda: scheduler.asleep_until == at)


async def test_an_idle_loop_sleeps_a_whole_tick(running: TimerScheduler) -> None:
    assert running.asleep_until == T0 + timedelta(seconds=5)


async def test_a_timer_armed_while_the_loop_sleeps_wakes_it_and_fires_on_time(
    running: TimerScheduler, store: TimerStore, clock: ManualClock, fired: list[FiredTimer]
) -> None:
    await store.arm("soon", T0 + timedelta(seconds=0.5), "k", {})
    await asleep_until(running, T0 + timedelta(seconds=0.5))
    assert running.stats.woken_early >= 1
    await clock.advance(0.5)
    await eventually(lambda: len(fired) == 1)
    assert fired[0].fired_at == T0 + timedelta(seconds=0.5) and fired[0].lateness == timedelta(0)


async def test_a_timer_armed_later_than_the_plan_does_not_wake_the_loop(
    running: TimerScheduler, store: TimerStore, clock: ManualClock, fired: list[FiredTimer]
) -> None:
    await store.arm("first", T0 + timedelta(seconds=1), "k", {})
    await asleep_until(running, T0 + timedelta(seconds=1))
    woken = running.stats.woken_early
    await store.arm("later", T0 + timedelta(seconds=3), "k", {})  # not its shard's soonest, or not sooner: no wake
    await store.arm("sooner", T0 + timedelta(seconds=0.5), "k", {})  # this one does wake it
    await asleep_until(running, T0 + timedelta(seconds=0.5))
    assert running.stats.woken_early == woken + 1
    for step, count in ((0.5, 1), (0.5, 2), (2, 3)):  # Redis answers in real time: one firing per step
        await clock.advance(step)
        await eventually(lambda count=count: len(fired) == count)  # type: ignore[misc]
        await eventually(lambda: running.asleep_until is not None)
    assert [t.id for t in fired] == ["sooner", "first", "later"]
    assert {t.lateness for t in fired} == {timedelta(0)}


async def test_timers_armed_inside_another_script_wake_the_loop(
    running: TimerScheduler, redis: Redis, keys: Keys, clock: ManualClock, fired: list[FiredTimer]
) -> None:
    # The incident and page scripts arm timers with the shared Lua snippet (bot/jobs/arming.py).
    specs = arm_specs(keys, [ArmRequest(f"j{n}", T0 + timedelta(seconds=0.25), "k", {}) for n in range(3)])
    if is_cluster(redis):
        pytest.skip("on a Cluster, scripts leave timers to TimerStore.arm_many (bot/jobs/arming.py)")
    await redis.eval(arm_timers_lua(1), 0, specs)
    await asleep_until(running, T0 + timedelta(seconds=0.25))
    await clock.advance(0.25)
    await eventually(lambda: len(fired) == 3)
    assert {t.lateness for t in fired} == {timedelta(0)}


async def test_without_wake_ups_a_timer_armed_meanwhile_waits_for_the_poll(
    start: Start, store: TimerStore, clock: ManualClock, fired: list[FiredTimer]
) -> None:
    deaf = await start(SchedulerConfig(tick_s=5.0, poll_s=2.0, lease_s=10.0, wake_on_arm=False))
    assert deaf.asleep_until == T0 + timedelta(seconds=2)
    await store.arm("soon", T0 + timedelta(seconds=0.5), "k", {})
    await clock.advance(1.9)
    assert fired == [] and deaf.asleep_until == T0 + timedelta(seconds=2)  # late, never lost
    await clock.advance(0.1)
    await eventually(lambda: len(fired) == 1)
    assert fired[0].lateness == timedelta(seconds=1.5)


async def test_the_loop_wakes_when_a_lease_runs_out_and_fires_the_timer_again(
    start: Start, store: TimerStore, clock: ManualClock, fired: list[FiredTimer]
) -> None:
    await store.arm("held", T0, "k", {})
    # Another replica claimed it and died holding a 3 s lease.
    assert len(await store.claim_due(T0, 1, lease_s=3.0)) == 1
    running = await start(SLOW_TICK)
    lease_end = T0 + timedelta(seconds=3 + SLOW_TICK.requeue_grace_s)
    assert running.asleep_until == lease_end
    await clock.advance(2.9)
    assert fired == []
    await clock.advance(0.2)
    await eventually(lambda: len(fired) == 1)
    assert fired[0].id == "held" and fired[0].attempt == 2 and fired[0].fired_at == lease_end


async def test_a_lost_subscription_comes_back_and_wakes_the_loop_again(
    running: TimerScheduler, redis: Redis, store: TimerStore, clock: ManualClock, fired: list[FiredTimer]
) -> None:
    if is_cluster(redis):
        pytest.skip("CLIENT KILL reaches one node of a Cluster")
    assert running.wakeups is not None
    # The server drops the subscriber's connection (a restart or fail-over looks the same to it).
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    # redis-py reconnects and resubscribes by itself; the listener hears of it and the loop looks again.
    await eventually(lambda: running.wakeups is not None and running.wakeups.reconnects == 1)
    await eventually(lambda: _subscribed(running) and running.asleep_until is not None)
    await store.arm("soon", T0 + timedelta(seconds=0.5), "k", {})
    await asleep_until(running, T0 + timedelta(seconds=0.5))
    await clock.advance(0.5)
    await eventually(lambda: len(fired) == 1)
    assert fired[0].lateness == timedelta(0)

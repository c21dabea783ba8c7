"""Durable jobs on real Redis and a clock the test moves: once per key, backoff, give-up, waiting, repair."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.connections import Redis
from bot.durable import DEFAULT_BACKOFF, DONE, FAILED, PENDING, DurableJobs, JobRun, NotYet, Permanent
from bot.escalation.scheduler import SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from tests.manual_clock import ManualClock

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def parts(redis: Redis, keys: Keys, clock: ManualClock) -> tuple[DurableJobs, TimerScheduler, TimerStore]:
    timers = TimerStore(redis, keys)
    scheduler = TimerScheduler(timers, SchedulerConfig(tick_s=0.05), clock=clock.now)
    backoff = Backoff(base_s=2, cap_s=60, jitter=0)
    jobs = DurableJobs(redis, keys, timers, clock=clock.now, backoff=backoff, max_attempts=3)
    return jobs, scheduler, timers


async def settle(scheduler: TimerScheduler, probe: Callable[[], object] | None = None) -> None:
    """Pump at the current (fake) time until nothing more is claimed and in-flight work finished."""
    for _ in range(200):
        claimed = await scheduler.pump()
        await asyncio.sleep(0.01)
        if not claimed and (probe is None or probe()):
            return
    raise AssertionError("did not settle")


async def test_a_job_submitted_twice_runs_once(parts: tuple[DurableJobs, TimerScheduler, TimerStore]) -> None:
    jobs, scheduler, _ = parts
    runs: list[JobRun] = []

    async def handler(run: JobRun) -> str:
        runs.append(run)
        return "posted"

    jobs.register(scheduler, "post", handler)
    assert await jobs.submit("INC-1", "a", "post", {"n": 1}) is True
    assert await jobs.submit("INC-1", "a", "post", {"n": 2}) is False
    await settle(scheduler, lambda: runs)
    assert await jobs.submit("INC-1", "a", "post", {"n": 3}) is False  # done: stays done
    await settle(scheduler)
    assert [(r.payload, r.attempt, r.retrying) for r in runs] == [({"n": 1}, 1, False)]
    record = await jobs.get("INC-1", "a")
    assert record is not None and (record.state, record.result, record.attempts) == (DONE, "posted", 1)


async def test_failures_back_off_then_succeed_with_retrying_set(
    parts: tuple[DurableJobs, TimerScheduler, TimerStore], clock: ManualClock
) -> None:
    jobs, scheduler, timers = parts
    runs: list[JobRun] = []

    async def flaky(run: JobRun) -> str:
        runs.append(run)
        if run.attempt < 3:
            raise ConnectionError("upstream down")
        return "ok"

    jobs.register(scheduler, "flaky", flaky)
    await jobs.submit("INC-2", "b", "flaky", {})
    await settle(scheduler, lambda: len(runs) == 1)
    timer = await timers.get("job:INC-2:b")
    assert timer is not None and timer.due_at == START + timedelta(seconds=2)
    await clock.advance(1.9)
    await settle(scheduler)
    assert len(runs) == 1  # not before its backoff
    await clock.advance(0.1)
    await settle(scheduler, lambda: len(runs) == 2)
    timer = await timers.get("job:INC-2:b")
    assert timer is not None and timer.due_at == clock.now() + timedelta(seconds=4)
    await clock.advance(4)
    await settle(scheduler, lambda: len(runs) == 3)
    assert [(r.attempt, r.retrying) for r in runs] == [(1, False), (2, True), (3, True)]
    record = await jobs.get("INC-2", "b")
    assert record is not None and record.state == DONE and record.error == ""


async def test_gives_up_after_max_attempts_or_at_once_when_permanent(
    parts: tuple[DurableJobs, TimerScheduler, TimerStore], clock: ManualClock
) -> None:
    jobs, scheduler, _ = parts

    async def always_down(run: JobRun) -> str:
        raise ConnectionError("still down")

    async def refused(run: JobRun) -> str:
        raise Permanent("401 bad credentials")

    jobs.register(scheduler, "down", always_down)
    jobs.register(scheduler, "refused", refused)
    await jobs.submit("INC-3", "c", "down", {})
    await jobs.submit("INC-3", "d", "refused", {})
    for _ in range(3):
        await settle(scheduler)
        await clock.advance(60)
    await settle(scheduler)
    down, refusal = await jobs.get("INC-3", "c"), await jobs.get("INC-3", "d")
    assert down is not None and (down.state, down.attempts) == (FAILED, 3) and "still down" in down.error
    assert refusal is not None and (refusal.state, refusal.attempts) == (FAILED, 1) and "401" in refusal.error
    assert sorted(await jobs.dead_jobs()) == [("INC-3", "c"), ("INC-3", "d")]
    # The shared dead-letter set holds them, so the gauge and /readyz report them like undelivered pages.
    dead = {d.job_id: d for d in await DeadLetters(jobs.redis, jobs.keys).list()}
    assert set(dead) == {"job:INC-3:c", "job:INC-3:d"}
    assert (dead["job:INC-3:c"].kind, dead["job:INC-3:c"].attempts) == ("job:down", 3)
    assert "401" in dead["job:INC-3:d"].reason
    assert await DeadLetters(jobs.redis, jobs.keys).readiness() is not None


async def test_waiting_is_not_counted_as_an_attempt(
    parts: tuple[DurableJobs, TimerScheduler, TimerStore], clock: ManualClock
) -> None:
    jobs, scheduler, _ = parts
    ready = False
    seen: list[int] = []

    async def waits(run: JobRun) -> str:
        seen.append(run.attempt)
        if not ready:
            raise NotYet("the earlier update first")
        return "ok"

    jobs.register(scheduler, "waits", waits)
    await jobs.submit("INC-4", "e", "waits", {})
    for _ in range(5):
        await settle(scheduler)
        await clock.advance(0.5)
    ready = True
    await settle(scheduler, lambda: (seen or [0])[-1] and ready)
    await settle(scheduler)
    record = await jobs.get("INC-4", "e")
    assert record is not None and record.state == DONE and record.attempts == 1
    assert set(seen) == {1} and len(seen) >= 5


async def test_a_record_left_unarmed_by_a_crash_is_armed_by_the_next_submit(
    parts: tuple[DurableJobs, TimerScheduler, TimerStore],
) -> None:
    jobs, scheduler, timers = parts
    runs: list[str] = []

    async def handler(run: JobRun) -> str:
        runs.append(run.job_id)
        return "ok"

    jobs.register(scheduler, "post", handler)
    await jobs.submit("INC-5", "f", "post", {})
    await timers.cancel("job:INC-5:f")  # as if the submitter died between record and arm
    record = await jobs.get("INC-5", "f")
    assert record is not None and record.state == PENDING
    await settle(scheduler)
    assert runs == []
    assert await jobs.submit("INC-5", "f", "post", {}) is False
    await settle(scheduler, lambda: runs)
    assert runs == ["f"]


def test_durable_jobs_back_off_from_2_s_doubling_to_5_min() -> None:
    fixed = Backoff(base_s=DEFAULT_BACKOFF.base_s, cap_s=DEFAULT_BACKOFF.cap_s, jitter=0)
    assert [fixed.delay(n) for n in (1, 2, 3, 8, 9, 12)] == [2, 4, 8, 256, 300, 300]
    low = Backoff(base_s=2, cap_s=300, jitter=DEFAULT_BACKOFF.jitter, rand=lambda: 0.0)
    assert low.delay(2) == pytest.approx(3.2)


async def test_jobs_listed_dead_by_an_earlier_version_are_still_listed(
    parts: tuple[DurableJobs, TimerScheduler, TimerStore], redis: Redis, keys: Keys
) -> None:
    jobs, _, _ = parts
    await redis.zadd(keys.jobs_dead(), {"INC-9|old": START.timestamp()})
    await redis.hset(
        keys.job("INC-9", "old"), mapping={"state": "failed", "kind": "export", "attempts": 12, "error": "403"}
    )
    assert await jobs.dead_jobs() == [("INC-9", "old")]
    # Moved into the shared set, so the gauge, /readyz and `runbookctl deadletters` see it too.
    assert await redis.zcard(keys.jobs_dead()) == 0
    [entry] = await DeadLetters(redis, keys).list()
    assert (entry.job_id, entry.kind, entry.reason, entry.attempts) == ("job:INC-9:old", "job:export", "403", 12)
    assert entry.since == START.isoformat()
    assert await jobs.adopt_legacy_dead() == 0  # a second pass finds nothing and changes nothing
    assert await DeadLetters(redis, keys).list() == [entry]

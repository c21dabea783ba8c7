"""`runbookctl deadletters` as a real process against real Redis: list, and clear without hiding work that fails.

The dead letters are made by the code that makes them in production, driven with a clock the test moves:
a page delivery that keeps failing (still retrying), one whose handler died after delivering and before
clearing its entry (stale), and a status-page style job that gave up (failed for good).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.connections import Redis
from bot.durable import DurableJobs, JobRun, Permanent
from bot.errors import UpstreamError
from bot.escalation.deliveries import (
    Delivery,
    DeliveryConfig,
    PageDeliveries,
    delivery_timers,
    plan_deliveries,
)
from bot.escalation.policy import PageTarget, TargetKind
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.models import Incident
from bot.incidents.pages import PageRecorder
from bot.incidents.store import IncidentStore
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from tests.manual_clock import ManualClock

pytestmark = pytest.mark.slow

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ALICE = PageTarget(TargetKind.USER, "U01ALICE")


class DownPort:
    """Slack refusing connections: every send fails."""

    async def deliver(self, delivery: Delivery, incident: Incident, late: bool) -> str:
        raise UpstreamError("Slack chat.postMessage failed: connection refused")

    async def already_delivered(self, delivery: Delivery, incident: Incident) -> bool:
        return False


async def fire(timers: TimerStore, job_id: str, now: datetime) -> FiredTimer:
    record = await timers.get(job_id)
    assert record is not None, f"{job_id} is not armed"
    fields = (record.id, record.kind, record.payload, record.due_at, now, record.incident_id, record.generation)
    return FiredTimer(*fields, 1, False)


async def fail_delivery(deliveries: PageDeliveries, timers: TimerStore, clock: ManualClock, job: str, n: int) -> None:
    """Run the delivery's timer `n` times, each when it falls due."""
    for _ in range(n):
        record = await timers.get(job)
        assert record is not None
        await clock.advance(max(0.0, (record.due_at - clock.now()).total_seconds()))
        await deliveries.handle_deliver(await fire(timers, job, clock.now()))


async def give_up_a_job(redis: Redis, keys: Keys, timers: TimerStore, clock: ManualClock) -> None:
    """A status-page write that the upstream refuses for good: it is marked failed and dead-lettered."""
    scheduler = TimerScheduler(timers, SchedulerConfig(tick_s=0.05), clock=clock.now)
    jobs = DurableJobs(redis, keys, timers, clock=clock.now)

    async def refused(run: JobRun) -> str:
        raise Permanent("Statuspage answered 401: bad credentials")

    jobs.register(scheduler, "statuspage", refused)
    await jobs.submit("INC-1", "sp-open", "statuspage", {})
    for _ in range(100):
        if await DeadLetters(redis, keys).get("job:INC-1:sp-open") is not None:
            return
        await scheduler.pump()
        await asyncio.sleep(0.02)
    raise AssertionError("the job was not dead-lettered")


async def runbookctl(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "deadletters",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_lists_the_set_and_clears_only_what_no_longer_fails(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    clock = ManualClock(T0)
    store = IncidentStore(redis, keys, clock=clock.now)
    timers = TimerStore(redis, keys)
    config = DeliveryConfig(backoff=Backoff(base_s=1.0, cap_s=8.0, jitter=0.0), dead_letter_after=3)
    deliveries = PageDeliveries(store, timers, DownPort(), config=config, clock=clock.now)
    incident = await store.create_incident("checkout errors")
    dm, post = plan_deliveries(incident.id, "run1-001", 1, [ALICE], "level 1", T0)
    await timers.arm_many(delivery_timers([dm, post], T0))
    await fail_delivery(deliveries, timers, clock, dm.job_id, 4)  # failures at T0, +1, +3, +7 s
    # The channel post's handler dead-lettered it, then died after the post went out and its sent
    # marker landed, before it could clear the entry: a stale entry.
    await fail_delivery(deliveries, timers, clock, post.job_id, 3)
    await PageRecorder(store).settle_delivery(incident.id, post.job_id, "sent", 3600)
    await timers.cancel(post.job_id)
    await give_up_a_job(redis, keys, timers, clock)

    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": keys.prefix}
    env["RUNBOOK_BOT_DATA_DIR"] = str(tmp_path / "data")
    code, out, err = await runbookctl(env, "--json")
    assert code == 0, err
    listed = {e["job_id"]: e for e in map(json.loads, out.splitlines())}
    assert set(listed) == {dm.job_id, post.job_id, "job:INC-1:sp-open"}
    retrying = listed[dm.job_id]
    assert (retrying["kind"], retrying["incident"], retrying["state"]) == ("deliver", incident.id, "retrying")
    assert retrying["attempts"] == 4 and "connection refused" in retrying["last_error"]
    assert retrying["first_failure"] == T0.isoformat()
    assert retrying["last_failure"] == (T0 + timedelta(seconds=7)).isoformat()
    assert retrying["next_attempt"] == (T0 + timedelta(seconds=15)).isoformat()
    assert listed[post.job_id]["state"] == "settled" and listed[post.job_id]["next_attempt"] is None
    failed = listed["job:INC-1:sp-open"]
    assert (failed["kind"], failed["state"], failed["attempts"]) == ("job:statuspage", "failed", 1)
    assert "401" in failed["last_error"]

    code, out, _ = await runbookctl(env)
    header, *rows = out.splitlines()
    assert header.split("\t")[:3] == ["JOB", "KIND", "INCIDENT"] and len(rows) == 3
    assert [r.split("\t")[6] for r in rows if r.startswith(dm.job_id)] == ["retrying"]

    # A job still failing is never cleared without saying so: refused by default ...
    code, out, _ = await runbookctl(env, "--clear", dm.job_id)
    assert code == 1 and "kept: still failing and retrying" in out
    code, out, _ = await runbookctl(env, "--clear-all")
    assert code == 1 and "kept: still failing" in out and out.count(": cleared (") == 2
    assert [d.job_id for d in await DeadLetters(redis, keys).list()] == [dm.job_id]
    # ... and a forced clear says it comes back, which it does at the job's next failure.
    code, out, _ = await runbookctl(env, "--clear", dm.job_id, "--force", "--json")
    [forced] = map(json.loads, out.splitlines())
    assert code == 0 and (forced["job_id"], forced["cleared"], forced["still_failing"]) == (dm.job_id, True, True)
    assert "lists it again" in forced["message"]
    assert await DeadLetters(redis, keys).list() == []
    await fail_delivery(deliveries, timers, clock, dm.job_id, 1)
    [back] = await DeadLetters(redis, keys).list()
    assert (back.job_id, back.attempts, back.since) == (dm.job_id, 5, T0.isoformat())

    code, _, err = await runbookctl(env, "--clear", "dlv:INC-404:nope")
    assert code == 2 and "no dead letter" in err
    code, _, err = await runbookctl(env, "--force")
    assert code == 2 and "--force only goes with" in err


async def test_a_failure_recorded_while_clearing_is_not_cleared(redis: Redis, keys: Keys) -> None:
    dead = DeadLetters(redis, keys)
    await dead.add("provision:INC-3", "INC-3", "provision", "Slack down", T0, 5)
    raw = await dead.get_raw("provision:INC-3")
    assert raw is not None
    # Older replicas (mid-rollout, after a rollback) build their entry from exactly these fields.
    assert set(json.loads(raw)) == {"job_id", "incident_id", "kind", "reason", "since", "attempts"}
    await dead.add("provision:INC-3", "INC-3", "provision", "Slack still down", T0 + timedelta(seconds=10), 6)
    assert await dead.remove_if_unchanged("provision:INC-3", raw) is False
    entry = await dead.get("provision:INC-3")
    assert entry is not None and (entry.attempts, entry.since, entry.last_failure) == (
        6,
        T0.isoformat(),
        (T0 + timedelta(seconds=10)).isoformat(),
    )


async def test_an_entry_an_earlier_version_kept_apart_is_listed_and_cleared(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    # Before the shared set, a job that gave up was listed only in the zset `jobs:dead`.
    failed = {"state": "failed", "kind": "export", "attempts": 12, "error": "GitHub answered 403", "payload": "{}"}
    await redis.hset(keys.job("INC-7", "fu-F1"), mapping=failed)
    await redis.zadd(keys.jobs_dead(), {"INC-7|fu-F1": T0.timestamp()})
    env = {**os.environ, "REDIS_URL": redis_url, "REDIS_PREFIX": keys.prefix}
    env["RUNBOOK_BOT_DATA_DIR"] = str(tmp_path / "data")
    code, out, err = await runbookctl(env, "--json")
    assert code == 0, err
    [listed] = map(json.loads, out.splitlines())
    assert (listed["job_id"], listed["state"], listed["last_error"]) == (
        "job:INC-7:fu-F1",
        "failed",
        "GitHub answered 403",
    )
    assert listed["first_failure"] == T0.isoformat()
    code, out, err = await runbookctl(env, "--clear", "job:INC-7:fu-F1")
    assert code == 0, err
    assert "cleared (failed" in out
    assert await DeadLetters(redis, keys).list() == []
    assert await redis.zcard(keys.jobs_dead()) == 0

"""Several OS processes against one Redis: exactly-once firing, and recovery from a SIGKILLed claimant."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.connections import Redis
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.keys import Keys
from tests.integration.escalation.worker import fired_list

ROOT = Path(__file__).resolve().parents[3]
WORKER = "tests.integration.escalation.worker"


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", WORKER, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )


async def readline(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=20)).strip()


async def arm_many(store: TimerStore, count: int, due: datetime, kind: str) -> None:
    for start in range(0, count, 100):
        await asyncio.gather(*(store.arm(f"t{n:05d}", due, kind, {}) for n in range(start, min(start + 100, count))))


async def leases_of(redis: Redis, keys: Keys) -> dict[str, float]:
    """Every leased timer id with the lease expiry stored for it (epoch seconds), over all shards."""
    found: dict[str, float] = {}
    for shard in range(keys.timer_shards):
        found.update(
            {str(m): float(s) for m, s in await redis.zrange(keys.timers_leased(shard), 0, -1, withscores=True)}
        )
    return found


async def test_sigkilled_claimant_loses_its_lease_and_another_process_fires(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    store = TimerStore(redis, keys)
    lease_s = 2.0
    await arm_many(store, 50, datetime.now(UTC), "k")
    child = spawn("claim", redis_url, keys.prefix, str(lease_s))
    try:
        count = (await readline(child)).split()[1]
        assert int(count) == 50
        assert await store.counts() == (0, 50)
        # The lease runs from before the claim was sent, not from when the child printed: judge each
        # timer against the expiry Redis holds for it.
        lease_ends = await leases_of(redis, keys)
        assert len(lease_ends) == 50
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    fired: dict[str, float] = {}

    async def handler(t: FiredTimer) -> None:
        assert t.id not in fired
        fired[t.id] = time.time()

    scheduler = TimerScheduler(store, SchedulerConfig(tick_s=0.1, lease_s=5))
    scheduler.register("k", handler)
    await scheduler.start()
    try:
        # Liveness with a generous bound (a loaded machine only makes it slower); safety is asserted below.
        deadline = time.monotonic() + lease_s + 30
        while len(fired) < 50 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
    assert len(fired) == 50
    early = {t: round(lease_ends[t] - at, 3) for t, at in fired.items() if at < lease_ends[t]}
    assert not early, f"fired before the dead claimant's lease ran out (seconds early): {early}"
    assert await store.counts() == (0, 0)


@pytest.mark.slow
async def test_three_processes_fire_a_thousand_timers_due_in_one_second_exactly_once(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    total = 1000
    workers = [spawn("run", redis_url, keys.prefix, str(total), "25") for _ in range(3)]
    try:
        for w in workers:
            assert await readline(w) == "ready"
        store = TimerStore(redis, keys)
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        await arm_many(store, total, due, "count")
        for w in workers:
            await asyncio.to_thread(w.wait, 30)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    assert [w.returncode for w in workers] == [0, 0, 0]
    entries = [str(e) for e in await redis.lrange(fired_list(keys), 0, -1)]
    per_timer = Counter(e.split(":", 1)[1] for e in entries)
    per_process = Counter(e.split(":", 1)[0] for e in entries)
    assert len(per_timer) == total and set(per_timer.values()) == {1}, per_timer.most_common(3)
    assert sum(per_process.values()) == total
    assert await store.counts() == (0, 0)

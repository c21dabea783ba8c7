"""Benchmark durable timers: arm 10,000, fire them, print lateness p50/p99/max and the idle CPU of the scheduler.

    .venv/bin/python bench/timers.py [--timers 10000] [--spread 5] [--idle 3]

Uses REDIS_URL when set, otherwise starts an embedded Valkey in a temporary folder. Keys live under
a unique prefix and are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.connections import EmbeddedValkey, delete_matching, make_client
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import ArmRequest, TimerStore
from bot.keys import Keys


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(url: str, count: int, spread_s: float, idle_s: float) -> None:
    client = make_client(url)
    keys = Keys(prefix=f"rbbench-{uuid.uuid4().hex[:8]}")
    store = TimerStore(client, keys)
    lateness: list[float] = []
    done = asyncio.Event()

    async def handler(timer: FiredTimer) -> None:
        lateness.append(timer.lateness.total_seconds())
        if len(lateness) == count:
            done.set()

    scheduler = TimerScheduler(store, SchedulerConfig())
    scheduler.register("bench", handler)
    try:
        start = datetime.now(UTC) + timedelta(seconds=3)
        t_arm = time.perf_counter()
        for first in range(0, count, 1000):
            await store.arm_many(
                [
                    ArmRequest(f"b{n}", start + timedelta(seconds=spread_s * n / count), "bench", {"n": n})
                    for n in range(first, min(first + 1000, count))
                ]
            )
        arm_s = time.perf_counter() - t_arm
        if datetime.now(UTC) >= start:
            print("warning: arming ran past the first due time; lateness includes arming")
        await scheduler.start()
        await asyncio.wait_for(done.wait(), timeout=spread_s + 60)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(idle_s)
        idle_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    finally:
        await scheduler.stop()
        await delete_matching(client, keys.pattern())
        await client.aclose()
    ms = [x * 1000 for x in lateness]
    print(f"timers armed:      {count} over {spread_s:.0f} s (arming took {arm_s:.2f} s)")
    print(f"fired:             {len(ms)} (duplicates: {len(ms) - count})")
    print(f"lateness p50:      {statistics.median(ms):.1f} ms")
    print(f"lateness p99:      {percentile(ms, 0.99):.1f} ms")
    print(f"lateness max:      {max(ms):.1f} ms")
    print(
        f"idle CPU:          {idle_cpu * 100:.2f} % of one core over {idle_s:.0f} s (tick {scheduler.config.tick_s}s)"
    )


def main() -> None:
    """Parse arguments, find a Redis, run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which the timers fall due")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU measurement")
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if url:
        asyncio.run(run(url, args.timers, args.spread, args.idle))
        return
    with tempfile.TemporaryDirectory(prefix="rb-bench-") as tmp:
        server = EmbeddedValkey(Path(tmp))
        try:
            asyncio.run(run(server.start(), args.timers, args.spread, args.idle))
        finally:
            server.stop()


if __name__ == "__main__":
    main()

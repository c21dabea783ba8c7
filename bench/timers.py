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

from _figures import Report, add_json_argument, write

from bot.connections import EmbeddedValkey, delete_matching, make_client
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import ArmRequest, TimerStore
from bot.keys import Keys


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(url: str, count: int, spread_s: float, idle_s: float, json_path: Path | None = None) -> None:
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
    loop_ms = await loop_lateness(count, spread_s)
    print(f"asyncio call_at lateness p50/p99: {statistics.median(loop_ms):.1f} / {percentile(loop_ms, 0.99):.1f} ms")
    report = Report("timers", "durable timers (Redis, one scheduler) against bare asyncio call_at on the same schedule")
    report.conditions = {
        "timers": count,
        "spread_s": spread_s,
        "tick_s": scheduler.config.tick_s,
        "duplicates": len(ms) - count,
        "idle_cpu_percent_of_a_core": round(idle_cpu * 100, 2),
    }
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        value = statistics.median(ms) if q == 0.5 else percentile(ms, q)
        base = statistics.median(loop_ms) if q == 0.5 else percentile(loop_ms, q)
        report.add(f"lateness {name}", value, "ms", "asyncio call_at lateness", base, "lower")
    write(report, json_path)


async def loop_lateness(count: int, spread_s: float) -> list[float]:
    """Lateness in ms of `count` bare event-loop callbacks spread like the timers: the floor a timer can reach."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    done = asyncio.Event()
    start = loop.time() + 0.5

    def fire(due: float) -> None:
        late.append((loop.time() - due) * 1000)
        if len(late) == count:
            done.set()

    for n in range(count):
        due = start + spread_s * n / count
        loop.call_at(due, fire, due)
    await asyncio.wait_for(done.wait(), timeout=spread_s + 30)
    return late


def main() -> None:
    """Parse arguments, find a Redis, run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which the timers fall due")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU measurement")
    add_json_argument(parser)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if url:
        asyncio.run(run(url, args.timers, args.spread, args.idle, args.json))
        return
    with tempfile.TemporaryDirectory(prefix="rb-bench-") as tmp:
        server = EmbeddedValkey(Path(tmp))
        try:
            asyncio.run(run(server.start(), args.timers, args.spread, args.idle, args.json))
        finally:
            server.stop()


if __name__ == "__main__":
    main()

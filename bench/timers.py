"""Benchmark durable timers: lateness p50/p99 of 10,000 timers fired by 3 scheduler processes, duplicates counted.

    .venv/bin/python bench/timers.py [--timers 10000] [--replicas 3] [--spread 5] [--streamed 500] [--idle 3]

Four runs against one Redis, each with its own replica processes and key prefix:

1. due at their time: `--timers` timers armed ahead, falling due over `--spread` seconds; the schedulers
   sleep until the soonest due timer (bot/escalation/scheduler.py).
2. baseline: the same timers with each replica polling every 200 ms (the old scheduler's tick).
3. armed while the schedulers sleep: `--streamed` timers in batches of 10, 0.3 s apart, each batch armed
   50-200 ms before it falls due, so only the wake-up channel (Redis pub/sub) can fire them on time.
4. baseline: the same with the wake-up channel off (the schedulers poll every 200 ms instead).

Every fired timer is reported by the process that ran it; a timer fired twice counts as a duplicate (there
must be none). The floor is bare asyncio `call_at` on the same schedule in this process. Uses REDIS_URL
when set (a Cluster URL too), otherwise starts an embedded Valkey in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _figures import Report, add_json_argument, write

from bot.connections import EmbeddedValkey, delete_matching, make_client
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import ArmRequest, TimerStore
from bot.keys import Keys

POLL_S = 0.2  # the old scheduler's tick
STREAM_GAP_S = 0.3  # between batches of timers armed while the schedulers sleep


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Outcome:
    """One run: every firing's lateness (ms), duplicates, timers never fired, replicas' idle CPU."""

    lateness_ms: list[float]
    duplicates: int
    missing: int
    idle_cpu_percent: float
    busy_cpu_s: float  # CPU seconds of all replicas from start until every timer fired

    def line(self, name: str) -> str:
        """One printed line."""
        ms = self.lateness_ms
        return (
            f"{name:<44} p50 {statistics.median(ms):7.1f} ms  p99 {percentile(ms, 0.99):7.1f} ms  "
            f"max {max(ms):7.1f} ms  duplicates {self.duplicates}  missing {self.missing}  "
            f"idle CPU {self.idle_cpu_percent:.2f} %/replica  busy CPU {self.busy_cpu_s:.1f} s"
        )


# ---- a replica: one process, one scheduler ----


async def replica(url: str, prefix: str, mode: str) -> None:
    """Fire "bench" timers until told to stop on stdin; print every firing as JSON at the end."""
    client = make_client(url)
    keys = Keys(prefix)
    fired: list[tuple[str, float]] = []

    async def handler(timer: FiredTimer) -> None:
        fired.append((timer.id, timer.lateness.total_seconds() * 1000))

    config = SchedulerConfig() if mode == "wake" else SchedulerConfig(wake_on_arm=False, poll_s=POLL_S)
    scheduler = TimerScheduler(TimerStore(client, keys), config)
    scheduler.register("bench", handler)
    poller = None
    if mode == "poll":  # the old way: a pump every tick, whatever is due
        await scheduler.start(ticking=False)
        poller = asyncio.get_running_loop().create_task(poll(scheduler))
    else:
        await scheduler.start()
    print("ready", flush=True)
    busy0 = time.process_time()
    await asyncio.to_thread(sys.stdin.readline)  # "idle": everything has fired
    cpu0, wall0 = time.process_time(), time.perf_counter()
    busy = cpu0 - busy0
    await asyncio.to_thread(sys.stdin.readline)  # "stop"
    idle = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    if poller is not None:
        poller.cancel()
    await scheduler.stop()
    await client.aclose()
    print(json.dumps({"fired": fired, "idle_cpu": idle, "busy_cpu_s": busy}), flush=True)


async def poll(scheduler: TimerScheduler) -> None:
    """Pump on a fixed period, as the APScheduler tick did."""
    while True:
        await scheduler.pump()
        await asyncio.sleep(POLL_S)


# ---- the driver ----


class Replicas:
    """Replica processes of this script, started and stopped together."""

    def __init__(self, url: str, prefix: str, mode: str, count: int) -> None:
        argv = [sys.executable, __file__, "--replica", mode, url, prefix]
        self.procs = [
            subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(count)
        ]

    async def ready(self) -> None:
        """Wait until every replica has started its scheduler."""
        for p in self.procs:
            line = await asyncio.wait_for(asyncio.to_thread(p.stdout.readline), timeout=60)  # type: ignore[union-attr]
            if line.strip() != "ready":
                raise SystemExit(f"replica did not start: {line!r}")

    def tell(self, word: str) -> None:
        """Send one line to every replica."""
        for p in self.procs:
            p.stdin.write(word + "\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]

    async def results(self) -> list[dict[str, object]]:
        """Each replica's report, after "stop"."""
        out = []
        for p in self.procs:
            stdout, _ = await asyncio.to_thread(p.communicate, timeout=60)
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out


async def run_once(url: str, mode: str, replicas: int, plan: list[float], streamed: bool, idle_s: float) -> Outcome:
    """Start replicas, arm the timers (due at `plan`, seconds after the start), wait for all to fire, measure."""
    client = make_client(url)
    keys = Keys(prefix=f"rbbench-{uuid.uuid4().hex[:8]}")
    store = TimerStore(client, keys)
    group = Replicas(url, keys.prefix, mode, replicas)
    try:
        await group.ready()
        await asyncio.sleep(0.5)  # let every loop settle into its first sleep
        start = datetime.now(UTC) + timedelta(seconds=0.5 if streamed else 2.0)
        if streamed:
            await arm_streamed(store, start, plan)
        else:
            await arm_ahead(store, start, plan)
        last_due = start + timedelta(seconds=max(plan))
        while datetime.now(UTC) < last_due or await store.counts() != (0, 0):
            await asyncio.sleep(0.1)
            if datetime.now(UTC) > last_due + timedelta(seconds=60):
                break
        group.tell("idle")
        await asyncio.sleep(idle_s)
        group.tell("stop")
        reports = await group.results()
    finally:
        for p in group.procs:
            if p.poll() is None:
                p.kill()
        await delete_matching(client, keys.pattern())
        await client.aclose()
    fired = [(i, ms) for r in reports for i, ms in r["fired"]]  # type: ignore[attr-defined]
    counts = Counter(i for i, _ in fired)
    return Outcome(
        lateness_ms=[ms for _, ms in fired],
        duplicates=sum(n - 1 for n in counts.values()),
        missing=len(plan) - len(counts),
        idle_cpu_percent=100 * statistics.mean(float(r["idle_cpu"]) for r in reports),  # type: ignore[arg-type]
        busy_cpu_s=sum(float(r["busy_cpu_s"]) for r in reports),  # type: ignore[arg-type]
    )


async def arm_ahead(store: TimerStore, start: datetime, plan: list[float]) -> None:
    """Arm every timer before the first is due, 1,000 per round trip."""
    for first in range(0, len(plan), 1000):
        await store.arm_many(
            [
                ArmRequest(f"b{n}", start + timedelta(seconds=plan[n]), "bench", {})
                for n in range(first, min(first + 1000, len(plan)))
            ]
        )
    if datetime.now(UTC) >= start:
        print("warning: arming ran past the first due time; lateness includes arming")


async def arm_streamed(store: TimerStore, start: datetime, plan: list[float]) -> None:
    """Arm each batch of 10 timers 50-200 ms before it is due, while the schedulers sleep."""
    rng = random.Random(14)
    for first in range(0, len(plan), 10):
        due = [start + timedelta(seconds=plan[n]) for n in range(first, min(first + 10, len(plan)))]
        arm_at = min(due) - timedelta(seconds=rng.uniform(0.05, 0.2))
        wait = (arm_at - datetime.now(UTC)).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        await store.arm_many([ArmRequest(f"s{first + i}", d, "bench", {}) for i, d in enumerate(due)])


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


async def run(url: str, args: argparse.Namespace) -> None:
    """All four runs and the floor; print them and write the report."""
    ahead = [args.spread * n / args.timers for n in range(args.timers)]
    # Batches of 10 due together, 0.3 s apart: a scheduler has gone back to sleep before the next is armed.
    streamed = [STREAM_GAP_S * (n // 10) for n in range(args.streamed)]
    wake = await run_once(url, "wake", args.replicas, ahead, False, args.idle)
    print(wake.line(f"{args.timers} armed ahead, wake at due time"), flush=True)
    polled = await run_once(url, "poll", args.replicas, ahead, False, args.idle)
    print(polled.line(f"{args.timers} armed ahead, 200 ms polling tick"), flush=True)
    woken = await run_once(url, "wake", args.replicas, streamed, True, args.idle)
    print(woken.line(f"{args.streamed} armed while asleep, wake channel"), flush=True)
    deaf = await run_once(url, "deaf", args.replicas, streamed, True, args.idle)
    print(deaf.line(f"{args.streamed} armed while asleep, channel off"), flush=True)
    floor = await loop_lateness(args.timers, args.spread)
    floor_p50, floor_p99 = statistics.median(floor), percentile(floor, 0.99)
    print(f"{'asyncio call_at, same schedule':<44} p50 {floor_p50:7.1f} ms  p99 {floor_p99:7.1f} ms")
    report = Report(
        "timers",
        f"durable timers fired by {args.replicas} scheduler processes on one Redis: waking at the due time "
        "against the old 200 ms polling tick, and timers armed while the schedulers sleep with the wake-up "
        "channel on and off",
    )
    report.conditions = {
        "timers": args.timers,
        "streamed": args.streamed,
        "replicas": args.replicas,
        "spread_s": args.spread,
        "duplicates": wake.duplicates + polled.duplicates + woken.duplicates + deaf.duplicates,
        "missing": wake.missing + polled.missing + woken.missing + deaf.missing,
        "idle_cpu_percent_of_a_core_per_replica": round(wake.idle_cpu_percent, 2),
        "idle_cpu_polling": round(polled.idle_cpu_percent, 2),
        "replicas_cpu_s_while_firing": round(wake.busy_cpu_s, 1),
        "replicas_cpu_s_while_firing_polling": round(polled.busy_cpu_s, 1),
    }
    p50, p99 = statistics.median, lambda v: percentile(v, 0.99)
    report.add("lateness p50", p50(wake.lateness_ms), "ms", "200 ms polling tick", p50(polled.lateness_ms), "lower")
    report.add("lateness p99", p99(wake.lateness_ms), "ms", "200 ms polling tick", p99(polled.lateness_ms), "lower")
    report.add("lateness p99", p99(wake.lateness_ms), "ms", "asyncio call_at (the floor)", p99(floor), "lower")
    report.add(
        "armed while asleep: p99", p99(woken.lateness_ms), "ms", "wake channel off", p99(deaf.lateness_ms), "lower"
    )
    write(report, args.json)
    if report.conditions["duplicates"] or report.conditions["missing"]:
        raise SystemExit("timers fired twice or never: see the lines above")


def main() -> None:
    """Parse arguments, find a Redis, run the benchmark (or, with --replica, be one replica)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--replica":
        _, _, mode, url, prefix = sys.argv
        asyncio.run(replica(url, prefix, mode))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which the timers fall due")
    parser.add_argument("--streamed", type=int, default=500, help="timers armed while the schedulers sleep")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU measurement")
    add_json_argument(parser)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL")
    if url:
        asyncio.run(run(url, args))
        return
    with tempfile.TemporaryDirectory(prefix="rb-bench-") as tmp:
        server = EmbeddedValkey(Path(tmp))
        try:
            asyncio.run(run(server.start(), args))
        finally:
            server.stop()


if __name__ == "__main__":
    main()

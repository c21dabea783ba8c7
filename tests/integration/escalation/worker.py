"""A separate OS process for the multi-process timer tests.

python -m tests.integration.escalation.worker claim <redis_url> <prefix> <lease_s>
    claims every due timer, prints how many and when, then hangs (the test kills it with SIGKILL)
python -m tests.integration.escalation.worker run <redis_url> <prefix> <expected> <deadline_s>
    runs a TimerScheduler whose handler pushes "<pid>:<timer id>" onto a list, until the list
    holds `expected` entries or the deadline passes
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime

from bot.connections import make_client
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.keys import Keys


def fired_list(keys: Keys) -> str:
    """The list every worker records fired timers into (under the test's prefix, so it is cleaned up)."""
    return f"{keys.prefix}:test:fired"


async def claim_and_hang(url: str, prefix: str, lease_s: float) -> None:
    client = make_client(url)
    store = TimerStore(client, Keys(prefix))
    claimed = await store.claim_due(datetime.now(UTC), 10_000, lease_s)
    print(f"claimed {len(claimed)} {time.time():.6f}", flush=True)
    await asyncio.sleep(3600)


async def run(url: str, prefix: str, expected: int, deadline_s: float) -> None:
    client = make_client(url)
    keys = Keys(prefix)
    pid = os.getpid()

    async def record(timer: FiredTimer) -> None:
        await client.rpush(fired_list(keys), f"{pid}:{timer.id}")

    scheduler = TimerScheduler(TimerStore(client, keys), SchedulerConfig(tick_s=0.05, batch=50, lease_s=5))
    scheduler.register("count", record)
    await scheduler.start()
    print("ready", flush=True)
    stop_at = time.monotonic() + deadline_s
    while time.monotonic() < stop_at and await client.llen(fired_list(keys)) < expected:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await scheduler.stop()
    await client.aclose()


def main() -> None:
    mode, url, prefix, *rest = sys.argv[1:]
    if mode == "claim":
        asyncio.run(claim_and_hang(url, prefix, float(rest[0])))
    else:
        asyncio.run(run(url, prefix, int(rest[0]), float(rest[1])))


if __name__ == "__main__":
    main()

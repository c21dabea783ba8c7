"""Benchmark open_or_update: new-incident and de-duplicated paths against a raw SET NX loop on the same server.

Run: .venv/bin/python bench/store.py [--n 3000] [--concurrency 50]
Uses REDIS_URL when set, otherwise an embedded Valkey in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from _figures import Report, add_json_argument, write

from bot.alerts import Alert
from bot.connections import connect, delete_matching
from bot.incidents.store import IncidentStore
from bot.keys import Keys


async def drive(n: int, concurrency: int, op: Callable[[int], Awaitable[object]]) -> float:
    """Run op(0..n-1) with bounded concurrency; return operations per second."""
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            await op(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


def alert(group: int, fp: int) -> Alert:
    return Alert(source="bench", name="Bench", group_key=f"g{group}", fingerprint=f"f{fp}", title="bench")


async def main(n: int, concurrency: int, json_path: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        handle = await connect(os.environ.get("REDIS_URL"), Path(tmp))
        keys = Keys(prefix=f"rbbench-{uuid.uuid4().hex[:8]}")
        store = IncidentStore(handle.client, keys)
        redis = handle.client
        try:
            raw = await drive(n, concurrency, lambda i: redis.set(f"{keys.prefix}:raw:{i}", "1", nx=True))
            new = await drive(n, concurrency, lambda i: store.open_or_update(alert(i, 0)))
            dup = await drive(n, concurrency, lambda i: store.open_or_update(alert(i % 10, 0)))
        finally:
            await delete_matching(redis, keys.pattern())
            await handle.close()
    where = "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded Valkey"
    print(f"store benchmark on {where}: n={n} concurrency={concurrency}")
    print(f"  raw SET NX (ceiling)        {raw:10.0f} ops/s")
    print(f"  open_or_update new incident {new:10.0f} ops/s   ratio {new / raw:.3f} of ceiling")
    print(f"  open_or_update de-duplicated{dup:10.0f} ops/s   ratio {dup / raw:.3f} of ceiling")
    report = Report("store", "IncidentStore.open_or_update against a raw SET NX loop on the same server")
    report.conditions = {"n": n, "concurrency": concurrency, "redis": where}
    report.add("open_or_update, de-duplicated", dup, "ops/s", "raw SET NX loop", raw)
    report.add("open_or_update, new incident", new, "ops/s", "raw SET NX loop", raw)
    write(report, json_path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    add_json_argument(parser)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.concurrency, args.json))

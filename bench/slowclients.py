"""Benchmark the webhook server under slow-header clients, with and without the connection guard.

Opens N connections that each send half a request header and nothing more, then posts alerts while
they hang, then waits past the header timeout and counts what the server still holds. Runs a bare
aiohttp site (how the server ran before the guard) and the guarded one in turn. Uses REDIS_URL when
set, otherwise an embedded Valkey in a temporary folder. Loopback only; stops by itself.

    .venv/bin/python bench/slowclients.py [--slow 500] [--timeout 3] [--alerts 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import uuid
from pathlib import Path

import httpx
from _figures import Report, add_json_argument, write
from aiohttp import web
from pydantic import SecretStr

from bot.connections import EmbeddedValkey, delete_matching, make_client
from bot.incidents.store import IncidentStore
from bot.intake import StoreSink
from bot.intake.routes import add_alert_routes
from bot.keys import Keys
from bot.settings import Settings
from bot.web import connection_limits, start_http_server

TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
PARTIAL = b"POST /alerts/generic HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def open_fds() -> int:
    """File descriptors this process holds (client and server sides alike)."""
    return len(os.listdir("/proc/self/fd"))


async def serve(guarded: bool, settings: Settings, store: IncidentStore) -> tuple[web.AppRunner, int, object]:
    """The webhook app, bare (a plain TCPSite) or behind the guard; runner, port and what counts connections."""
    app = web.Application()
    add_alert_routes(app, settings, StoreSink(store))
    if guarded:
        server = await start_http_server(app, "127.0.0.1", 0, connection_limits(settings))
        return server.runner, server.port, server.guard
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1], runner.server


def held(counter: object) -> int:
    """Connections the server holds open."""
    if hasattr(counter, "open_connections"):
        return int(counter.open_connections)
    return len(counter.connections)  # type: ignore[attr-defined]


async def scenario(guarded: bool, args: argparse.Namespace, redis_url: str) -> dict[str, object]:
    """One run: slow connections, alerts meanwhile, then what is left after the timeout."""
    redis = make_client(redis_url)
    keys = Keys(prefix=f"rbbench-{uuid.uuid4().hex[:8]}")
    settings = Settings(webhook_token=SecretStr(TOKEN), http_header_timeout_s=args.timeout)
    runner, port, counter = await serve(guarded, settings, IncidentStore(redis, keys))
    loop = asyncio.get_running_loop()
    baseline = open_fds()
    slow = []
    try:
        for _ in range(args.slow):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(PARTIAL)
            slow.append((reader, writer))
        opened = loop.time()
        await asyncio.sleep(0.2)
        during = held(counter)
        latencies = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for i in range(args.alerts):
                body = json.dumps({"alerts": [{"name": f"bench-{i}", "service": "bench"}]})
                started = loop.time()
                response = await client.post("/alerts/generic", content=body, headers=HEADERS)
                latencies.append((loop.time() - started) * 1000)
                assert response.status_code == 202, response.text
        await asyncio.sleep(max(0.0, opened + args.timeout + 1.0 - loop.time()))
        after = held(counter)
        for _, writer in slow:
            writer.close()
        return {
            "server": "guarded" if guarded else "bare aiohttp",
            "held_during": during,
            "held_after_timeout": after,
            "fds_added_after_timeout": open_fds() - baseline,
            "alert_p50_ms": round(statistics.median(latencies), 1),
            "alert_max_ms": round(max(latencies), 1),
        }
    finally:
        await runner.cleanup()
        await delete_matching(redis, keys.pattern())
        await redis.aclose()


async def main() -> None:
    """Run both scenarios and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--alerts", type=int, default=20)
    add_json_argument(parser)
    args = parser.parse_args()
    embedded = None
    redis_url = os.environ.get("REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="rb-bench-") as tmp:
        if not redis_url:
            embedded = EmbeddedValkey(Path(tmp))
            redis_url = await asyncio.to_thread(embedded.start)
        try:
            rows = [await scenario(guarded, args, redis_url) for guarded in (False, True)]
        finally:
            if embedded is not None:
                embedded.stop()
    print(f"{args.slow} slow-header connections, header timeout {args.timeout:g}s, {args.alerts} alerts meanwhile")
    for row in rows:
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    write(figures(rows, args, "REDIS_URL" if embedded is None else "embedded Valkey"), args.json)


def figures(rows: list[dict[str, object]], args: argparse.Namespace, redis: str) -> Report:
    """What the guarded server holds and how fast it answers, beside the bare aiohttp site."""
    bare, guarded = rows
    report = Report("slowclients", "webhook server under slow-header clients, guarded against a bare aiohttp site")
    report.conditions = {"slow_connections": args.slow, "header_timeout_s": args.timeout, "alerts": args.alerts}
    report.conditions["redis"] = redis
    for key, unit in (("held_after_timeout", "connections"), ("alert_p50_ms", "ms"), ("alert_max_ms", "ms")):
        value, base = float(str(guarded[key])), float(str(bare[key]))
        report.add(key.replace("_", " "), value, unit, "bare aiohttp site", base, "lower")
    return report


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark alert intake: webhooks/s and p50/p99 latency for the de-duplicated and new-incident paths.

A bare aiohttp endpoint that reads the body and answers 202 is measured in the same run as
the ceiling (it includes the client and loopback cost). Uses REDIS_URL when set, otherwise an
embedded Valkey in a temporary folder. Bounded in requests and time; stops by itself.

    .venv/bin/python bench/intake.py [--requests 1500] [--concurrency 8] [--budget 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
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

ROOT = Path(__file__).resolve().parent.parent
FIRING = ROOT / "tests" / "fixtures" / "payloads" / "alertmanager" / "firing.json"
TOKEN = "bench-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@dataclass
class Result:
    """Figures of one scenario."""

    name: str
    sent: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        """Successful webhooks per second."""
        return (self.sent - self.errors) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        """Latency quantile in milliseconds."""
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q * 100) - 1]


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve the app on 127.0.0.1 with an OS-chosen port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def bare_handler(request: web.Request) -> web.Response:
    """The ceiling: read the body, answer 202."""
    await request.read()
    return web.json_response({"ok": True}, status=202)


def new_incident_bodies(count: int) -> list[bytes]:
    """Alertmanager messages, each for a group never seen before."""
    template = json.loads(FIRING.read_bytes())
    bodies = []
    for i in range(count):
        template["groupKey"] = f'{{}}:{{bench="{uuid.uuid4().hex}"}}'
        template["alerts"][0]["fingerprint"] = f"bench{i:08x}"
        bodies.append(json.dumps(template, separators=(",", ":")).encode())
    return bodies


async def drive(name: str, url: str, bodies: list[bytes], concurrency: int, budget_s: float) -> Result:
    """POST every body with `concurrency` workers, stopping at the time budget."""
    latencies: list[float] = []
    errors = 0
    cursor = iter(bodies)
    deadline = time.perf_counter() + budget_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for body in cursor:
            if time.perf_counter() > deadline:
                return
            began = time.perf_counter()
            response = await client.post(url, content=body, headers=HEADERS)
            latencies.append((time.perf_counter() - began) * 1000)
            errors += response.status_code != 202

    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    return Result(name, len(latencies), errors, seconds, latencies)


async def run(requests: int, concurrency: int, budget_s: float, redis_url: str) -> list[Result]:
    """Run the three scenarios against one Redis and return their figures."""
    keys = Keys(prefix=f"rbbench-{uuid.uuid4().hex[:8]}")
    redis = make_client(redis_url)
    bare_app = web.Application()
    bare_app.router.add_post("/alerts/{source}", bare_handler)
    app = web.Application()
    settings = Settings(webhook_token=SecretStr(TOKEN))
    add_alert_routes(app, settings, StoreSink(IncidentStore(redis, keys)))
    bare_runner, bare_url = await start(bare_app)
    runner, url = await start(app)
    firing = FIRING.read_bytes()
    try:
        per = budget_s / 3
        ceiling = await drive(
            "bare endpoint (ceiling)", bare_url + "/alerts/alertmanager", [firing] * requests, concurrency, per
        )
        async with httpx.AsyncClient() as client:  # the first delivery opens the incident the rest duplicate
            await client.post(url + "/alerts/alertmanager", content=firing, headers=HEADERS)
        dedup = await drive("de-duplicated", url + "/alerts/alertmanager", [firing] * requests, concurrency, per)
        fresh = await drive(
            "new incident", url + "/alerts/alertmanager", new_incident_bodies(requests), concurrency, per
        )
        return [ceiling, dedup, fresh]
    finally:
        await runner.cleanup()
        await bare_runner.cleanup()
        await delete_matching(redis, keys.pattern())
        await redis.aclose()


def report(results: list[Result], concurrency: int) -> None:
    """Print one row per scenario and the ratios to the ceiling."""
    print(f"concurrency {concurrency}, httpx AsyncClient over loopback")
    print(f"{'scenario':<26}{'requests':>9}{'errors':>8}{'webhooks/s':>12}{'p50 ms':>9}{'p99 ms':>9}")
    for r in results:
        print(f"{r.name:<26}{r.sent:>9}{r.errors:>8}{r.rate:>12.0f}{r.quantile(0.5):>9.2f}{r.quantile(0.99):>9.2f}")
    ceiling = results[0]
    for r in results[1:]:
        print(
            f"{r.name} / ceiling: throughput {r.rate / ceiling.rate:.2f}x, "
            f"p50 {r.quantile(0.5) / ceiling.quantile(0.5):.2f}x, p99 {r.quantile(0.99) / ceiling.quantile(0.99):.2f}x"
        )


def main() -> None:
    """Parse arguments, find or start Redis, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1500, help="requests per scenario (default 1500)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--budget", type=float, default=40.0, help="seconds for all three scenarios (default 40)")
    add_json_argument(parser)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="rb-bench-intake-") as tmp:
        embedded = None
        if not redis_url:
            embedded = EmbeddedValkey(Path(tmp))
            redis_url = embedded.start()
        try:
            results = asyncio.run(run(args.requests, args.concurrency, args.budget, redis_url))
        finally:
            if embedded is not None:
                embedded.stop()
    print(f"redis: {'REDIS_URL' if embedded is None else 'embedded Valkey'}")
    report(results, args.concurrency)
    write(figures(results, args.concurrency, "REDIS_URL" if embedded is None else "embedded Valkey"), args.json)


def figures(results: list[Result], concurrency: int, redis: str) -> Report:
    """Throughput and latency of each path beside the bare endpoint's."""
    ceiling, *paths = results
    out = Report("intake", "webhook intake over HTTP (httpx, loopback) against a bare aiohttp endpoint")
    out.conditions = {"concurrency": concurrency, "client": "httpx AsyncClient", "redis": redis}
    for r in paths:
        out.add(f"{r.name}: webhooks/s", r.rate, "req/s", "bare aiohttp endpoint", ceiling.rate)
        for q in (0.5, 0.99):
            out.add(
                f"{r.name}: p{q * 100:g}", r.quantile(q), "ms", "bare aiohttp endpoint", ceiling.quantile(q), "lower"
            )
    out.conditions["errors"] = sum(r.errors for r in results)
    out.note = (
        "client and servers share one Python process, so the baseline is bounded by what the httpx client can "
        "send, not by the bare endpoint; a load tool such as wrk in its own process measures the server alone."
    )
    return out


if __name__ == "__main__":
    main()

"""Benchmark the webhook de-dup path with wrk (its own process) against a bare aiohttp endpoint, same run.

Alertmanager re-delivers an open group's message until it resolves; each re-delivery must cost one
Redis round trip. wrk POSTs the same message over `--connections` keep-alive connections to the bare
endpoint, then to the bot's route after one delivery opened the incident. The bot's route is served as
`runbookctl serve` serves it: behind the connection guard (bot/web.py), on the same event loop (uvloop when
installed, as bot/loops.py picks it; `--loop` to choose), with the start-up heap frozen; the bare endpoint
runs in the same process, so on that same loop. Needs wrk (`apt-get install wrk`); without it the report
says so and measures nothing. Uses REDIS_URL when set, otherwise an embedded Valkey.

    .venv/bin/python bench/intake_wrk.py [--connections 32] [--seconds 10] [--loop auto|asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from _figures import Report, add_json_argument, write
from aiohttp import web
from intake import FIRING, HEADERS, TOKEN, bare_handler, start
from pydantic import SecretStr

from bot import loops
from bot.connections import EmbeddedValkey, delete_matching, make_client
from bot.incidents.store import IncidentStore
from bot.intake import StoreSink
from bot.intake.routes import add_alert_routes
from bot.keys import Keys
from bot.settings import Settings
from bot.web import start_http_server
from bot.webguard import ConnectionLimits

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class WrkResult:
    """What wrk printed for one target."""

    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def lua_script(folder: Path) -> Path:
    """A wrk script that POSTs the Alertmanager message with the bearer token."""
    body = FIRING.read_text()
    if "]==]" in body:
        raise ValueError("the message would end the Lua long string early")
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]  # a long string: bytes as they are
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in HEADERS.items()]
    path = folder / "post.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def parse(out: str) -> WrkResult:
    """Requests/s, p50 and p99 (from --latency) and non-2xx answers out of wrk's report."""

    def latency(q: str) -> float:
        m = re.search(rf"^\s*{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if m is None:
            raise RuntimeError(f"wrk printed no {q}% latency:\n{out}")
        return float(m.group(1)) * UNITS_MS[m.group(2)]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return WrkResult(float(rate.group(1)), latency("50"), latency("99"), int(bad.group(1)) if bad else 0)


async def wrk(url: str, script: Path, connections: int, seconds: int) -> WrkResult:
    """Run wrk -t1 against one URL (loopback only) and parse its report."""
    proc = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return parse(out.decode())


async def run(redis_url: str, connections: int, seconds: int, folder: Path) -> tuple[WrkResult, WrkResult]:
    """Measure the bare endpoint, then the de-dup path, against one Redis."""
    keys = Keys(prefix=f"rbbench-{uuid.uuid4().hex[:8]}")
    redis = make_client(redis_url)
    bare_app = web.Application()
    bare_app.router.add_post("/alerts/{source}", bare_handler)
    app = web.Application()
    add_alert_routes(app, Settings(webhook_token=SecretStr(TOKEN)), StoreSink(IncidentStore(redis, keys)))
    bare_runner, bare_url = await start(bare_app)
    server = await start_http_server(app, "127.0.0.1", 0, ConnectionLimits())
    url = f"http://127.0.0.1:{server.port}"
    script = lua_script(folder)
    try:
        async with httpx.AsyncClient() as client:  # the first delivery opens the incident the rest duplicate
            first = await client.post(url + "/alerts/alertmanager", content=FIRING.read_bytes(), headers=HEADERS)
            first.raise_for_status()
        loops.settle_heap()  # as `runbookctl serve` does once started
        bare = await wrk(bare_url + "/alerts/alertmanager", script, connections, seconds)
        dedup = await wrk(url + "/alerts/alertmanager", script, connections, seconds)
        return bare, dedup
    finally:
        await server.stop()
        await bare_runner.cleanup()
        await delete_matching(redis, keys.pattern())
        await redis.aclose()


def figures(bare: WrkResult, dedup: WrkResult, connections: int, seconds: int, redis: str, loop: str) -> Report:
    """The de-dup path's rate and latency beside the bare endpoint's."""
    out = Report("intake_wrk", "webhook de-dup path under wrk (own process) against a bare aiohttp endpoint")
    out.conditions = {"connections": connections, "threads": 1, "seconds": seconds, "redis": redis, "loop": loop}
    out.conditions["non-2xx"] = bare.non_2xx + dedup.non_2xx
    out.add("de-dup path: webhooks/s", dedup.rate, "req/s", "bare aiohttp endpoint", bare.rate)
    out.add("de-dup path: p50", dedup.p50_ms, "ms", "bare aiohttp endpoint", bare.p50_ms, "lower")
    out.add("de-dup path: p99", dedup.p99_ms, "ms", "bare aiohttp endpoint", bare.p99_ms, "lower")
    out.note = (
        "bot, bare endpoint and Redis share the machine's cores with wrk; both targets run in one process, on one "
        "event loop; the bot's route behind the connection guard, as served in production."
    )
    return out


def main() -> None:
    """Parse arguments, find or start Redis, run wrk twice, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per target (default 10)")
    parser.add_argument(
        "--loop", choices=loops.CHOICES, default="auto", help="event loop of both targets (default auto: as the bot)"
    )
    add_json_argument(parser)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        report = Report("intake_wrk", "webhook de-dup path under wrk against a bare aiohttp endpoint")
        report.skipped = "wrk is not installed (apt-get install wrk)"
        print(report.skipped)
        write(report, args.json)
        return
    redis_url = os.environ.get("REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="rb-bench-wrk-") as tmp:
        embedded = None
        if not redis_url:
            embedded = EmbeddedValkey(Path(tmp))
            redis_url = embedded.start()
        try:
            bare, dedup = loops.run(run(redis_url, args.connections, args.seconds, Path(tmp)), args.loop)
        finally:
            if embedded is not None:
                embedded.stop()
    where = "REDIS_URL" if embedded is None else "embedded Valkey"
    loop = loops.loop_name(loops.loop_factory(args.loop))
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, redis: {where}, loop: {loop}")
    for name, r in (("bare endpoint", bare), ("de-dup path", dedup)):
        row = f"{r.rate:>10.0f} req/s   p50 {r.p50_ms:7.2f} ms   p99 {r.p99_ms:7.2f} ms"
        print(f"  {name:<14}{row}   non-2xx {r.non_2xx}")
    print(f"  ratio {dedup.rate / bare.rate:.2f}x of the bare endpoint")
    write(figures(bare, dedup, args.connections, args.seconds, where, loop), args.json)


if __name__ == "__main__":
    main()

"""Benchmark alert → evidence and alert → plan posted, end to end, against the slowest diagnostic probe.

The whole bot runs against the Slack emulator with Slack's rate limits enforced, real Redis, and a
loopback service whose /health probe takes `--probe-ms`; each round POSTs a new alert group and reads
the Slack timestamps of the evidence summary and the plan. The probe's own time is the baseline: what
the bot adds over it is its cost. Rounds start `--gap-s` apart, so each alert meets a quiet bot (Slack
allows about one conversations.create every 3 s, tier 2; back to back, rounds would measure that tier).
Uses REDIS_URL when set, otherwise an embedded Valkey.

    .venv/bin/python bench/alert_to_plan.py [--rounds 8] [--probe-ms 200] [--gap-s 3.2]
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
from pathlib import Path

import httpx
from _figures import Report, add_json_argument, write
from aiohttp import web

from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, start_sandbox

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = ROOT / "tests" / "fixtures" / "bot_runbooks"


def payload(group: str, health_url: str) -> bytes:
    """An Alertmanager message for a group never seen before (the runbook probes `health_url`)."""
    labels = {"alertname": "ApiLatencyHigh", "service": "api", "severity": "critical", "group": group}
    annotations = {"summary": f"API latency high ({group})", "health_url": health_url, "notify_url": health_url}
    alert = {"status": "firing", "labels": labels, "annotations": annotations, "fingerprint": f"fp-{group}"}
    alert |= {"startsAt": "2026-11-23T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}
    message = {"version": "4", "groupKey": f'{{}}:{{group="{group}"}}', "status": "firing", "alerts": [alert]}
    message |= {"receiver": "runbook-bot", "groupLabels": {"group": group}, "commonLabels": labels}
    return json.dumps(message).encode()


async def slow_health(delay_s: float) -> tuple[web.AppRunner, str]:
    """A loopback service whose health check answers after `delay_s`."""

    async def health(request: web.Request) -> web.Response:
        await asyncio.sleep(delay_s)
        return web.json_response({"ok": False}, status=500)

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/health"


async def run(rounds: int, probe_ms: float, gap_s: float, data_dir: Path) -> tuple[list[float], list[float]]:
    """Milliseconds from each POST to its evidence summary and to its plan, by Slack timestamp."""
    runner, health_url = await slow_health(probe_ms / 1000)
    stack = await start_sandbox(
        redis_url=os.environ.get("REDIS_URL"),
        redis_prefix=f"rbbench-{uuid.uuid4().hex[:8]}",
        runbooks_path=RUNBOOKS,
        data_dir=data_dir,
        rate_limits=True,
        shell_allowlist=["echo"],
        http_allowed_hosts=["127.0.0.1:*"],
    )
    evidence, plan = [], []
    began = time.time()
    headers = {"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
            for n in range(1, rounds + 1):
                group = f"b{n}"
                if n > 1:
                    await asyncio.sleep(max(0.0, gap_s - (time.time() - began)))
                began = time.time()
                (
                    await client.post("/alerts/alertmanager", content=payload(group, health_url), headers=headers)
                ).raise_for_status()
                name = f"inc-{n}-api-api-latency-high-{group}"
                posted = await stack.emulator.wait_for_message(name, "Next safe step", timeout=30)
                summary = await stack.emulator.wait_for_message(name, "Diagnostics", timeout=5)
                evidence.append((float(summary.ts) - began) * 1000)
                plan.append((float(posted.ts) - began) * 1000)
                await stack.bot.services.tasks.join(within=30)  # type: ignore[union-attr]
    finally:
        await stack.stop()
        await runner.cleanup()
    return evidence, plan


def main() -> None:
    """Parse arguments, run the rounds, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=8, help="alerts, one after the other (default 8)")
    parser.add_argument("--probe-ms", type=float, default=200.0, help="the slowest probe's time (default 200)")
    parser.add_argument("--gap-s", type=float, default=3.2, help="seconds between alerts (default 3.2)")
    add_json_argument(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rb-bench-plan-") as tmp:
        evidence, plan = asyncio.run(run(args.rounds, args.probe_ms, args.gap_s, Path(tmp)))
    out = Report(
        "alert_to_plan", "alert → evidence and plan posted in Slack (emulator, limits on) over the slowest probe"
    )
    out.conditions = {
        "rounds": args.rounds,
        "gap_s": args.gap_s,
        "probe_ms": args.probe_ms,
        "slack": "emulator, rate limits enforced",
    }
    out.conditions["redis"] = "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded Valkey"
    for label, values in (("evidence", evidence), ("plan", plan)):
        p50 = statistics.median(values)
        over = p50 - args.probe_ms
        shown = f"p50 {p50:7.1f} ms ({over:+.1f} ms over the {args.probe_ms:g} ms probe), max {max(values):7.1f} ms"
        print(f"alert → {label} posted: {shown}")
        out.add(f"alert → {label} posted: p50", p50, "ms", "slowest probe", args.probe_ms, "lower")
        out.add(f"alert → {label} posted: over the probe, p50", over, "ms", "slowest probe", args.probe_ms, "lower")
    write(out, args.json)


if __name__ == "__main__":
    main()

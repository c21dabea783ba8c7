"""Benchmark the diagnostics runner: 50 diagnostics of 200 ms each, against the 200 ms a parallel runner needs.

Two workloads: a hook that sleeps 200 ms (the runner alone), and http_check against a local server that answers
after 200 ms (runner plus a real HTTP round trip). Prints total / slowest step (1.00 is the physical limit) and the
runner's own overhead (total minus the slowest step).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import ClassVar

from _figures import Report, add_json_argument, write
from aiohttp import web
from pydantic import BaseModel

from bot.engine.diagnose import run_diagnostics
from bot.engine.types import DiagnosticPlan, DiagnosticResult, HookOutput
from bot.settings import Settings
from hooks.base import BaseDiagnostic, Hook, HookContext
from hooks.registry import load_hooks


class SleepConfig(BaseModel):
    """How long the step takes."""

    seconds: float


class Sleep(BaseDiagnostic):
    """A step that takes exactly its configured time."""

    name: ClassVar[str] = "bench_sleep"
    help: ClassVar[str] = "sleeps"
    config_model: ClassVar[type[SleepConfig]] = SleepConfig

    async def run(self, config: SleepConfig, ctx: HookContext) -> HookOutput:
        """Sleep, then report the step's duration."""
        await asyncio.sleep(config.seconds)
        return HookOutput(value=config.seconds)


async def _slow_server(delay_s: float) -> tuple[web.AppRunner, str]:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(delay_s)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/slow"


async def _round(plans: list[DiagnosticPlan], ctx: HookContext, hooks: dict[str, Hook]) -> tuple[float, float]:
    started = time.perf_counter()
    results: list[DiagnosticResult] = await run_diagnostics(plans, ctx, deadline_s=30, hooks=hooks)
    total_ms = (time.perf_counter() - started) * 1000
    bad = [r for r in results if r.error]
    if bad:
        raise SystemExit(f"benchmark step failed: {bad[0].error}")
    return total_ms, max(r.duration_ms for r in results)


def _report(label: str, rounds: list[tuple[float, float]], step_ms: float) -> tuple[float, float]:
    total = statistics.median(t for t, _ in rounds)
    slowest = statistics.median(s for _, s in rounds)
    print(
        f"{label:<22} total {total:7.1f} ms | slowest step {slowest:6.1f} ms | "
        f"total/slowest {total / slowest:5.3f} | total/{step_ms:g} ms {total / step_ms:5.3f} | "
        f"runner overhead {total - slowest:5.1f} ms"
    )
    return total, slowest


async def main(count: int, step_ms: float, repeat: int, json_path: Path | None = None) -> None:
    """Run both workloads `repeat` times and print the medians."""
    ctx = HookContext(settings=Settings(_env_file=None))
    hooks: dict[str, Hook] = {**load_hooks(), "bench_sleep": Sleep()}
    sleep_plans = [
        DiagnosticPlan(id=f"s{i}", name=f"s{i}", hook="bench_sleep", config={"seconds": step_ms / 1000})
        for i in range(count)
    ]
    runner, url = await _slow_server(step_ms / 1000)
    http_plans = [
        DiagnosticPlan(id=f"h{i}", name=f"h{i}", hook="http_check", config={"urls": [url]}) for i in range(count)
    ]
    try:
        print(f"{count} diagnostics of {step_ms:g} ms each, median of {repeat} rounds")
        sleep = _report("sleep hook", [await _round(sleep_plans, ctx, hooks) for _ in range(repeat)], step_ms)
        http = _report("http_check (loopback)", [await _round(http_plans, ctx, hooks) for _ in range(repeat)], step_ms)
    finally:
        await runner.cleanup()
    report = Report("diagnostics", f"{count} diagnostics run in parallel against the slowest single step")
    report.conditions = {"diagnostics": count, "step_ms": step_ms, "rounds (median)": repeat}
    for label, (total, slowest) in (("sleep hook", sleep), ("http_check, loopback", http)):
        report.add(f"{label}: all {count} done", total, "ms", "slowest single step", slowest, "lower")
    write(report, json_path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--step-ms", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=5)
    add_json_argument(parser)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.step_ms, args.repeat, args.json))

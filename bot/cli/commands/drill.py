"""`runbookctl drill --scenario NAME`: a game day against its own in-process sandbox, ending with a report."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import uuid
from pathlib import Path

from bot.cli.base import Command
from bot.errors import BotError
from bot.logs import configure_logging
from bot.sandbox.demo import demo_scenarios
from bot.sandbox.demo_service import DemoService
from bot.sandbox.drill import Decide, Drill, DrillReport, approve_all
from bot.sandbox.session import start_demo_sandbox
from bot.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `runbookctl drill`."""
    names = [s.name for s in demo_scenarios("http://127.0.0.1/", DemoService())]
    parser.add_argument("--scenario", required=True, choices=names, help="which demo scenario to fire")
    parser.add_argument("--interactive", action="store_true", help="ask before approving each offered step")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the incident to resolve")


async def ask(step: str, name: str, person: str) -> bool:
    """Interactive mode: the person at the terminal decides."""
    # The question goes to stderr, so `--format json` keeps stdout parseable.
    print(f"Approve step {step} ({name}) as {person}? [Y/n] ", end="", file=sys.stderr, flush=True)
    answer = await asyncio.to_thread(sys.stdin.readline)
    return answer.strip().lower() in ("", "y", "yes")


async def run_drill(scenario: str, decide: Decide, timeout_s: float) -> DrillReport:
    """Its own sandbox (a fresh key prefix; embedded Valkey in a temporary folder without REDIS_URL), one drill."""
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="runbook-drill-") as scratch:
        data_dir = settings.data_dir if settings.redis_url else Path(scratch)
        prefix = f"drill-{uuid.uuid4().hex[:8]}"
        sandbox = await start_demo_sandbox(settings, prefix=prefix, data_dir=data_dir)
        try:
            return await Drill(sandbox, decide, timeout_s).run(scenario)
        finally:
            await sandbox.stop()


def run(args: argparse.Namespace) -> int:
    """Run the drill and print the report; exit 0 only when the incident resolved."""
    configure_logging("ERROR", "text")
    try:
        report = asyncio.run(run_drill(args.scenario, ask if args.interactive else approve_all, args.timeout))
    except (BotError, TimeoutError) as exc:
        print(f"runbookctl drill: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_json(), indent=2) if args.format == "json" else report.text())
    return 0 if report.resolved and not report.problems else 1


COMMAND = Command("drill", "A game day: fire a demo scenario in a sandbox, respond, and report.", run, add_arguments)

"""runbookctl report overrides: the actions that most often needed a human, from the audit log."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from bot.cli.base import Command
from bot.cli.commands.audit import parse_since, read_events
from bot.incidents.models import AuditEvent


@dataclass
class OverrideRow:
    """How one action in one environment was decided."""

    action: str
    environment: str
    human_approvals: int = 0
    automatic_runs: int = 0
    refusals: int = 0
    skips: int = 0

    @property
    def human_share(self) -> float:
        """Share of runs a person had to approve."""
        runs = self.human_approvals + self.automatic_runs
        return self.human_approvals / runs if runs else 0.0


def overrides(events: Iterable[AuditEvent]) -> list[OverrideRow]:
    """Per runbook step and environment: human approvals, automatic runs, refusals and skips; most human first."""
    rows: dict[tuple[str, str], OverrideRow] = {}
    # Approval ids already counted, so a second approver of one request is not a second run.
    counted: defaultdict[str, set[str]] = defaultdict(set)
    for event in events:
        key = (f"{event.data.get('runbook', '?')}/{event.step or '?'}", str(event.data.get("environment", "?")))
        row = rows.setdefault(key, OverrideRow(*key))
        approval = str(event.data.get("approval", ""))
        if event.action == "approval.approved" and event.outcome == "approved":
            if approval not in counted["human"]:
                counted["human"].add(approval)
                row.human_approvals += 1
        elif event.action == "step.execution" and event.actor == "bot":
            row.automatic_runs += 1
        elif event.action == "approval.refused":
            row.refusals += 1
        elif event.action == "approval.skipped":
            row.skips += 1
    return sorted(rows.values(), key=lambda r: (-r.human_approvals, -r.refusals, r.action))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which report, and the window."""
    parser.add_argument("report", choices=["overrides"])
    parser.add_argument("--since", default=None, help="ISO time or a duration back from now (30m, 2h, 7d)")
    parser.add_argument("--format", choices=["text", "json"], default="text")


def run(args: argparse.Namespace) -> int:
    """Print the report."""
    since = parse_since(args.since) if args.since else None
    rows = [r for r in overrides(asyncio.run(read_events(None, since))) if r.human_approvals or r.automatic_runs]
    if args.format == "json":
        print(json.dumps([{**asdict(r), "human_share": round(r.human_share, 3)} for r in rows], indent=2))
        return 0
    print(f"{'action':<40} {'env':<10} {'human':>6} {'auto':>6} {'refused':>8} {'skipped':>8}")
    for r in rows:
        counts = f"{r.human_approvals:>6} {r.automatic_runs:>6} {r.refusals:>8} {r.skips:>8}"
        print(f"{r.action:<40} {r.environment:<10} {counts}")
    return 0


COMMAND = Command(
    "report",
    "Reports from the audit log: `overrides` lists actions that most often needed a human.",
    run,
    add_arguments,
)

"""`runbookctl postmortem INC-n`: a Markdown post-mortem draft from the incident's timeline and audit log."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.base import Command
from bot.cli.stored import known_incident, stored_incidents
from bot.incidents.postmortem import draft_postmortem


async def read_draft(incident_id: str) -> str:
    """Load the incident, its timeline and audit records, and draft."""
    async with stored_incidents() as store:
        incident = await known_incident(store, incident_id)
        timeline = await store.read_timeline(incident_id)
        audit = await store.read_audit(incident_id=incident_id)
    return draft_postmortem(incident, timeline, audit)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The incident and where to write."""
    parser.add_argument("incident", help="incident id, e.g. INC-42")
    parser.add_argument("--output", type=Path, default=None, help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    """Print or write the draft."""
    draft = asyncio.run(read_draft(args.incident.upper()))
    if args.output:
        args.output.write_text(draft)
        print(f"wrote {args.output}")
    else:
        print(draft)
    return 0


COMMAND = Command(
    "postmortem", "Draft a post-mortem in Markdown from an incident's timeline and audit log.", run, add_arguments
)

"""`runbookctl postmortem INC-n`: a Markdown post-mortem draft from the incident's timeline and audit log.

People are named by the display names the bot cached in Redis when it saw them (users.info); anyone it
never resolved keeps their Slack user id. No Slack call is made.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.base import Command
from bot.cli.stored import known_incident, stored_incidents
from bot.incidents.names import NameCache
from bot.incidents.postmortem import md
from bot.incidents.postmortem_source import read_postmortem_record


async def read_draft(incident_id: str) -> str:
    """Load the incident, its timeline, audit records and follow-ups, and draft with cached names."""
    async with stored_incidents() as store:
        await known_incident(store, incident_id)  # an unknown id names the key prefix that was read
        record = await read_postmortem_record(store, incident_id)
        names = await NameCache(store.redis, store.keys).get_many(record.user_ids())
    return record.draft(lambda user_id: md(names[user_id]) if user_id in names else user_id)


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

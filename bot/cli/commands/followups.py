"""runbookctl followups: the incidents' action items, with their status and tracker link."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.base import Command
from bot.cli.stored import stored_incidents
from bot.followups.models import FollowUp
from bot.followups.store import FollowUpStore


async def read_followups(open_only: bool, incident: str | None) -> list[FollowUp]:
    """Follow-ups from REDIS_URL, or from the embedded store in the data dir."""
    async with stored_incidents() as store:
        return await FollowUpStore(store.redis, store.keys).list_all(open_only, incident)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters."""
    parser.add_argument("--open", action="store_true", help="only outstanding follow-ups")
    parser.add_argument("--incident", default=None, help="only this incident (INC-42)")


def format_line(item: FollowUp) -> str:
    """One tab-separated line: id, status, owner, tracker link, text."""
    return "\t".join([item.id, item.status.value, item.owner or "-", item.tracker_url or "-", item.text])


def run(args: argparse.Namespace) -> int:
    """Print one line per follow-up."""
    incident = args.incident.upper() if args.incident else None
    items = asyncio.run(read_followups(args.open, incident))
    for item in items:
        print(format_line(item))
    if not items:
        print("no follow-ups")
    return 0


COMMAND = Command("followups", "List follow-ups (--open, --incident INC-n).", run, add_arguments)

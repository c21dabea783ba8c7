"""runbookctl deadletters: the dead-letter set with each job's state; clear entries without hiding work that fails."""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.cli.base import Command
from bot.cli.stored import stored_incidents
from bot.jobs.review import Cleared, DeadLetterReview, Reviewed

COLUMNS = ("JOB", "KIND", "INCIDENT", "ATTEMPTS", "FIRST FAILURE", "LAST FAILURE", "STATE", "LAST ERROR")


async def review(clear: str | None, clear_all: bool, force: bool) -> list[Reviewed] | list[Cleared]:
    """The entries, or the outcome of clearing one or all of them, from the store the bot uses."""
    async with stored_incidents() as store:
        dead = DeadLetterReview(store.redis, store.keys)
        if clear is not None:
            return [await dead.clear(clear, force)]
        if clear_all:
            return await dead.clear_all(force)
        return await dead.entries()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--clear ID | --clear-all, --force, --json."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--clear", metavar="ID", default=None, help="remove this entry (its job id)")
    which.add_argument("--clear-all", action="store_true", help="remove every entry whose job is not retrying")
    parser.add_argument("--force", action="store_true", help="clear entries of jobs still retrying too")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def format_line(item: Reviewed) -> str:
    """One tab-separated line in the order of COLUMNS."""
    e = item.entry
    error = " ".join(e.reason.split())  # one line per entry, whatever the error said
    fields = [e.job_id, e.kind, e.incident_id, str(e.attempts), e.since, e.last_failure, item.state.value, error]
    return "\t".join(fields)


def run(args: argparse.Namespace) -> int:
    """List, or clear: 0 when done, 1 when an entry was kept because its job is still failing."""
    if args.force and args.clear is None and not args.clear_all:
        print("runbookctl deadletters: --force only goes with --clear ID or --clear-all")
        return 2
    results = asyncio.run(review(args.clear, args.clear_all, args.force))
    listed = [r for r in results if isinstance(r, Reviewed)]
    cleared = [r for r in results if isinstance(r, Cleared)]
    if args.json:
        for item in listed:
            print(json.dumps(item.to_json()))
        for done in cleared:
            print(
                json.dumps(
                    {
                        "job_id": done.job_id,
                        "cleared": done.removed,
                        "state": done.state.value,
                        "message": done.message,
                        "still_failing": done.still_failing,
                    }
                )
            )
    elif args.clear is None and not args.clear_all:
        print("\t".join(COLUMNS) if listed else "no dead letters")
        for item in listed:
            print(format_line(item))
    else:
        for done in cleared:
            print(f"{done.job_id}: {done.message}")
        if not cleared:
            print("no dead letters")
    return 1 if any(c.still_failing and not c.removed for c in cleared) else 0


COMMAND = Command(
    "deadletters",
    "List the dead-letter set (jobs past their failure threshold); --clear ID or --clear-all removes entries.",
    run,
    add_arguments,
)

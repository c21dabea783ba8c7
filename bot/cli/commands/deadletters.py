"""runbookctl deadletters: the dead-letter set with each job's state; clear entries without hiding work that fails."""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.cli.base import Command
from bot.cli.stored import stored_incidents
from bot.errors import InvalidInput
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
    clearing = args.clear is not None or args.clear_all
    if args.force and not clearing:
        raise InvalidInput("--force only goes with --clear ID or --clear-all")
    results = asyncio.run(review(args.clear, args.clear_all, args.force))
    if args.json:
        for result in results:
            print(json.dumps(result.to_json()))
    elif not results:
        print("no dead letters")
    elif clearing:
        for result in results:
            assert isinstance(result, Cleared)
            print(f"{result.job_id}: {result.message}")
    else:
        print("\t".join(COLUMNS))
        for result in results:
            assert isinstance(result, Reviewed)
            print(format_line(result))
    kept = [r for r in results if isinstance(r, Cleared) and r.still_failing and not r.removed]
    return 1 if kept else 0


COMMAND = Command(
    "deadletters",
    "List the dead-letter set (jobs past their failure threshold); --clear ID or --clear-all removes entries.",
    run,
    add_arguments,
)

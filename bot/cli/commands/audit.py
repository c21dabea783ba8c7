"""runbookctl audit: the audit log as JSON lines, for one incident and from a time on."""

from __future__ import annotations

import argparse
import asyncio
import re
from datetime import UTC, datetime, timedelta

from bot.cli.base import Command
from bot.cli.stored import known_incident, stored_incidents
from bot.errors import InvalidInput
from bot.incidents.models import AuditEvent

_AGO = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO time (UTC if no zone) or a duration back from now: 30m, 2h, 7d."""
    found = _AGO.match(text.strip())
    if found:
        return (now or datetime.now(UTC)) - timedelta(**{_UNIT[found.group(2)]: int(found.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--since {text!r}: use an ISO time or a duration like 30m, 2h, 7d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def read_events(incident: str | None, since: datetime | None) -> list[AuditEvent]:
    """Audit events from REDIS_URL, or from the embedded store in the data dir."""
    async with stored_incidents() as store:
        if incident is not None:
            await known_incident(store, incident)  # an unknown incident is an error, not an empty log
        return await store.read_audit(incident_id=incident, since=since)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters."""
    parser.add_argument("--incident", default=None, help="only this incident (INC-42)")
    parser.add_argument("--since", default=None, help="ISO time or a duration back from now (30m, 2h, 7d)")


def run(args: argparse.Namespace) -> int:
    """Print one JSON object per line."""
    since = parse_since(args.since) if args.since else None
    incident = args.incident.upper() if args.incident else None
    for event in asyncio.run(read_events(incident, since)):
        print(event.to_json())
    return 0


COMMAND = Command("audit", "Print the audit log as JSON lines (--incident, --since).", run, add_arguments)

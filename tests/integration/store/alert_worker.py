"""Run open_or_update for a batch of alerts from a separate OS process (used by the concurrency test)."""

from __future__ import annotations

import asyncio
import json
import sys

from bot.alerts import Alert
from bot.connections import make_client
from bot.incidents.store import IncidentStore
from bot.keys import Keys


async def main(url: str, prefix: str, path: str) -> None:
    """Send every alert in the JSON file concurrently."""
    with open(path) as fh:
        alerts = [Alert.model_validate(a) for a in json.load(fh)]
    client = make_client(url)
    store = IncidentStore(client, Keys(prefix))
    await asyncio.gather(*(store.open_or_update(a) for a in alerts))
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))

"""Run open_or_update for a batch of alerts from a separate OS process (used by the concurrency test)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.alerts import Alert
from bot.connections import make_client
from bot.incidents.store import IncidentStore
from bot.keys import Keys


async def send_all(url: str, prefix: str, alerts: list[Alert]) -> None:
    """Send every alert concurrently."""
    client = make_client(url)
    store = IncidentStore(client, Keys(prefix))
    await asyncio.gather(*(store.open_or_update(a) for a in alerts))
    await client.aclose()


if __name__ == "__main__":
    batch = [Alert.model_validate(a) for a in json.loads(Path(sys.argv[3]).read_text())]
    asyncio.run(send_all(sys.argv[1], sys.argv[2], batch))

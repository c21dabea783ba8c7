"""Run open_or_update for a batch of alerts from a separate OS process (used by the concurrency test)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.alerts import Alert
from bot.connections import RedisTimeouts, make_client
from bot.incidents.store import IncidentStore
from bot.keys import Keys


async def send_all(url: str, prefix: str, alerts: list[Alert]) -> None:
    """Send every alert concurrently."""
    # Patient, like the test's own clients: this process tests atomicity, not deadlines.
    client = make_client(url, timeouts=RedisTimeouts(socket_s=30.0, connect_s=30.0, pool_wait_s=30.0))
    store = IncidentStore(client, Keys(prefix))
    await asyncio.gather(*(store.open_or_update(a) for a in alerts))
    await client.aclose()


if __name__ == "__main__":
    batch = [Alert.model_validate(a) for a in json.loads(Path(sys.argv[3]).read_text())]
    asyncio.run(send_all(sys.argv[1], sys.argv[2], batch))

"""Reading the bot's store from a command: REDIS_URL, or the embedded Valkey in the data folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.redis_topology import connect_configured
from bot.settings import load_settings


@asynccontextmanager
async def stored_incidents() -> AsyncIterator[IncidentStore]:
    """The incident store the running bot uses, closed (and an embedded server stopped) afterwards."""
    settings = load_settings()
    handle = await connect_configured(settings)
    try:
        yield IncidentStore(handle.client, Keys(settings.redis_prefix))
    finally:
        await handle.close()

"""Reading the bot's store from a command: REDIS_URL, or the embedded Valkey in the data folder.

When the data folder holds a sandbox's state file (`sandbox.json`) and REDIS_PREFIX is not set, commands read
the sandbox's data: its key prefix, through its store while it runs, or its embedded Valkey's files after.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.connections import connect, redis_timeouts
from bot.errors import InvalidInput
from bot.incidents.models import Incident
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.redis_topology import connect_configured
from bot.sandbox.statefile import read_state, state_path
from bot.settings import Settings, load_settings


@dataclass(frozen=True)
class Source:
    """Which store and key prefix a command reads, and a note saying so when it is not the plain settings."""

    redis_url: str | None
    prefix: str
    note: str = ""


def source_of(settings: Settings, environ: dict[str, str] | None = None) -> Source:
    """The sandbox's store and prefix when its state file is there and REDIS_PREFIX is unset; else the settings."""
    env = os.environ if environ is None else environ
    state = read_state(settings.data_dir)
    if state is None or "REDIS_PREFIX" in env:
        return Source(settings.redis_url, settings.redis_prefix)
    # A stopped sandbox's embedded Valkey is started again on its files; a running one is asked directly.
    url = state.redis_url if state.running() or not state.embedded else None
    note = (
        f"reading the sandbox's data: key prefix {state.prefix!r} (from {state_path(settings.data_dir)}); "
        "set REDIS_PREFIX to read another prefix"
    )
    return Source(url, state.prefix, note)


@asynccontextmanager
async def stored_incidents() -> AsyncIterator[IncidentStore]:
    """The incident store the running bot uses, closed (and an embedded server stopped) afterwards."""
    settings = load_settings()
    source = source_of(settings)
    if source.note:
        print(source.note, file=sys.stderr)
    # The sandbox's own store is one node; otherwise the configured topology (Sentinel, Cluster, one node).
    handle = (
        await connect(source.redis_url, settings.data_dir, redis_timeouts(settings))
        if source.note
        else await connect_configured(settings)
    )
    try:
        yield IncidentStore(handle.client, Keys(source.prefix))
    finally:
        await handle.close()


async def known_incident(store: IncidentStore, incident_id: str) -> Incident:
    """The incident, or InvalidInput naming the key prefix that was read and how to read another."""
    incident = await store.get_incident(incident_id)
    if incident is None:
        raise InvalidInput(
            f"no incident {incident_id} under the key prefix {store.keys.prefix!r} "
            "(set REDIS_PREFIX, and REDIS_URL or RUNBOOK_BOT_DATA_DIR, to read another store)"
        )
    return incident

"""Webhooks answer once a replica holds their writes (WAIT); without the replica they answer after the timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alerts import Alert
from bot.connections import make_client
from bot.incidents.store import IncidentStore
from bot.intake.batch import IntakeBatch
from bot.intake.sink import StoreSink
from bot.keys import Keys
from bot.replicafence import FencedSink, ReplicaFence, fenced
from tests.redis_servers import ServerProcess, primary_with_replica


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with primary_with_replica(tmp_path) as pair:
        yield pair


def alert(n: int) -> Alert:
    return Alert(source="generic", name="Fence", group_key=f"fence-{n}", fingerprint=f"fp-{n}", title=f"fence {n}")


@pytest.mark.slow
async def test_the_answer_waits_for_the_replica_and_survives_its_loss(
    servers: tuple[ServerProcess, ServerProcess], keys: Keys
) -> None:
    primary, replica = servers
    client = make_client(f"redis://127.0.0.1:{primary.port}/0")
    try:
        store = IncidentStore(client, keys)
        fence = ReplicaFence(client, keys, replicas=1, timeout_ms=300)
        sink = fenced(StoreSink(store), fence)
        assert isinstance(sink, FencedSink)

        [outcome] = await sink.accept(IntakeBatch(source="generic", alerts=[alert(1)]))
        assert outcome.created and fence.timeouts == 0
        # WAIT returned 1: the replica already holds the incident the answer reports.
        copy = replica.client().hget(keys.incident(outcome.incident.id), "data")  # type: ignore[union-attr]
        assert copy is not None and "fence 1" in copy

        await asyncio.to_thread(replica.kill)
        started = time.monotonic()
        [outcome] = await sink.accept(IntakeBatch(source="generic", alerts=[alert(2)]))
        waited = time.monotonic() - started
        # No replica acknowledges: the write stands on the primary and the sender still gets its answer.
        assert outcome.created and fence.timeouts == 1
        assert 0.25 <= waited < 2.0
        assert await store.get_incident(outcome.incident.id) is not None  # type: ignore[union-attr]
    finally:
        await client.aclose()


def test_no_fence_without_replicas_asked(keys: Keys) -> None:
    client = make_client("redis://127.0.0.1:1/0")
    sink = StoreSink(IncidentStore(client, keys))
    assert fenced(sink, ReplicaFence(client, keys, replicas=0, timeout_ms=300)) is sink

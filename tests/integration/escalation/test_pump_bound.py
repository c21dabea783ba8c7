"""A Redis that accepts connections and never answers: each pump tick gives up on time, none stacks up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.connections import RedisTimeouts, make_client
from bot.escalation.scheduler import SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.keys import Keys
from tests.manual_clock import ManualClock, eventually

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A loopback TCP server that reads whatever it is sent and never replies (a hung Redis)."""
    connections: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"redis://127.0.0.1:{port}/0"
    for writer in connections:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_hung_tick_is_given_up_and_the_next_tick_runs(silent_server: str) -> None:
    clock = ManualClock(T0)
    # Real socket timeouts far beyond the test: only the tick bound (on the manual clock) can end a tick.
    client = make_client(silent_server, timeouts=RedisTimeouts(socket_s=300, connect_s=300, pool_wait_s=300))
    scheduler = TimerScheduler(
        TimerStore(client, Keys("rbtest-hung")), SchedulerConfig(tick_timeout_s=2.0), clock=clock.now, sleep=clock.sleep
    )
    try:
        first = asyncio.ensure_future(scheduler.pump())
        await eventually(lambda: clock.sleepers == 1)  # the tick is waiting on Redis, bounded by the clock
        assert await scheduler.pump() == 0  # a second tick meanwhile does not stack up behind the first
        await clock.advance(1.9)
        assert not first.done()
        await clock.advance(0.1)
        assert await first == 0 and scheduler.stats.stalled_ticks == 1
        second = asyncio.ensure_future(scheduler.pump())  # the lock was released: the next tick runs
        await eventually(lambda: clock.sleepers == 1)
        await clock.advance(2.0)
        assert await second == 0 and scheduler.stats.stalled_ticks == 2
    finally:
        await scheduler.stop(timeout_s=1)
        await client.aclose()

"""within(): /readyz's checks answer at their deadline even when the work they abandon winds down slowly."""

from __future__ import annotations

import asyncio

from bot.web import ping_within, within


async def test_returns_at_the_deadline_without_waiting_for_the_cancelled_work() -> None:
    release = asyncio.Event()
    wound_down = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await release.wait()  # like a pool waiter that must re-take a busy lock first
            wound_down.set()
            raise

    # asyncio.wait_for would wait here until `release` is set, i.e. forever.
    assert await within(stubborn(), 0.01) == (False, None)
    assert not wound_down.is_set()
    release.set()
    await asyncio.wait_for(wound_down.wait(), 30)


async def test_a_result_or_a_failure_within_the_deadline_is_returned() -> None:
    async def answer() -> str:
        return "PONG"

    async def broken() -> None:
        raise ConnectionError("refused")

    assert await within(answer(), 30) == (True, "PONG")
    done, error = await within(broken(), 30)
    assert done and isinstance(error, ConnectionError)
    assert await ping_within(broken, 30) == "ConnectionError: refused"

"""wait_event: a timeout that never swallows the caller's cancel."""

from __future__ import annotations

import asyncio

import pytest

from bot.waits import wait_event


async def test_a_cancel_arriving_with_the_event_still_cancels() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_event(event, 30))
    await asyncio.sleep(0)  # let it start waiting
    # Both in the same loop iteration: the race in which asyncio.wait_for (3.11) returns and drops the cancel.
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_true_once_set_false_after_the_timeout() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0) is False
    asyncio.get_running_loop().call_soon(event.set)
    assert await wait_event(event, None) is True
    assert await wait_event(event, 0) is True

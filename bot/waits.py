"""Waiting on an event with a timeout without ever losing a cancel."""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:  # noqa: ASYNC109
    """True once `event` is set, False after `timeout` seconds; a cancel of the caller is never swallowed.

    Python 3.11's asyncio.wait_for returns the result when the awaited thing completes in the same loop
    iteration as a cancel of the caller, dropping the cancel; a loop built on it can then outlive shutdown.
    asyncio.wait has no such race.
    """
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=None if timeout is None else max(0.0, timeout))
    finally:
        waiter.cancel()
    return event.is_set()

"""The clock the Slack gateway reads and waits on: monotonic in production (tests/manual_clock.py moves one by hand)."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from bot.waits import wait_event


class Clock(Protocol):
    """Monotonic seconds, and a wait for an event that gives up after `timeout` seconds of this clock."""

    def now(self) -> float:
        """Seconds on this clock."""
        ...

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:  # noqa: ASYNC109
        """True once `event` is set, False when `timeout` passes first (None: no timeout)."""
        ...


class MonotonicClock:
    """Real time: time.monotonic and asyncio's timers."""

    def now(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:  # noqa: ASYNC109
        """Wait for `event` up to `timeout` real seconds."""
        return await wait_event(event, timeout)

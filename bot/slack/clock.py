"""The clock the Slack gateway reads and waits on: monotonic in production, moved by hand in tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


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
        if timeout is None:
            await event.wait()
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, timeout))
        return event.is_set()


class ManualClock:
    """A clock that moves only when advance() is called, so tests cover minutes of waiting in no time."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._tick = asyncio.Event()

    def now(self) -> float:
        """The current reading."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter so it re-checks its timeout."""
        self._now += seconds
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def wait(self, event: asyncio.Event, timeout: float | None) -> bool:  # noqa: ASYNC109
        """Wait for `event` until the clock has been advanced past `timeout`."""
        deadline = None if timeout is None else self._now + timeout
        while not event.is_set():
            if deadline is not None and self._now >= deadline:
                return False
            waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._tick.wait())}
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return True

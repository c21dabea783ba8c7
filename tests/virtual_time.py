"""An event loop on virtual time: sleeps and timeouts take no real time, and durations are exact.

When nothing is ready, the loop's selector jumps the clock to the next timer instead of waiting, so a
test of a 60 s timeout runs in microseconds and `loop.time()` differences are exact numbers. Real I/O
still works (the selector polls it first), but a test on virtual time should not depend on it.

Kept apart from tests/manual_clock.py because it fakes different time: the event loop's own, for code
that waits with asyncio timers (`wait_for`, `sleep`) and takes no injected clock; the manual clocks are
injected and move only when the test says so.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Clock:
    now = 0.0


class _FastForwardSelector(selectors.DefaultSelector):
    """Polls without blocking; when idle, advances the clock by the time the loop would have waited."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self.clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready:
            return ready
        if timeout is None:
            # No timer at all: only I/O (or another thread) can wake the loop.
            return list(super().select(None))
        self.clock.now += max(timeout, 0.0)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose `time()` is virtual and jumps ahead whenever the loop is idle."""

    def __init__(self) -> None:
        self._virtual = _Clock()
        super().__init__(selector=_FastForwardSelector(self._virtual))

    def time(self) -> float:
        """Virtual seconds since the loop was made."""
        return self._virtual.now


def run_virtual(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main()` on a fresh VirtualTimeLoop; tasks it left running get a virtual hour to end, then are cancelled."""
    loop = VirtualTimeLoop()
    try:
        result = loop.run_until_complete(main())
        pending = asyncio.all_tasks(loop)
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=3600))
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(loop.shutdown_asyncgens())
        return result
    finally:
        loop.close()

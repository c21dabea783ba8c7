"""Clocks tests move by hand, for code that takes its time from an injected clock.

Two readings, because the code under test reads two kinds of time: `ManualClock` gives datetimes and a
`sleep` (the timer scheduler, escalation, leases: wall-clock deadlines stored in Redis), and
`ManualMonotonicClock` gives monotonic seconds and `wait(event, timeout)` (the Slack gateway's
`bot.slack.clock.Clock`). Both stand still until the test advances them. Code that waits on asyncio's own
timers instead of an injected clock runs on tests/virtual_time.py, which fakes the event loop's time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.escalation.scheduler import TimerScheduler


class ManualClock:
    """Time stands still until `advance`; sleepers wake in order as it passes their deadline."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        """The current (manual) time."""
        return self._now

    def sleep(self, seconds: float) -> asyncio.Future[None]:
        """Done once the clock has been advanced by `seconds` (at once for zero or less).

        The deadline is taken when `sleep` is called, not when the awaiting task next runs, so time
        moved by the test in between never stretches it.
        """
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if seconds <= 0:
            wake.set_result(None)
        else:
            heapq.heappush(self._sleepers, (self._now + timedelta(seconds=seconds), next(self._seq), wake))
        return wake

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own deadline and letting it run before the next."""
        target = self._now + timedelta(seconds=seconds)
        while self._sleepers and self._sleepers[0][0] <= target:
            at, _, wake = heapq.heappop(self._sleepers)
            self._now = max(self._now, at)
            if not wake.done():
                wake.set_result(None)
            await settle()
        self._now = target
        await settle()

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting (cancelled ones included until their time passes)."""
        return sum(1 for _, _, wake in self._sleepers if not wake.done())


class ManualMonotonicClock:
    """A `bot.slack.clock.Clock` that moves only when advance() is called: minutes of Retry-After in no time."""

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


async def settle(rounds: int = 20) -> None:
    """Let every ready task run a few steps (no real time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def eventually(check: Callable[[], bool | Awaitable[bool]], limit_s: float = 10.0) -> None:
    """Poll `check` until it is true (for work that waits on real I/O); fail after `limit_s` real seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def run_for(scheduler: TimerScheduler, clock: ManualClock, seconds: float, step_s: float = 0.5) -> None:
    """Move time on by `seconds` in steps, firing what falls due at each step as the tick loop would."""
    left = seconds
    while True:
        for _ in range(100):  # a backlog larger than one batch takes several pumps
            claimed = await scheduler.pump()
            await scheduler.drain()
            if not claimed:
                break
        if left <= 0:
            return
        await clock.advance(min(step_s, left))
        left -= step_s

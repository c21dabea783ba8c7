"""The timer loop's APScheduler alarm: rings at its time (never before), and leaves nothing set when woken early."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.escalation.alarm import AlarmClock


async def test_rings_at_its_time_not_before() -> None:
    alarm = AlarmClock()
    alarm.start()
    try:
        woken = asyncio.Event()
        when = datetime.now(UTC) + timedelta(milliseconds=50)
        await asyncio.wait_for(alarm.sleep_until(when, woken), 30)
        assert woken.is_set() and datetime.now(UTC) >= when
        assert not alarm.pending
    finally:
        alarm.stop()


async def test_woken_early_it_leaves_no_alarm_to_ring_into_the_next_sleep() -> None:
    alarm = AlarmClock()
    alarm.start()
    try:
        woken = asyncio.Event()
        sleeping = asyncio.create_task(alarm.sleep_until(datetime.now(UTC) + timedelta(hours=1), woken))
        await asyncio.sleep(0)  # the task sets its alarm, then waits
        assert alarm.pending
        woken.set()  # what a wake-up over pub/sub does
        await asyncio.wait_for(sleeping, 30)
        assert not alarm.pending
        # Moving the alarm replaces it: one job, at the newest time.
        again = asyncio.Event()
        sleeping = asyncio.create_task(alarm.sleep_until(datetime.now(UTC) + timedelta(hours=2), again))
        await asyncio.sleep(0)
        assert alarm.pending
        sleeping.cancel()
        await asyncio.gather(sleeping, return_exceptions=True)
        assert not alarm.pending
    finally:
        alarm.stop()

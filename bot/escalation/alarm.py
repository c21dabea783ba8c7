"""The timer loop's alarm clock: an APScheduler date job that sets the loop's wake event at the due time."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

RING_JOB = "timer-loop-wake"


class AlarmClock:
    """One pending alarm at a time, on APScheduler's AsyncIOScheduler (wall-clock datetimes, like the timers).

    APScheduler wakes itself with the event loop's call_later at the soonest job's run time, so a sleeping
    loop costs no polling; moving the alarm (a sooner timer heard of) replaces the one job.
    """

    def __init__(self) -> None:
        self._aps: AsyncIOScheduler | None = None

    def start(self) -> None:
        """Start APScheduler on the running event loop."""
        if self._aps is None:
            self._aps = AsyncIOScheduler(timezone=UTC, event_loop=asyncio.get_running_loop())
            self._aps.start()

    async def sleep_until(self, when: datetime, woken: asyncio.Event) -> None:
        """Return at `when`, or as soon as `woken` is set, whichever comes first; sets `woken` when it rings."""
        if self._aps is None:
            raise RuntimeError("the alarm clock is not started")

        async def ring() -> None:
            woken.set()

        self._aps.add_job(
            ring, "date", run_date=when, id=RING_JOB, replace_existing=True, misfire_grace_time=None, coalesce=True
        )
        try:
            await woken.wait()
        finally:
            # Woken early (or cancelled): the alarm must not ring into the next sleep.
            with contextlib.suppress(JobLookupError):
                self._aps.remove_job(RING_JOB)

    @property
    def pending(self) -> bool:
        """Whether an alarm is set."""
        return self._aps is not None and self._aps.get_job(RING_JOB) is not None

    def stop(self) -> None:
        """Stop APScheduler; a pending alarm is dropped."""
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None

"""Teardown that explains itself: a slow stop prints every pending task, and a task that ignores its cancel fails."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable

from bot.tasks import where

# Far below the 120 s test timeout, so the report lands in the failing test's captured output.
REPORT_AFTER_S = 30.0


class _Stuck(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "background task did not stop when cancelled":
            self.records.append(record)


async def stop_explained(stop: Awaitable[None], what: str, report_after: float = REPORT_AFTER_S) -> None:
    """Await `stop`; report what every task waits on if it is slow; fail if a task outlived its cancel."""
    stuck = _Stuck()
    logger = logging.getLogger("bot.tasks")
    logger.addHandler(stuck)
    try:
        task = asyncio.ensure_future(stop)
        done, _ = await asyncio.wait({task}, timeout=report_after)
        if not done:
            current = asyncio.current_task()
            lines = [f"{what} has not stopped after {report_after:g}s; pending tasks:"]
            lines += [f"  {t.get_name()}: {where(t)}" for t in asyncio.all_tasks() if t is not current]
            print("\n".join(lines), file=sys.stderr, flush=True)
        await task
    finally:
        logger.removeHandler(stuck)
    found = [f"{getattr(r, 'task', '?')} at {getattr(r, 'at', '?')}" for r in stuck.records]
    assert not found, f"{what}: background tasks ignored their cancel: {found}"

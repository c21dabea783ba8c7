"""Background work with an owner: every task is tracked, its failure logged with the incident id, awaited on stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.logs import incident_context

log = logging.getLogger(__name__)


class TaskSupervisor:
    """Spawns tasks, logs (never swallows) their exceptions, and waits for them on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str, incident_id: str | None = None) -> asyncio.Task[Any]:
        """Run `coro` in the background under this supervisor."""

        async def guarded() -> Any:
            with incident_context(incident_id):
                try:
                    return await coro
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background task failed", extra={"task": name})
                    raise

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # already logged in guarded(); reading it marks it retrieved

    @property
    def pending(self) -> int:
        """Tasks still running."""
        return len(self._tasks)

    async def join(self, within: float | None = None) -> None:
        """Wait up to `within` seconds for every running task (and those they spawn) to finish."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while self._tasks:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            if remaining == 0.0:
                break
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def cancel_all(self) -> None:
        """Cancel every running task and wait for them to end."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))

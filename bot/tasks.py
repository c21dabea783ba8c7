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
        # Tasks that only sleep until something falls due: shutdown cancels them rather than waiting.
        self._timers: set[asyncio.Task[Any]] = set()
        # Set by cancel_all: work handed over after it (a Slack handler still running) is cancelled at once.
        self._closed = False

    def spawn(
        self, coro: Coroutine[Any, Any, Any], name: str, incident_id: str | None = None, *, timer: bool = False
    ) -> asyncio.Task[Any]:
        """Run `coro` in the background under this supervisor; `timer` marks one that join() need not wait for."""

        async def guarded() -> Any:
            with incident_context(incident_id):
                try:
                    return await coro
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background task failed", extra={"task": name})
                    raise

        if self._closed:
            # Shutting down: nothing would cancel it later, so it never starts; the caller gets a cancelled task.
            log.warning("background task refused: the bot is stopping", extra={"task": name})
            coro.close()
            refused = asyncio.create_task(asyncio.sleep(0), name=name)
            refused.cancel()
            return refused
        task = asyncio.create_task(guarded(), name=name)
        self._tasks.add(task)
        if timer:
            self._timers.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._timers.discard(task)
        if not task.cancelled():
            task.exception()  # already logged in guarded(); reading it marks it retrieved

    @property
    def pending(self) -> int:
        """Tasks still running."""
        return len(self._tasks)

    async def join(self, within: float | None = None) -> None:
        """Wait up to `within` seconds for every running task (and those they spawn) to finish; timers excepted."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while working := self._tasks - self._timers:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            if remaining == 0.0:
                break
            await asyncio.wait(working, timeout=remaining)

    async def cancel_all(self, within: float = 10.0) -> None:
        """Cancel every running task and wait up to `within` seconds; log (with stacks) any that will not end.

        Afterwards the supervisor is closed: a task spawned later is cancelled before it starts.
        """
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        if not self._tasks:
            return
        _, stuck = await asyncio.wait(set(self._tasks), timeout=within)
        for task in stuck:
            # A task that ignores cancellation would hold shutdown forever; name it and where it waits.
            log.error("background task did not stop when cancelled", extra={"task": task.get_name(), "at": where(task)})


def where(task: asyncio.Task[Any]) -> str:
    """The chain of coroutines a pending task is suspended in, outermost first, for a log line."""
    steps: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(steps) < 16:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            steps.append(type(awaited).__name__)  # a Future or a finished coroutine: the end of the chain
            break
        steps.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno})")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " -> ".join(steps)

"""Answer a webhook by a deadline while the write it started finishes (or fails) in the background."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from functools import partial
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class DeadlinePassed(Exception):
    """The work did not finish by the deadline; it goes on in the background."""


class AnswerDeadline:
    """Runs store work so the caller gets its result or DeadlinePassed within `seconds`.

    The work is never cancelled at the deadline: cancelling a multi-step store write between its steps
    could leave a claim without its incident; letting it run keeps every write whole (each Redis call
    is itself bounded by the socket timeout), and the sender's retry then finds it done.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._late: set[asyncio.Task[Any]] = set()

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """The work's result, or DeadlinePassed after `seconds` (the work continues)."""
        # asyncio.wait({task}, timeout) does the same with a set, a waiter and callbacks per call; this is
        # its one-task case, on the path of every webhook.
        loop = asyncio.get_running_loop()
        task = loop.create_task(work)
        waiter: asyncio.Future[None] = loop.create_future()
        wake = partial(_wake, waiter)
        timer = loop.call_later(self.seconds, wake, None)
        task.add_done_callback(wake)
        try:
            await waiter
        finally:
            timer.cancel()
            task.remove_done_callback(wake)
        if task.done():
            return task.result()
        self._late.add(task)
        task.add_done_callback(self._finished_late)
        raise DeadlinePassed(f"no answer within {self.seconds:g} s")

    @property
    def pending(self) -> int:
        """How many late writes are still running."""
        return len(self._late)

    async def drain(self, within_s: float) -> None:
        """Wait up to `within_s` for late writes, then cancel what is left (at shutdown)."""
        if not self._late:
            return
        _, left = await asyncio.wait(set(self._late), timeout=within_s)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def _finished_late(self, task: asyncio.Task[Any]) -> None:
        self._late.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.warning("webhook write finished late with an error", extra={"error": str(exc)})
        else:
            log.info("webhook write finished after its 503; the sender's retry finds it recorded")


def _wake(waiter: asyncio.Future[None], _: object) -> None:
    if not waiter.done():
        waiter.set_result(None)

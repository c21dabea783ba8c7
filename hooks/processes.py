"""Tells whoever runs an action which process groups it starts, so they can be found again after a crash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Called with the process group id of each child an action starts; it may refuse (raise) to stop the action.
ProcessWatcher = Callable[[int], Awaitable[None]]

_WATCHER: ContextVar[ProcessWatcher | None] = ContextVar("runbook_bot_process_watcher", default=None)


@contextmanager
def watching(watcher: ProcessWatcher) -> Iterator[None]:
    """Within this block (and the tasks it starts), every process group an action starts is reported."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


async def process_started(pgid: int) -> None:
    """Report a new process group to the current watcher, if any; a watcher error propagates to the action."""
    watcher = _WATCHER.get()
    if watcher is not None:
        await watcher(pgid)

"""The event loop the bot runs on (uvloop when it is installed), its tasks kept alive, and the settled heap."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
TaskFactory = Callable[..., "asyncio.Future[Any]"]
CHOICES = ("auto", "asyncio", "uvloop")


def loop_factory(choice: str = "auto") -> LoopFactory | None:
    """uvloop's loop factory (`auto`: when installed), or None for asyncio's own loop."""
    if choice not in CHOICES:
        raise ValueError(f"event loop {choice!r}: one of {', '.join(CHOICES)}")
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError("uvloop is not installed: pip install 'runbook-bot[fast]'") from None
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def loop_name(factory: LoopFactory | None) -> str:
    """`uvloop` or `asyncio`, for logs and benchmark reports."""
    return "asyncio" if factory is None else factory.__module__.split(".")[0]


def run(main: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """asyncio.run on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Collect once, then keep what start-up allocated out of every later collection (gc.freeze).

    Modules, schemas and clients live as long as the process; without this each full collection walks
    them all again, a pause of tens of milliseconds in the middle of answering webhooks.
    """
    gc.collect()
    gc.freeze()


def keep_tasks_alive(loop: asyncio.AbstractEventLoop) -> None:
    """Hold every task created on `loop` strongly until it is done (idempotent; keeps any factory already set).

    The loop itself keeps only weak references to tasks, so a task nobody else refers to can be garbage
    collected half-way, silently. Libraries fire and forget: Bolt's listener runner starts each listener with
    `asyncio.ensure_future` and drops the result, so a slash command's work (and its reply) could vanish
    after the ack. With this factory no pending task on the bot's loop can be lost that way.
    """
    current = loop.get_task_factory()
    if getattr(current, "keeps_tasks", False):
        return
    kept: set[asyncio.Future[Any]] = set()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        task: asyncio.Future[Any] = (
            current(loop, coro, **kwargs) if current is not None else asyncio.Task(coro, loop=loop, **kwargs)
        )
        kept.add(task)
        task.add_done_callback(kept.discard)
        return task

    factory.keeps_tasks = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)

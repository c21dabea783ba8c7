"""The event loop the bot runs on (uvloop when it is installed), and the heap settled once start-up is done."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
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

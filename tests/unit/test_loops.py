"""The event loop choice (uvloop when installed) and the settled start-up heap."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import sys
import weakref
from typing import Any

import pytest

from bot import loops

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


def test_asyncio_is_asyncios_own_loop() -> None:
    assert loops.loop_factory("asyncio") is None
    assert loops.loop_name(None) == "asyncio"


def test_auto_takes_uvloop_exactly_when_it_is_installed() -> None:
    factory = loops.loop_factory("auto")
    assert (factory is not None) is HAVE_UVLOOP
    assert loops.loop_name(factory) == ("uvloop" if HAVE_UVLOOP else "asyncio")


def test_asking_for_uvloop_without_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed: `import uvloop` raises ImportError
    with pytest.raises(RuntimeError, match=r"runbook-bot\[fast\]"):
        loops.loop_factory("uvloop")
    assert loops.loop_factory("auto") is None  # auto falls back to asyncio's own loop


def test_an_unknown_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="one of auto, asyncio, uvloop"):
        loops.loop_factory("trio")


def test_run_returns_the_coroutines_result_on_the_chosen_loop() -> None:
    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert loops.run(which(), "asyncio").startswith("asyncio")


def test_settling_the_heap_freezes_what_exists() -> None:
    try:
        loops.settle_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def _survives_collection(keep: bool) -> bool:
    """Whether a started task that nothing refers to is still there after a full collection."""
    loop = asyncio.get_running_loop()
    if keep:
        loops.keep_tasks_alive(loop)

    async def orphan() -> None:
        await loop.create_future()  # a future only this task refers to: the task is all that holds it

    ref = weakref.ref(loop.create_task(orphan()))
    await asyncio.sleep(0)  # it starts, then waits
    gc.collect()
    task = ref()
    if task is None:
        return False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return True


def test_a_task_nobody_holds_survives_the_garbage_collector() -> None:
    assert asyncio.run(_survives_collection(keep=True))
    # What the loop alone does (Bolt's fire-and-forget listeners depend on it not happening): the task is gone.
    assert not asyncio.run(_survives_collection(keep=False))


def test_keeping_tasks_alive_chains_a_factory_already_set_and_is_idempotent() -> None:
    made: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def earlier(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
            made.append(getattr(coro, "__qualname__", ""))
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(earlier)
        loops.keep_tasks_alive(loop)
        installed = loop.get_task_factory()
        loops.keep_tasks_alive(loop)
        assert loop.get_task_factory() is installed
        assert await loop.create_task(asyncio.sleep(0, result="done")) == "done"

    asyncio.run(main())
    assert "sleep" in made  # the task was made by the factory that was there before

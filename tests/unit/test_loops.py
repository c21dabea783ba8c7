"""The event loop choice (uvloop when installed) and the settled start-up heap."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import sys

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

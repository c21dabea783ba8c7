"""Shutdown's wait for running steps, on virtual time: each gets its deadline, then marks itself before stop."""

from __future__ import annotations

import asyncio

from bot.approvals.execute import Running, drain_running
from tests.virtual_time import run_virtual


def test_a_step_recording_its_outcome_after_the_action_is_waited_for() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        running: dict[str, Running] = {}
        marked: list[float] = []

        async def step() -> None:
            await asyncio.sleep(6.5)  # the action ran to its 5 s timeout, then its processes were killed
            running["a"].acting = False  # as the executor's `finally` does: it leaves the set
            running.pop("a")
            await asyncio.sleep(3)  # recording "interrupted" and announcing it, on a slow store
            marked.append(loop.time())

        running["a"] = Running(asyncio.create_task(step()), loop.time() + 5)
        await drain_running(running, margin_s=2)
        return list(marked)  # what was marked by the time shutdown goes on

    # Returning at the deadline plus margin (7 s), with the step gone from the set, would lose the mark.
    assert run_virtual(main) == [9.5]


def test_a_step_still_acting_is_cancelled_then_its_marking_is_waited_for() -> None:
    async def main() -> tuple[list[float], bool]:
        loop = asyncio.get_running_loop()
        marked: list[float] = []

        async def step() -> None:
            try:
                await asyncio.sleep(60)  # a hook that ignores its timeout
            except asyncio.CancelledError:
                await asyncio.sleep(1)  # the cancelled step marks itself interrupted
                marked.append(loop.time())
                raise

        task = asyncio.create_task(step())
        await drain_running({"a": Running(task, loop.time() + 5)}, margin_s=2)
        return list(marked), task.cancelled()

    assert run_virtual(main) == ([8.0], True)

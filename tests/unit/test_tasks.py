"""TaskSupervisor at shutdown: bounded cancel_all that names a stubborn task, and no work started after it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.tasks import TaskSupervisor


async def test_work_handed_over_after_cancel_all_never_starts(caplog: pytest.LogCaptureFixture) -> None:
    tasks = TaskSupervisor()
    await tasks.cancel_all()
    ran: list[str] = []

    async def header_refresh() -> None:
        ran.append("ran")

    with caplog.at_level(logging.WARNING, logger="bot.tasks"):
        refused = tasks.spawn(header_refresh(), "header", "INC-1")
        await asyncio.gather(refused, return_exceptions=True)
    assert refused.cancelled() and ran == [] and tasks.pending == 0
    assert "background task refused: the bot is stopping" in caplog.text


async def test_cancel_all_gives_up_on_a_task_that_ignores_its_cancel_and_names_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = TaskSupervisor()
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # the bug cancel_all must survive

    task = tasks.spawn(stubborn(), "stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="bot.tasks"):
        await tasks.cancel_all(within=0.05)
    assert not task.done()
    [record] = [r for r in caplog.records if r.getMessage() == "background task did not stop when cancelled"]
    assert record.task == "stubborn" and "stubborn (test_tasks.py" in record.at  # type: ignore[attr-defined]
    release.set()
    await asyncio.wait_for(task, 5)

"""run_allowed reports each child's process group to the running step, and a refusal kills the group at once."""

from __future__ import annotations

import asyncio

import pytest

from bot.approvals.localproc import group_members, process_group
from bot.errors import StoreError
from hooks.processes import watching
from hooks.shell import run_allowed
from tests.integration.hooks.conftest import make_ctx


async def test_the_watcher_hears_the_childs_own_group_while_it_runs() -> None:
    seen: list[tuple[int, int | None, int]] = []

    async def watcher(pgid: int) -> None:
        seen.append((pgid, process_group(pgid), len(group_members(pgid))))

    with watching(watcher):
        result = await run_allowed(["sleep", "0.2"], make_ctx(shell_allowlist=["sleep"]), 5.0, 1024)
    assert result.exit_code == 0
    (pgid, group, members), *rest = seen
    assert rest == [] and group == pgid and members == 1  # a group of its own, led by the child
    assert group_members(pgid) == []


async def test_without_a_watcher_nothing_is_reported_and_the_command_runs() -> None:
    result = await run_allowed(["sleep", "0"], make_ctx(shell_allowlist=["sleep"]), 5.0, 1024)
    assert result.exit_code == 0


async def test_a_watcher_that_cannot_record_the_group_stops_the_command() -> None:
    started: list[int] = []

    async def refusing(pgid: int) -> None:
        started.append(pgid)
        raise StoreError("redis: cannot record the process group")

    with watching(refusing), pytest.raises(StoreError):
        await run_allowed(["sleep", "30"], make_ctx(shell_allowlist=["sleep"]), 60.0, 1024)
    assert len(started) == 1
    for _ in range(100):  # SIGKILL is delivered asynchronously: give the kernel a moment
        if not group_members(started[0]):
            break
        await asyncio.sleep(0.02)
    assert group_members(started[0]) == []

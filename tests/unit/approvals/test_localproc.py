"""Reading /proc and reaping a recorded process group: real child processes, checked through /proc."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from bot.approvals.localproc import (
    ProcessId,
    ReapOutcome,
    group_members,
    is_alive,
    myself,
    process_group,
    reap_group,
    scope,
    start_ticks,
)

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


def wait_gone(pgid: int, within: float = 5.0) -> list[int]:
    deadline = time.monotonic() + within
    while (members := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return members


@pytest.fixture
def group() -> Iterator[subprocess.Popen[bytes]]:
    """A shell in its own session (as a step's child is) that started a grandchild in the same group."""
    proc = subprocess.Popen(["sh", "-c", "sleep 30 & exec sleep 30"], start_new_session=True)
    deadline = time.monotonic() + 5
    while len(group_members(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    yield proc
    if group_members(proc.pid):
        os.killpg(proc.pid, 9)
    proc.wait()


def test_this_process_is_found_alive_and_a_recorded_other_start_is_not() -> None:
    me = myself()
    assert me.pid == os.getpid() and me.start == start_ticks(os.getpid()) and me.start > 0
    assert is_alive(me)
    assert not is_alive(ProcessId(me.pid, me.start + 1))  # same pid, another process
    assert process_group(os.getpid()) == os.getpgrp()


def test_scope_names_the_boot_and_the_pid_namespace() -> None:
    boot, _, namespace = scope().partition(":")
    assert len(boot) == 36 and namespace.isdigit()


def test_reaping_kills_the_whole_group_grandchildren_included(group: subprocess.Popen[bytes]) -> None:
    members = [ProcessId(pid, start_ticks(pid) or 0) for pid in group_members(group.pid)]
    assert len(members) == 2
    assert reap_group(ProcessId(group.pid, start_ticks(group.pid) or 0)) is ReapOutcome.KILLED
    group.wait(5)
    assert wait_gone(group.pid) == []
    # Dead, not merely moved: an orphaned grandchild may linger as a zombie until init collects it.
    assert not any(is_alive(member) for member in members)


def test_a_group_whose_leader_died_is_still_reaped(group: subprocess.Popen[bytes]) -> None:
    leader = ProcessId(group.pid, start_ticks(group.pid) or 0)
    group.kill()  # only the leader: its backgrounded sleep stays in the group, orphaned
    group.wait(5)
    assert group_members(group.pid) != []
    assert reap_group(leader) is ReapOutcome.KILLED
    assert wait_gone(group.pid) == []


def test_a_group_id_now_used_by_another_process_is_left_alone(group: subprocess.Popen[bytes]) -> None:
    recorded = ProcessId(group.pid, (start_ticks(group.pid) or 0) - 1)  # as if an older process had this id
    assert reap_group(recorded) is ReapOutcome.REUSED
    assert len(group_members(group.pid)) == 2


def test_a_finished_group_or_our_own_is_never_signalled() -> None:
    done = subprocess.Popen(["true"], start_new_session=True)
    done.wait()
    assert reap_group(ProcessId(done.pid, 1)) is ReapOutcome.GONE
    assert reap_group(myself()) is ReapOutcome.REFUSED
    assert reap_group(ProcessId(1, 1)) is ReapOutcome.REFUSED

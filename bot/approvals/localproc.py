"""Processes on this host, read from /proc: who is alive, which group is whose, and reaping a recorded group.

A pid alone names nothing after a restart (pids are reused), so every process is recorded with its start
time (clock ticks since boot, field 22 of /proc/<pid>/stat) and the scope it lives in: the kernel boot id
and the PID namespace. Only a replica in the same scope may judge or signal a recorded process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PROC = Path("/proc")
KILL_WAIT_S = 1.0


@dataclass(frozen=True)
class ProcessId:
    """A process that cannot be confused with a later one: pid plus start time (clock ticks since boot)."""

    pid: int
    start: int


class ReapOutcome(StrEnum):
    """What reaping a recorded process group found."""

    KILLED = "killed"
    GONE = "gone"
    REUSED = "reused"
    REFUSED = "refused"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; the fields after its last ')' are fixed.
    return raw.rsplit(")", 1)[1].split()


def _running(fields: list[str] | None) -> bool:
    # A zombie (Z) or dying (X) process has exited: only its parent has yet to collect its status.
    return fields is not None and len(fields) > 19 and fields[0] not in ("Z", "X")


def start_ticks(pid: int) -> int | None:
    """The start time of a live process, or None when there is no such process."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def process_group(pid: int) -> int | None:
    """The process group id of a live process, or None."""
    fields = _stat_fields(pid)
    return int(fields[2]) if fields is not None and len(fields) > 2 else None


def myself() -> ProcessId:
    """This process, as others will find it in the record."""
    return ProcessId(os.getpid(), start_ticks(os.getpid()) or 0)


def is_alive(process: ProcessId) -> bool:
    """The very process recorded is still running (not merely one with the same pid, nor its zombie)."""
    fields = _stat_fields(process.pid)
    return process.start != 0 and _running(fields) and fields is not None and int(fields[19]) == process.start


def scope() -> str:
    """`<boot id>:<pid namespace inode>`; empty where /proc cannot tell (then nothing is ever reaped)."""
    try:
        boot = (PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
        namespace = os.readlink(PROC / "self" / "ns" / "pid")
    except OSError:
        return ""
    return f"{boot}:{namespace.removeprefix('pid:[').rstrip(']')}"


def group_members(pgid: int) -> list[int]:
    """Every running process (zombies excluded) whose process group is `pgid`."""
    members = []
    for entry in PROC.iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if _running(fields) and fields is not None and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def reap_group(leader: ProcessId) -> ReapOutcome:
    """SIGKILL the process group a step started, unless it is gone or its id now belongs to someone else.

    The kernel never reuses a pid while a group of that id has members, so a group whose leader is alive
    with another start time is a new group (REUSED, left alone); one whose leader is gone but whose members
    remain is still the step's (its children, say a script's `sleep`).
    """
    if leader.pid <= 1 or leader.pid in (os.getpid(), os.getpgrp()):
        return ReapOutcome.REFUSED
    if not group_members(leader.pid):
        return ReapOutcome.GONE
    now = start_ticks(leader.pid)
    if now is not None and now != leader.start:
        return ReapOutcome.REUSED
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader.pid, signal.SIGKILL)
    # SIGKILL lands asynchronously; wait (briefly) so "reaped" means gone, not merely signalled.
    deadline = time.monotonic() + KILL_WAIT_S
    while group_members(leader.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return ReapOutcome.KILLED

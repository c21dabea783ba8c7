"""Fixtures of the step-execution fault tests: `runbookctl serve` as a real process against the emulator.

The bot runs as a child process so the test can SIGKILL or SIGTERM it mid-step and start it again on
the same Redis prefix; the emulator runs in the test (its driver clicks the stored buttons).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.approvals.executions import ExecutionStore
from bot.approvals.models import Approval
from bot.approvals.store import ApprovalStore
from bot.connections import Redis
from bot.incidents.models import AuditEvent
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from tests.integration.approvals.conftest import button_value
from tests.integration.approvals.exec_drill import ALLOWLIST, EXEC_RUNBOOKS, open_exec_drill, recorded_group

LEASE_S = 3.0
WEBHOOK_TOKEN = "exec-faults-token"


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotProcess:
    """`runbookctl serve` on this test's Redis prefix, pointed at the emulator; start() waits until ready."""

    emulator: SlackEmulator
    redis_url: str
    keys: Keys
    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None

    @property
    def webhook_url(self) -> str:
        """Base URL of the bot's HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment `runbookctl serve` reads."""
        return {
            **os.environ,
            "SLACK_API_URL": self.emulator.api_url,
            "SLACK_BOT_TOKEN": self.emulator.bot_token,
            "SLACK_APP_TOKEN": self.emulator.app_token,
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": self.keys.prefix,
            "RUNBOOKS_PATH": str(EXEC_RUNBOOKS),
            "RUNBOOK_BOT_DATA_DIR": str(self.data_dir),
            "HTTP_PORT": str(self.port),
            "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
            "SHELL_ALLOWLIST": json.dumps(ALLOWLIST),
            "EXECUTION_LEASE_S": str(LEASE_S),
            "LOG_FORMAT": "text",
        }

    async def start(self, within: float = 30.0) -> None:
        """Spawn the process; return once /readyz says Redis and Socket Mode are up (start-up recovery is done)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", env=self.env(), cwd=self.data_dir
        )
        async with httpx.AsyncClient() as client:
            for _ in range(int(within / 0.1)):
                try:
                    if (await client.get(f"{self.webhook_url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"the bot was not ready within {within}s")

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def terminate(self, within: float = 60.0) -> int:
        """SIGTERM, then wait for the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), within)

    async def close(self) -> None:
        """Make sure nothing is left running."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def approval_of(redis: Redis, keys: Keys, approval_id: str) -> Approval:
    """The stored request behind a button's value."""
    approval = await ApprovalStore(redis, keys).find(approval_id)
    assert approval is not None, f"no approval {approval_id}"
    return approval


async def audit_counts(redis: Redis, keys: Keys) -> dict[str, int]:
    """How many audit events of each action the store holds."""
    events: list[AuditEvent] = await IncidentStore(redis, keys).read_audit()
    counts: dict[str, int] = {}
    for event in events:
        counts[event.action] = counts.get(event.action, 0) + 1
    return counts


def executions(redis: Redis, keys: Keys) -> ExecutionStore:
    """The execution records of this test's prefix."""
    return ExecutionStore(redis, keys)


@dataclass
class RunningStep:
    """An approved step of the execution drill, running in its own process group."""

    channel: str
    approval_id: str
    incident_id: str
    pgid: int


async def approve_drill_step(
    slack: SlackEmulator, bot: BotProcess, redis: Redis, keys: Keys, scenario: str
) -> RunningStep:
    """Open the execution drill through `bot`, approve its step as alice, and wait until its process group runs."""
    channel, plan = await open_exec_drill(slack, bot.webhook_url, WEBHOOK_TOKEN, scenario)
    approval_id = button_value(plan, "approve_step")
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", approval_id)
    incident_id = (await approval_of(redis, keys, approval_id)).incident_id
    pgid = await recorded_group(executions(redis, keys), incident_id, approval_id)
    return RunningStep(channel, approval_id, incident_id, pgid)

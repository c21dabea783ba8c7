"""50 concurrent clicks on one Approve, spread over two bot processes: one execution, one result, one audit record."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.stack import SANDBOX_SIGNING_SECRET, SandboxStack
from bot.slack.http_mode import SLACK_PATH
from tests.integration.approvals.conftest import RUNBOOKS, Target, audit_actions, button_value, open_drill, texts

ROOT = Path(__file__).resolve().parents[3]
# Over Socket Mode (each process holds a socket) and over HTTP (each serves /slack/events, signed).
pytestmark = pytest.mark.usefixtures("slack_mode")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def replica(stack: SandboxStack, tmp_path: Path) -> AsyncIterator[subprocess.Popen[str]]:
    """A second bot process on the same emulator, Redis and key prefix."""
    settings = stack.settings
    values = {
        "slack_api_url": settings.slack_api_url,
        "slack_bot_token": stack.emulator.bot_token,
        "slack_app_token": stack.emulator.app_token,
        "redis_url": settings.redis_url,
        "redis_prefix": settings.redis_prefix,
        "runbooks_path": str(RUNBOOKS),
        "runbook_bot_data_dir": str(tmp_path / "replica"),
        "http_port": 0,
        "environment": settings.environment,
        "log_format": "text",
        "log_level": "WARNING",
        "http_allowed_hosts": settings.http_allowed_hosts,
    }
    if settings.slack_mode == "http":
        # Behind a load balancer: the replica serves /slack/events on its own port, the emulator takes turns.
        values.update(slack_mode="http", slack_signing_secret=SANDBOX_SIGNING_SECRET, http_port=free_port())
    proc = subprocess.Popen(  # noqa: ASYNC220 (one short-lived spawn in a fixture)
        [sys.executable, "-m", "tests.integration.approvals.replica", json.dumps(values)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout=30)
    assert line.strip() == "ready"
    if stack.emulator.driver.http is not None:
        stack.emulator.driver.http.add_request_url(f"http://127.0.0.1:{values['http_port']}{SLACK_PATH}")
    yield proc
    # The replica's graceful stop is not under test here; SIGTERM ends it at once.
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
async def test_fifty_clicks_over_two_processes_run_once(
    stack: SandboxStack, replica: subprocess.Popen[str], target: Target
) -> None:
    slack = stack.emulator
    if slack.driver.http is None:
        await slack.wait_for_connections(2, timeout=10)
    channel, plan = await open_drill(stack, "restart", target.url)
    approval_id = button_value(plan, "approve_step", "Restart the API")

    users = ["alice", "bob"]
    clicks = await asyncio.gather(
        *(slack.driver.click_button(users[n % 2], channel, plan.ts, "approve_step", approval_id) for n in range(50))
    )
    acks = await asyncio.gather(*(c.acked(timeout=10) for c in clicks))
    assert len({a.connection_id for a in acks}) >= 2, "the clicks must reach both processes"

    await slack.wait_for_message(channel, "Result: Restart the API succeeded", timeout=15)
    await slack.wait_for_message(channel, "No further step offered", timeout=15)
    await stack.bot.services.tasks.join(within=5)  # type: ignore[union-attr]
    await asyncio.sleep(0.5)  # let a wrongly second execution, if any, show up

    results = [m for m in slack.messages(channel, include_replies=False) if "Result:" in (m.text or "")]
    counts = await audit_actions(stack)
    assert target.hits["restart"] == 1
    assert len(results) == 1
    assert counts["step.execution"] == 1 and counts["step.result"] == 1
    assert counts["approval.approved"] == 1
    assert "succeeded" in texts(slack.message(channel, plan.ts))

"""SIGTERM while an approved step runs: it gets up to its own timeout, then its process group dies and it is marked."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.approvals.localproc import group_members
from bot.approvals.models import ApprovalStatus
from bot.connections import Redis
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.driver import find_button
from tests.faults._exec import BotProcess, approval_of, approve_drill_step, audit_counts, executions

pytestmark = pytest.mark.slow


async def test_sigterm_gives_the_step_its_timeout_then_kills_and_marks_it(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    async with SlackEmulator() as slack:
        bot = BotProcess(slack, redis_url, keys, tmp_path)
        try:
            await bot.start()
            step = await approve_drill_step(slack, bot, redis, keys, "stuck")
            channel, approval_id, incident_id, pgid = step.channel, step.approval_id, step.incident_id, step.pgid
            stopping = asyncio.ensure_future(bot.terminate())
            # The bot closes Socket Mode first when it stops; from then on it only waits for the step.
            await slack.wait_until(lambda: not slack.connections or None, 10, "Socket Mode closed")
            assert group_members(pgid), "shutdown must not kill a step before its own timeout (5 s)"
            assert await stopping == 0
            record = await executions(redis, keys).get(incident_id, approval_id)
            assert record is not None and time.time() >= float(record.fields["exec_deadline"])
            assert group_members(pgid) == [], "the step's process group must die with it"

            approval = await approval_of(redis, keys, approval_id)
            assert approval.status is ApprovalStatus.INTERRUPTED
            assert "ran to its timeout" in approval.result
            verify = await slack.wait_for_message(channel, "Outcome unknown: verify", timeout=5)
            assert "interrupted" in str(verify.blocks)
            for action_id in ("verified_ok_step", "verified_failed_step", "run_again_step"):
                assert find_button(verify.blocks or [], action_id, approval_id)
            counts = await audit_counts(redis, keys)
            assert counts.get("step.execution") == 1 and counts.get("step.interrupted") == 1
            assert "step.result" not in counts
            timeline = [e.summary for e in await IncidentStore(redis, keys).read_timeline(incident_id)]
            assert "Run the stuck job: running" in timeline
            assert any(s.startswith("Run the stuck job: outcome unknown, verify") for s in timeline)
            record = await executions(redis, keys).get(incident_id, approval_id)
            assert record is not None and record.fields.get("noticed") == "1"
            assert await executions(redis, keys).due(time.time() + 3600) == []
        finally:
            await bot.close()

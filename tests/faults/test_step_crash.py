"""The bot SIGKILLed during an approved 10 s step: no orphan survives the next start, and the step asks a person.

Why the orphan lives until the next start: the step's child runs in its own session (so a timeout can kill
its whole group), so it does not die with the bot. Rather than PR_SET_PDEATHSIG (which needs preexec_fn,
unsafe with threads, and reaches only the direct child, not a script's own children), the step records
its process group with the child's start time; the next start on the same host kills that group.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.approvals.localproc import group_members
from bot.approvals.models import ApprovalStatus
from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.driver import find_button
from tests.faults._exec import LEASE_S, BotProcess, approval_of, approve_drill_step, audit_counts
from tests.integration.approvals.conftest import button_value
from tests.integration.approvals.exec_drill import messages_with

pytestmark = pytest.mark.slow

VERIFY = "Outcome unknown: verify"


async def test_sigkill_mid_step_leaves_no_orphan_and_never_reruns_on_its_own(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    async with SlackEmulator() as slack:
        first = BotProcess(slack, redis_url, keys, tmp_path)
        second = BotProcess(slack, redis_url, keys, tmp_path)
        try:
            await first.start()
            step = await approve_drill_step(slack, first, redis, keys, "long")
            channel, approval_id, pgid = step.channel, step.approval_id, step.pgid
            assert group_members(pgid), "the step's `sleep 10` should be running"

            await first.kill()
            assert group_members(pgid), "the child outlives a SIGKILLed parent until the next start"

            await second.start()
            ready_at = time.monotonic()
            assert group_members(pgid) == [], "the next start must have killed the orphaned group"
            verify = await slack.wait_for_message(channel, VERIFY, timeout=LEASE_S)
            assert time.monotonic() - ready_at <= LEASE_S
            for action_id in ("verified_ok_step", "verified_failed_step", "run_again_step"):
                assert find_button(verify.blocks or [], action_id, approval_id)
            assert (await approval_of(redis, keys, approval_id)).status is ApprovalStatus.UNKNOWN

            await asyncio.sleep(2 * LEASE_S)  # several sweeps: none may run the step again
            counts = await audit_counts(redis, keys)
            assert counts.get("step.execution") == 1 and counts.get("step.outcome_unknown") == 1
            assert "step.result" not in counts
            assert len(messages_with(slack, channel, VERIFY)) == 1

            await slack.driver.click_button("bob", channel, verify.ts, "run_again_step", approval_id)
            fresh = await slack.wait_for_message(channel, "requested by", timeout=10)
            assert button_value(fresh, "approve_step") != approval_id
            await asyncio.sleep(1.0)
            assert (await audit_counts(redis, keys)).get("step.execution") == 1, "Run again must not run it"
            assert await second.terminate() == 0
        finally:
            await first.close()
            await second.close()

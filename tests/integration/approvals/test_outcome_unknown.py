"""Steps whose owner is gone, over the emulator: the sweep announces them once, and the verify buttons settle them.

The stack is a real bot against the emulator and Redis. Lost executions are made as another replica would
leave them (claimed under its lease, then silent); the sweep under test gets an injected clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.approvals.executions import ExecutionStore, Owner, claim_fields
from bot.approvals.localproc import ProcessId, group_members, scope, start_ticks
from bot.approvals.models import Approval, ApprovalStatus
from bot.approvals.service import ApprovalService
from bot.approvals.sweep import ExecutionSweeper
from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.emulator import Message
from bot.sandbox.emulator.driver import find_button
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from tests.integration.approvals.conftest import audit_actions, button_value, sandbox_settings, texts
from tests.integration.approvals.exec_drill import (
    ALLOWLIST,
    EXEC_RUNBOOKS,
    messages_with,
    open_exec_drill,
    recorded_group,
)

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

VERIFY = "Outcome unknown: verify"
BUTTONS = ("verified_ok_step", "verified_failed_step", "run_again_step")
# A generous bound for the bot's answers: the condition is waited for, so a loaded machine only makes it slower.
ANSWER_WITHIN_S = 30.0


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    """A bot with the execution drill, `sleep` allowed, and a 3 s lease."""
    settings = sandbox_settings(keys, redis_url, tmp_path, runbooks_path=EXEC_RUNBOOKS, shell_allowlist=ALLOWLIST)
    started = await start_sandbox(**settings, execution_lease_s=3.0)
    yield started
    await started.stop()


def service(stack: SandboxStack) -> ApprovalService:
    approvals = stack.bot.services.approvals  # type: ignore[union-attr]
    assert approvals is not None
    return approvals


async def approved(stack: SandboxStack, scenario: str = "long") -> tuple[str, Message, Approval]:
    channel, plan = await open_exec_drill(stack.emulator, stack.webhook_url, SANDBOX_WEBHOOK_TOKEN, scenario)
    approvals = service(stack)
    approval = await approvals.store.find(button_value(plan, "approve_step"))
    assert approval is not None
    assert (await approvals.store.record_approval(approval, "U0ALICE001", time.time())).code == "now_approved"
    return channel, plan, approval


async def claim_as(stack: SandboxStack, approval: Approval, owner: Owner, lease_until: float) -> None:
    """Claim the execution as `owner` would have, then leave it: no heartbeat, no result."""
    approvals = service(stack)
    await approvals.executor.executions.enlist(approval.incident_id, approval.id, lease_until)
    fields = {**claim_fields(owner, time.time(), 0, 15), "lease_until": repr(lease_until)}
    assert await approvals.store.claim_execution(approval, owner.replica, time.time(), fields) == "ok"


async def status_of(stack: SandboxStack, approval: Approval) -> ApprovalStatus:
    fresh = await service(stack).store.get(approval.incident_id, approval.id)
    assert fresh is not None
    return fresh.status


async def announced(stack: SandboxStack) -> tuple[str, Message, Approval]:
    """A step of a silent replica elsewhere, announced by a sweep whose clock passes the lease."""
    channel, _, approval = await approved(stack)
    lease_until = time.time() + 600  # far ahead of the real clock: only the test's sweep sees it lapse
    await claim_as(stack, approval, Owner("ghost", "another-host", ProcessId(4_000_000, 1)), lease_until)
    ex = service(stack).executor
    clock = [lease_until - 1]
    sweeper = ExecutionSweeper(ex.executions, ex.identity, ex.notices, lambda: clock[0], interval_s=60)
    assert await sweeper.sweep_once() == 0
    assert await status_of(stack, approval) is ApprovalStatus.EXECUTING
    clock[0] = lease_until + 0.5
    assert await sweeper.sweep_once() == 1
    verify = await stack.emulator.wait_for_message(channel, VERIFY, timeout=ANSWER_WITHIN_S)
    assert await sweeper.sweep_once() == 0  # announced once, whatever the later sweeps
    assert len(messages_with(stack.emulator, channel, VERIFY)) == 1
    return channel, verify, approval


async def test_a_lapsed_lease_is_announced_once_with_three_buttons(stack: SandboxStack) -> None:
    channel, verify, approval = await announced(stack)
    for action_id in BUTTONS:
        assert find_button(verify.blocks or [], action_id, approval.id)
    assert await status_of(stack, approval) is ApprovalStatus.UNKNOWN
    counts = await audit_actions(stack)
    assert counts["step.outcome_unknown"] == 1 and counts["step.execution"] == 0
    timeline = await stack.bot.services.store.read_timeline(approval.incident_id)  # type: ignore[union-attr]
    assert any("outcome unknown, verify" in e.summary for e in timeline)
    fresh = await service(stack).store.get(approval.incident_id, approval.id)
    assert fresh is not None
    plan_line = texts(stack.emulator.message(channel, fresh.message_ts))
    assert "outcome unknown: verify" in plan_line


async def test_verified_ok_counts_once_whatever_the_clicks(stack: SandboxStack) -> None:
    slack = stack.emulator
    channel, verify, approval = await announced(stack)
    clicks = [
        await slack.driver.click_button(user, channel, verify.ts, "verified_ok_step", approval.id)
        for user in ("alice", "alice", "bob")
    ]
    await asyncio.gather(*(c.acked() for c in clicks))

    def answers() -> list[str] | None:
        # Every click is answered privately; the bot handles the three at once, so any of them may win.
        found = [e.text or "" for user in ("alice", "bob") for e in slack.ephemerals(user, channel)]
        return found if len(found) >= len(clicks) else None

    replies = await slack.wait_until(answers, ANSWER_WITHIN_S, "an answer to each of the three clicks")
    assert len(replies) == len(clicks), replies
    assert sum("recorded as succeeded" in text for text in replies) == 1, replies
    assert sum("already settled" in text for text in replies) == len(clicks) - 1, replies
    await slack.wait_until(
        lambda: "settled: verified OK" in texts(slack.message(channel, verify.ts)) or None,
        ANSWER_WITHIN_S,
        "settled verify message",
    )
    assert not any(b.get("type") == "actions" for b in slack.message(channel, verify.ts).blocks or [])
    assert await status_of(stack, approval) is ApprovalStatus.SUCCEEDED
    assert "drain_node" in await service(stack).store.done_steps(approval.incident_id)
    counts = await audit_actions(stack)
    assert counts["step.verified"] == 1 and counts["step.execution"] == 0


async def test_only_an_approver_may_settle_it(stack: SandboxStack) -> None:
    slack = stack.emulator
    channel, verify, approval = await announced(stack)
    await slack.driver.click_button("carol", channel, verify.ts, "verified_ok_step", approval.id)
    await slack.wait_for_ephemeral("carol", "Refused", timeout=ANSWER_WITHIN_S)
    assert await status_of(stack, approval) is ApprovalStatus.UNKNOWN
    assert (await audit_actions(stack))["approval.refused"] == 1


async def test_failed_offers_the_rollback_once(stack: SandboxStack) -> None:
    slack = stack.emulator
    channel, verify, approval = await announced(stack)
    clicks = [
        await slack.driver.click_button(user, channel, verify.ts, "verified_failed_step", approval.id)
        for user in ("alice", "bob")
    ]
    await asyncio.gather(*(c.acked() for c in clicks))
    offer = await slack.wait_for_message(channel, "Roll back: Drain the node", timeout=10)
    assert find_button(offer.blocks or [], "approve_step", None)
    await slack.wait_for_message(channel, "Result: Drain the node failed", timeout=ANSWER_WITHIN_S)
    await asyncio.sleep(0.3)  # let a second (wrong) offer show if there were one
    assert len(messages_with(slack, channel, "Roll back: Drain the node")) == 1
    assert await status_of(stack, approval) is ApprovalStatus.FAILED
    counts = await audit_actions(stack)
    assert counts["step.verified"] == 1 and counts["rollback.proposed"] == 1 and counts["rollback.execution"] == 0


async def test_run_again_asks_for_a_fresh_approval_and_runs_nothing(stack: SandboxStack) -> None:
    slack = stack.emulator
    channel, verify, approval = await announced(stack)
    clicks = [
        await slack.driver.click_button(user, channel, verify.ts, "run_again_step", approval.id)
        for user in ("bob", "bob", "alice")
    ]
    await asyncio.gather(*(c.acked() for c in clicks))
    fresh = await slack.wait_for_message(channel, "requested by", timeout=10)
    fresh_id = button_value(fresh, "approve_step")
    assert fresh_id != approval.id
    await asyncio.sleep(0.3)
    assert len(messages_with(slack, channel, "requested by")) == 1
    assert await status_of(stack, approval) is ApprovalStatus.RERUN
    again = await service(stack).store.find(fresh_id)
    assert again is not None and again.status is ApprovalStatus.PENDING and again.step_id == "drain_node"
    counts = await audit_actions(stack)
    assert counts["step.verified"] == 1 and counts["step.proposed"] == 2 and counts["step.execution"] == 0


async def test_a_step_whose_lease_is_taken_away_is_stopped_and_its_processes_die(stack: SandboxStack) -> None:
    slack = stack.emulator
    channel, plan = await open_exec_drill(slack, stack.webhook_url, SANDBOX_WEBHOOK_TOKEN, "long")
    approval_id = button_value(plan, "approve_step")
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", approval_id)
    approvals = service(stack)
    executions: ExecutionStore = approvals.executor.executions
    plan_incident = (await approvals.store.find(approval_id)).incident_id  # type: ignore[union-attr]
    group = await recorded_group(executions, plan_incident, approval_id)
    assert group_members(group)
    # Another replica decides this owner is gone (as its sweep would after a partition).
    owner = approvals.executor.owner
    assert await executions.settle_lost(plan_incident, approval_id, time.time(), owner, "declared lost") == "settled"
    # Well under the step's own `sleep 10`: the group must die because it was killed, not because it finished.
    await slack.wait_until(lambda: not group_members(group) or None, 5, "the step's process group to die")
    await slack.wait_for_message(channel, VERIFY, timeout=10)
    counts = await audit_actions(stack)
    assert counts["step.execution"] == 1 and counts["step.result"] == 0 and counts["step.outcome_unknown"] == 1
    assert counts["step.interrupted"] == 0  # settled by the other side: the owner only let go


async def test_start_up_settles_a_dead_local_owner_at_once_and_reaps_its_processes(stack: SandboxStack) -> None:
    _, _, approval = await approved(stack)
    short = await asyncio.create_subprocess_exec("sleep", "0.05")
    dead = ProcessId(short.pid, start_ticks(short.pid) or 0)
    await short.wait()
    orphan = await asyncio.create_subprocess_exec("sleep", "30", start_new_session=True)
    try:
        owner = Owner("crashed", scope(), dead)
        await claim_as(stack, approval, owner, lease_until=time.time() + 600)  # its lease is nowhere near lapsing
        group = ProcessId(orphan.pid, start_ticks(orphan.pid) or 0)
        executions = service(stack).executor.executions
        await executions.record_group(approval.incident_id, approval.id, owner, group)
        await service(stack).sweeper.recover()
        assert await asyncio.wait_for(orphan.wait(), 5) == -9
        assert group_members(orphan.pid) == []
        assert await status_of(stack, approval) is ApprovalStatus.UNKNOWN
        assert await executions.groups_in(scope()) == []
    finally:
        if orphan.returncode is None:
            orphan.kill()
            await orphan.wait()

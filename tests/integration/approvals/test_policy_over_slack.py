"""Approve, refuse, pause, expire and self-approval, clicked through the emulator's driver over real sockets."""

from __future__ import annotations

import asyncio

import pytest

from bot.sandbox.stack import SandboxStack
from tests.integration.approvals.conftest import Target, audit_actions, button_value, open_drill, texts

# Every scenario here runs over Socket Mode and again over HTTP with signed requests.
pytestmark = pytest.mark.usefixtures("slack_mode")


async def test_outsider_refused_pause_blocks_then_approver_runs_once(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "restart", target.url)
    assert "Will run:" in texts(plan) and "webhook at http://127.0.0.1" in texts(plan)
    approval_id = button_value(plan, "approve_step", "Restart the API")
    assert len(approval_id) == 20 and "restart" not in approval_id

    await slack.driver.click_button("carol", channel, plan.ts, "approve_step", approval_id)
    refusal = await slack.wait_for_ephemeral("carol", "not among the approvers", timeout=5)
    assert refusal.channel_id == channel

    await (await slack.driver.slash_command("alice", channel, "pause")).acked()
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", approval_id)
    await slack.wait_for_ephemeral("alice", "paused", timeout=5)
    await asyncio.sleep(0.2)
    assert target.hits["restart"] == 0

    await (await slack.driver.slash_command("alice", channel, "resume")).acked()
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", approval_id)
    result = await slack.wait_for_message(channel, "Result: Restart the API succeeded", timeout=10)
    assert "expectation" in texts(result) and "(200)" in texts(result)
    await slack.wait_for_message(channel, "Before → after", timeout=10)
    await slack.wait_for_message(channel, "No further step offered", timeout=10)
    await stack.bot.services.tasks.join(within=5)  # type: ignore[union-attr]
    assert target.hits["restart"] == 1
    edited = slack.message(channel, plan.ts)
    assert "succeeded" in texts(edited) and approval_id not in str(
        [b for b in edited.blocks or [] if b.get("block_id") == f"act:{approval_id}"]
    )
    counts = await audit_actions(stack)
    assert counts["step.execution"] == 1 and counts["step.result"] == 1
    assert counts["approval.refused"] == 2 and counts["approval.approved"] == 1


async def test_self_approval_of_an_irreversible_step_is_refused(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, _ = await open_drill(stack, "purge", target.url)
    await (await slack.driver.slash_command("alice", channel, "request purge_cache")).acked()
    requested = await slack.wait_for_message(channel, "requested by", timeout=5)
    approval_id = button_value(requested, "approve_step")
    actions = [b for b in requested.blocks or [] if b.get("type") == "actions"]
    approve = next(e for b in actions for e in b["elements"] if e["action_id"] == "approve_step")
    assert approve["style"] == "danger" and approve["confirm"]["title"]["text"] == "Irreversible step"

    await slack.driver.click_button("alice", channel, requested.ts, "approve_step", approval_id)
    await slack.wait_for_ephemeral("alice", "four-eyes", timeout=5)
    await asyncio.sleep(0.2)
    assert target.hits["purge"] == 0

    await slack.driver.click_button("bob", channel, requested.ts, "approve_step", approval_id)
    await slack.wait_for_message(channel, "Result: Purge the cache succeeded", timeout=10)
    assert target.hits["purge"] == 1


async def test_expired_approval_cannot_run_and_its_buttons_go(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    approvals = stack.bot.services.approvals  # type: ignore[union-attr]
    assert approvals is not None and stack.bot.timers is not None
    approvals.lifetime_s = 1.0
    await stack.bot.timers.stop()  # only the click-time check guards this one
    channel, plan = await open_drill(stack, "restart", target.url)
    approval_id = button_value(plan, "approve_step", "Restart the API")
    await asyncio.sleep(1.2)
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", approval_id)
    await slack.wait_for_ephemeral("alice", "expired", timeout=5)
    await slack.wait_until(lambda: "expired" in texts(slack.message(channel, plan.ts)) or None, 5, "expired plan")
    assert target.hits["restart"] == 0
    assert (await audit_actions(stack))["approval.expired"] >= 1


async def test_durable_timer_replaces_buttons_with_expired(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    approvals = stack.bot.services.approvals  # type: ignore[union-attr]
    assert approvals is not None
    approvals.lifetime_s = 1.0
    channel, plan = await open_drill(stack, "restart", target.url)

    def expired() -> bool | None:
        blocks = slack.message(channel, plan.ts).blocks or []
        return (not any(b.get("type") == "actions" for b in blocks) and "expired" in str(blocks)) or None

    await slack.wait_until(expired, 5, "buttons replaced by expired")
    counts = await audit_actions(stack)
    assert counts["approval.expired"] == 2 and counts["step.execution"] == 0

"""A failed expectation offers the rollback, which runs once; a promoted step runs alone; the global kill switch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.integration.approvals.conftest import (
    Target,
    audit_actions,
    button_value,
    open_drill,
    sandbox_settings,
    texts,
)

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")


async def test_failed_expectation_offers_rollback_that_runs_once(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "flaky", target.url)
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", button_value(plan, "approve_step"))
    result = await slack.wait_for_message(channel, "Result: Flush the queue failed", timeout=10)
    assert "does not match" in texts(result) and "rollback offered" in texts(result)
    offer = await slack.wait_for_message(channel, "Roll back: Flush the queue", timeout=10)
    rollback_id = button_value(offer, "approve_step")

    clicks = [
        await slack.driver.click_button(user, channel, offer.ts, "approve_step", rollback_id)
        for user in ("alice", "bob", "alice", "bob")
    ]
    await asyncio.gather(*(c.acked() for c in clicks))
    await slack.wait_for_message(channel, "Result: Roll back: Flush the queue succeeded", timeout=10)
    await stack.bot.services.tasks.join(within=5)  # type: ignore[union-attr]
    assert target.hits["flush"] == 1 and target.hits["undo"] == 1
    counts = await audit_actions(stack)
    assert counts["step.execution"] == 1 and counts["rollback.execution"] == 1
    assert counts["rollback.proposed"] == 1 and counts["rollback.result"] == 1


async def test_promoted_step_the_runbook_allows_runs_without_a_click(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "auto", target.url)
    assert "Approve" not in texts(plan)
    await slack.wait_for_message(channel, "Result: Warm the cache succeeded", timeout=10)
    assert target.hits["warm"] == 1
    counts = await audit_actions(stack)
    assert counts["step.execution"] == 1 and counts["approval.approved"] == 0


async def test_shadow_step_is_proposed_and_logged_but_cannot_be_approved(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "restart", target.url, env="staging")
    assert "shadow mode" in texts(plan) and "approve_step" not in texts(plan)
    await slack.driver.click_button("alice", channel, plan.ts, "dry_run_step", button_value(plan, "dry_run_step"))
    await slack.wait_for_ephemeral("alice", "Dry run of", timeout=5)
    assert target.hits["restart"] == 0
    counts = await audit_actions(stack)
    assert (
        counts["step.proposed"] == 1
        and counts["manual.proposed"] == 1
        and counts["step.dry_run"] == 1
        and counts["step.execution"] == 0
    )


@pytest.fixture
async def switched_off(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    """A bot with the global kill switch on."""
    started = await start_sandbox(**sandbox_settings(keys, redis_url, tmp_path, kill_switch=True))
    yield started
    await started.stop()


async def test_global_kill_switch_blocks_execution(switched_off: SandboxStack, target: Target) -> None:
    slack = switched_off.emulator
    channel, plan = await open_drill(switched_off, "restart", target.url)
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", button_value(plan, "approve_step"))
    await slack.wait_for_ephemeral("alice", "kill switch", timeout=5)
    await asyncio.sleep(0.2)
    assert target.hits["restart"] == 0
    assert (await audit_actions(switched_off))["step.execution"] == 0

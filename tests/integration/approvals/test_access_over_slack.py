"""role:commander cannot be self-granted, and a click counts only in its own incident's channel."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack
from tests.integration.approvals.conftest import Target, audit_actions, button_value, drill_alert, open_drill

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

CAROL = "U0CAROL001"


async def test_bystander_cannot_make_themselves_commander_from_general(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "restart", target.url)
    approval_id = button_value(plan, "approve_step", "Restart the API")

    await (await slack.driver.slash_command("carol", "general", f"commander <@{CAROL}> INC-1")).acked()
    await slack.wait_for_ephemeral("carol", "access rule `commander-self`", timeout=5)
    store = stack.bot.services.store  # type: ignore[union-attr]
    assert (await store.get_incident_or_raise("INC-1")).commander is None

    await slack.driver.click_button("carol", channel, plan.ts, "approve_step", approval_id)
    await slack.wait_for_ephemeral("carol", "not among the approvers", timeout=5)
    await asyncio.sleep(0.2)
    assert target.hits["restart"] == 0
    assert (await audit_actions(stack))["access.denied"] == 1


async def test_self_made_commander_cannot_approve_a_commander_step(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "restart", target.url)
    approval_id = button_value(plan, "approve_step", "Restart the API")

    # carol joins the channel: a responder may take the unclaimed incident for herself...
    await slack.driver.join("carol", channel)
    await (await slack.driver.slash_command("carol", "general", f"commander <@{CAROL}> INC-1")).acked()
    await slack.wait_for_ephemeral("carol", "is now commander of INC-1", timeout=5)
    # ...but a commander she made herself after the request does not count as role:commander.
    await slack.driver.click_button("carol", channel, plan.ts, "approve_step", approval_id)
    refusal = await slack.wait_for_ephemeral("carol", "self_made_commander", timeout=5)
    assert "Refused" in (refusal.text or "")
    await asyncio.sleep(0.2)
    assert target.hits["restart"] == 0
    audit = await stack.bot.services.store.read_audit("INC-1")  # type: ignore[union-attr]
    assert [e.outcome for e in audit if e.action == "approval.refused"] == ["self_made_commander"]

    # bob approves through the on-call group: the step runs, once.
    await slack.driver.click_button("bob", channel, plan.ts, "approve_step", approval_id)
    await slack.wait_for_message(channel, "Result: Restart the API succeeded", timeout=10)
    assert target.hits["restart"] == 1


async def test_a_click_in_another_incidents_channel_runs_nothing(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    first_channel, first_plan = await open_drill(stack, "restart", target.url)
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        response = await client.post(
            "/alerts/alertmanager",
            content=json.dumps(drill_alert("flaky", target.url)),
            headers={"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"},
        )
    assert response.status_code == 202
    second = await slack.wait_until(
        lambda: next((c for c in slack.channels() if c.name.startswith("inc-2-")), None), 10, "INC-2's channel"
    )
    second_plan = await slack.wait_for_message(second.id, "Next safe step", timeout=15)
    foreign_id = button_value(second_plan, "approve_step", "Flush the queue")

    # INC-1's message carries INC-2's approval id (a client Slack would never build, but the id is not trusted).
    stored = slack.message(first_channel, first_plan.ts)
    for block in stored.blocks or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element["action_id"] == "approve_step":
                element["value"] = foreign_id
    await slack.driver.click_button("alice", first_channel, first_plan.ts, "approve_step", foreign_id)
    await slack.wait_for_ephemeral("alice", "access rule `click-channel`", timeout=5)
    await asyncio.sleep(0.2)
    assert target.hits["flush"] == 0
    audit = await stack.bot.services.store.read_audit("INC-2")  # type: ignore[union-attr]
    assert [(e.action, e.outcome) for e in audit if e.action == "access.denied"] == [("access.denied", "click-channel")]

    # The same id clicked where it was posted still works.
    await slack.driver.click_button("alice", second.id, second_plan.ts, "approve_step", foreign_id)
    await slack.wait_for_message(second.id, "Result: Flush the queue", timeout=10)
    assert target.hits["flush"] == 1

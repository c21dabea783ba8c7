"""Approval messages say what is true: who asked and who may approve as mentions, risk, success, and rollbacks."""

from __future__ import annotations

import json

import pytest

from bot.sandbox.stack import SandboxStack
from tests.integration.approvals.conftest import Target, audit_actions, button_value, open_drill, texts

# Every scenario here runs over Socket Mode and again over HTTP with signed requests.
pytestmark = pytest.mark.usefixtures("slack_mode")

ALICE = "U0ALICE001"


def sections(blocks: list[dict[str, object]] | None) -> list[str]:
    out = []
    for block in blocks or []:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(str(text["text"]))
        for element in block.get("elements") or []:  # type: ignore[attr-defined]
            if isinstance(element, dict) and "text" in element and block.get("type") == "context":
                out.append(str(element["text"]))
    return out


async def test_a_requested_step_names_its_requester_and_approvers_as_mentions(
    stack: SandboxStack, target: Target
) -> None:
    slack = stack.emulator
    channel, _ = await open_drill(stack, "flaky", target.url)
    await (await slack.driver.slash_command("alice", channel, "request restart_api")).acked()
    offer = await slack.wait_for_message(channel, "requested by", timeout=10)
    shown = sections(offer.blocks)
    assert shown[0] == f":compass: *Next safe step* — INC-1 · runbook Approval drill · requested by <@{ALICE}>"
    assert "&lt;" not in texts(offer), texts(offer)
    state = next(s for s in shown if s.startswith("approvers:"))
    # Ids render as mentions Slack resolves to names; the role is spelled out.
    assert state.startswith("approvers: <!subteam^S0ONCALL01>, the commander · ")
    step = next(s for s in shown if "*Restart the API*" in s)
    # The notify action itself is "Not undoable"; the risk line speaks of the declared rollback, not "reversible".
    assert "risk: if it fails, a rollback (notify) is offered" in step and "reversible" not in step
    assert step.endswith(f"_why: decision request: requested by <@{ALICE}>_")


async def test_a_step_refused_before_it_ran_offers_no_rollback(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "flaky", target.url)
    approval_id = button_value(plan, "approve_step")
    services = stack.bot.services
    assert services is not None
    # The step's parameters no longer match what was offered: the executor refuses before calling the hook.
    key = services.store.keys.approval("INC-1", approval_id)
    stored = await services.store.redis.hget(key, "data")
    assert stored is not None
    data = json.loads(stored)
    data["params_hash"] = "0" * 16
    await services.store.redis.hset(key, "data", json.dumps(data, sort_keys=True))

    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", approval_id)
    result = await slack.wait_for_message(channel, "Result: Flush the queue failed", timeout=10)
    assert "parameters changed" in texts(result)
    assert "nothing ran, so there is nothing to roll back" in texts(result)
    await services.tasks.join(within=5)
    assert not [m for m in slack.messages(channel) if "Roll back:" in texts(m)]
    assert target.hits["flush"] == 0
    assert (await audit_actions(stack))["rollback.proposed"] == 0


async def test_a_step_that_succeeded_says_so_once(stack: SandboxStack, target: Target) -> None:
    slack = stack.emulator
    channel, plan = await open_drill(stack, "auto", target.url)
    await slack.wait_for_message(channel, "Result: Warm the cache succeeded", timeout=10)
    await slack.wait_until(lambda: "succeeded" in texts(slack.message(channel, plan.ts)), 10, "plan refreshed")
    state = next(s for s in sections(slack.message(channel, plan.ts).blocks) if "succeeded" in s)
    assert state == ":white_check_mark: approved by the bot (automatic) · succeeded (no output pattern declared)"

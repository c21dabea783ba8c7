"""Escalation through Slack: pages by mention and DM, the countdown, Acknowledge stops the next level, /oncall."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bot.incidents.models import Status
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.stack import SandboxStack
from tests.conftest import Serve
from tests.integration.bot.conftest import (
    FIXTURES,
    PAGER_ROUTING_KEY,
    RUNBOOKS,
    StartStack,
    open_incident,
    start_with_pager,
)
from tests.integration.bot.lifecycle_stack import ALICE, BOB

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

WAIT_S = 0.1 * 60  # level 1's wait in the fixture policy


@pytest.fixture
async def paging_stack(start_stack: StartStack) -> SandboxStack:
    return await start_stack(RUNBOOKS, escalation_path=FIXTURES / "escalation_slack")


def dm_texts(emulator: SlackEmulator, user: str) -> list[str]:
    channel = emulator.dm(user)
    return [str(m.blocks) for m in emulator.messages(channel.id)] if channel else []


async def test_ack_from_the_page_stops_the_next_level(paging_stack: SandboxStack) -> None:
    emulator = paging_stack.emulator
    channel = await open_incident(paging_stack, "ack", paged=None)
    page = await emulator.wait_for_message(channel, f"Paging* <@{ALICE}>", timeout=10)
    await emulator.wait_until(lambda: dm_texts(emulator, ALICE), 10, "a DM to alice")
    countdown = await emulator.wait_for_message(channel, f"No ack yet: paging <@{BOB}>", timeout=10)

    click = await emulator.driver.click_button("alice", channel, page.ts, "escalation_ack")
    assert (await click.acked(timeout=5)).latency < 3.0
    reply = await emulator.wait_for_ephemeral("alice", "escalation stopped", timeout=5)
    assert reply.text == f"INC-1 acknowledged by <@{ALICE}>; escalation stopped."
    await emulator.wait_until(
        lambda: "Acknowledged by" in str(emulator.message(channel, countdown.ts).blocks), 10, "countdown acknowledged"
    )
    store = paging_stack.bot.services.store  # type: ignore[union-attr]
    incident = await store.get_incident_or_raise("INC-1")
    assert incident.status is Status.ACKNOWLEDGED and incident.acknowledged_by == ALICE

    await asyncio.sleep(WAIT_S + 1)
    assert dm_texts(emulator, BOB) == []
    assert not [m for m in emulator.messages(channel) if f"Paging* <@{BOB}>" in str(m.blocks)]
    audit = await store.read_audit(incident_id="INC-1")
    assert [(e.action, e.actor) for e in audit if e.action == "escalation.ack"] == [("escalation.ack", ALICE)]
    assert [e.step for e in audit if e.action == "escalation.page"] == ["level-1"]


async def test_no_ack_pages_the_secondary_and_a_late_ack_is_recorded_as_not_paged(paging_stack: SandboxStack) -> None:
    emulator = paging_stack.emulator
    channel = await open_incident(paging_stack, "noack", paged=None)
    await emulator.wait_for_message(channel, f"Paging* <@{ALICE}>", timeout=10)
    await emulator.wait_for_message(channel, f"Paging* <@{BOB}>", timeout=WAIT_S + 10)
    await emulator.wait_until(lambda: dm_texts(emulator, BOB), 10, "a DM to bob")

    await emulator.driver.join("carol", channel)  # joining makes her a responder, though she was not paged
    carol = await emulator.driver.slash_command("carol", channel, "ack")
    await carol.acked(timeout=5)
    reply = await emulator.wait_for_ephemeral("carol", "acknowledged", timeout=5)
    assert "not among those paged" in (reply.text or "")


async def test_oncall_command(paging_stack: SandboxStack) -> None:
    emulator = paging_stack.emulator
    asked = await emulator.driver.slash_command("dave", "incidents", "api", command="/oncall")
    await asked.acked(timeout=5)
    reply = await emulator.wait_for_ephemeral("dave", "On call for api", timeout=5)
    assert f"<@{ALICE}>" in (reply.text or "") and f"<@{BOB}>" in (reply.text or "")


async def test_pager_target_triggers_pagerduty(start_stack: StartStack, serve: Serve) -> None:
    events: list[dict[str, object]] = []

    async def enqueue(request: web.Request) -> web.Response:
        events.append(await request.json())
        return web.json_response({"status": "success", "dedup_key": "INC-1"}, status=202)

    stack = await start_with_pager(start_stack, serve, enqueue)
    await open_incident(stack, "pd")
    await stack.emulator.wait_until(lambda: events, 10, "a PagerDuty event")
    assert len(events) == 1
    event = events[0]
    assert event["routing_key"] == PAGER_ROUTING_KEY and event["event_action"] == "trigger"
    assert event["dedup_key"] == "INC-1"

"""Escalation through Slack: pages by mention and DM, the countdown, Acknowledge stops the next level, /oncall."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.connections import Redis
from bot.incidents.models import Status
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.conftest import Serve
from tests.integration.bot.conftest import FIXTURES, RUNBOOKS, alertmanager_payload, post_alert

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

ALICE, BOB = "U0ALICE001", "U0BOB00001"
WAIT_S = 0.1 * 60  # level 1's wait in the fixture policy


@pytest.fixture
async def paging_stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        escalation_path=FIXTURES / "escalation_slack",
        data_dir=tmp_path,
    )
    yield started
    await started.stop()


def dm_texts(emulator: SlackEmulator, user: str) -> list[str]:
    channel = emulator.dm(user)
    return [str(m.blocks) for m in emulator.messages(channel.id)] if channel else []


async def open_incident(stack: SandboxStack, group: str) -> str:
    assert (await post_alert(stack, alertmanager_payload(group=group))).status_code == 202
    channel = await stack.emulator.wait_for_channel(f"inc-1-api-api-latency-high-{group}", timeout=10)
    return channel.id


async def test_ack_from_the_page_stops_the_next_level(paging_stack: SandboxStack) -> None:
    emulator = paging_stack.emulator
    channel = await open_incident(paging_stack, "ack")
    page = await emulator.wait_for_message(channel, f"Paging* <@{ALICE}>", timeout=10)
    await emulator.wait_until(lambda: dm_texts(emulator, ALICE), 10, "a DM to alice")
    countdown = await emulator.wait_for_message(channel, f"No ack yet: paging <@{BOB}>", timeout=10)

    click = await emulator.driver.click_button("alice", channel, page.ts, "escalation_ack")
    assert (await click.acked(timeout=5)).latency < 1.0
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
    channel = await open_incident(paging_stack, "noack")
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


async def test_pager_target_triggers_pagerduty(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path, serve: Serve
) -> None:
    events: list[dict[str, object]] = []

    async def enqueue(request: web.Request) -> web.Response:
        events.append(await request.json())
        return web.json_response({"status": "success", "dedup_key": "INC-1"}, status=202)

    app = web.Application()
    app.router.add_post("/v2/enqueue", enqueue)
    pagerduty = await serve(app)
    stack = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        escalation_path=FIXTURES / "escalation_pager",
        data_dir=tmp_path,
        pagerduty_events_url=f"{pagerduty}/v2/enqueue",
        pagerduty_routing_key="R0UTINGKEY",
    )
    try:
        channel = await open_incident(stack, "pd")
        await stack.emulator.wait_for_message(channel, f"Paging* <@{ALICE}>", timeout=10)
        await stack.emulator.wait_until(lambda: events, 10, "a PagerDuty event")
        assert len(events) == 1
        event = events[0]
        assert event["routing_key"] == "R0UTINGKEY" and event["event_action"] == "trigger"
        assert event["dedup_key"] == "INC-1"
    finally:
        await stack.stop()

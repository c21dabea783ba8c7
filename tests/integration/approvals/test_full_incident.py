"""A whole incident over the emulator, from alert to archived channel, checked against what every audience saw.

alert → evidence → a refused click → an approved step → a published update → a follow-up filed on a
loopback GitHub → resolve → post-mortem → close → the archive on a day-later replica's clock. The
post-mortem `runbookctl postmortem` prints lists every stored timeline and audit event once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli.commands.postmortem import read_draft
from bot.connections import Redis
from bot.escalation.scheduler import SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.closing import CHANNEL_ARCHIVED, POSTMORTEM_LINK
from bot.incidents.models import EventType, Status
from bot.incidents.postmortem import timeline_refs
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.conftest import Serve
from tests.integration.approvals.conftest import Target, button_value, open_drill, sandbox_settings
from tests.integration.followups.fake_trackers import GITHUB_TOKEN, FakeGitHub
from tests.integration.statuspage.conftest import eventually
from tests.manual_clock import ManualClock

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

PAGE_CONFIG = """
title: Example status
components:
  - {id: api, name: Public API}
services:
  api: [api]
publish_automatically: []
"""
UPDATE = "restart of the API brought p99 back <!channel> $(id)"


@dataclass
class World:
    stack: SandboxStack
    github: FakeGitHub


@pytest.fixture
async def world(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path, serve: Serve) -> AsyncIterator[World]:
    github = FakeGitHub()
    github.url = await serve(github.app())
    config = tmp_path / "statuspage.yaml"
    config.write_text(PAGE_CONFIG)
    settings = sandbox_settings(
        keys,
        redis_url,
        tmp_path,
        status_page_backends=["builtin"],
        status_page_config=config,
        followup_tracker="github",
        github_api_url=github.url,
        github_repo="acme/shop",
        github_token=GITHUB_TOKEN,
    )
    started = await start_sandbox(**settings)
    yield World(started, github)
    await started.stop()


async def command(stack: SandboxStack, user: str, channel: str, text: str, reply: str) -> str:
    await (await stack.emulator.driver.slash_command(user, channel, text)).acked(timeout=5)
    return (await stack.emulator.wait_for_ephemeral(user, reply, timeout=10)).text or ""


async def page(stack: SandboxStack) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        response = await client.get("/status", headers={"Accept": "application/json"})
        assert response.status_code == 200
        return dict(response.json())


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_full_incident_from_alert_to_archived_channel(
    world: World, target: Target, redis: Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, slack = world.stack, world.stack.emulator
    services = stack.bot.services
    assert services is not None
    store = services.store

    # Alert → channel, evidence and the plan.
    channel, plan = await open_drill(stack, "restart", target.url)
    await slack.wait_for_message(channel, "API health endpoint", timeout=10)
    approval_id = button_value(plan, "approve_step", "Restart the API")

    # A refused click (carol is not an approver), then the approved step runs once.
    await slack.driver.click_button("carol", channel, plan.ts, "approve_step", approval_id)
    await slack.wait_for_ephemeral("carol", "not among the approvers", timeout=5)
    await slack.driver.click_button("alice", channel, plan.ts, "approve_step", approval_id)
    await slack.wait_for_message(channel, "Result: Restart the API succeeded", timeout=10)
    assert target.hits["restart"] == 1

    # A published update reaches the built-in status page.
    assert (await page(stack))["incidents"] == []
    reply = await command(stack, "alice", channel, f"update identified: {UPDATE} --publish", "Update recorded")
    assert "published" in reply
    await eventually(lambda: _page_shows(stack, "identified"), timeout=20)
    shown = (await page(stack))["incidents"][0]
    assert shown["updates"][0]["body"] == UPDATE and shown["updates"][0]["status"] == "identified"

    # A follow-up, filed on the tracker, its link written back to the timeline.
    await command(stack, "alice", channel, "followup Alert on restart loops @bob", "Follow-up INC-1-F1")
    await eventually(lambda: _timeline_kind(stack, "followup_exported"), timeout=20)
    [issue] = world.github.issues
    exported = [e for e in await store.read_timeline("INC-1") if e.data.get("kind") == "followup_exported"]
    assert exported[0].data["url"] == issue["html_url"] and issue["title"].startswith("Alert on restart loops")

    # Resolve: the page moves the incident to its history, resolved.
    await command(stack, "alice", channel, "resolve", "resolved")
    await eventually(lambda: _page_resolved(stack), timeout=20)

    # The draft, then close: nothing is missing, so it closes at once and arms the archive.
    await command(stack, "alice", channel, "postmortem", "posted as a canvas")
    [canvas] = slack.workspace.documents.canvases.values()
    assert "approval.refused" in canvas.markdown and "![](@U0ALICE001)" in canvas.markdown
    assert (await store.get_incident_or_raise("INC-1")).links[POSTMORTEM_LINK]
    await command(stack, "alice", channel, "close", "INC-1 closed")
    closed = await store.get_incident_or_raise("INC-1")
    assert closed.status is Status.CLOSED and closed.closed_at is not None

    # A replica a day on, serving every timer kind the bot serves, fires the durable archive timer.
    clock = ManualClock(closed.closed_at + timedelta(hours=23, minutes=59))
    later = TimerScheduler(TimerStore(redis, keys), SchedulerConfig(lease_s=30), clock=clock.now, sleep=clock.sleep)
    assert stack.bot.timers is not None
    for kind, handler in stack.bot.timers.handlers().items():
        later.register(kind, handler)
    await later.start(ticking=False)
    try:
        await later.pump()
        await later.drain()
        assert not slack.channel(channel).is_archived
        await clock.advance(61)
        await later.pump()
        await later.drain()
    finally:
        await later.stop(timeout_s=1)
    assert slack.channel(channel).is_archived and later.stats.failed == 0
    assert any(e.data.get("kind") == CHANNEL_ARCHIVED for e in await store.read_timeline("INC-1"))

    # `runbookctl postmortem`: every stored timeline and audit event of the incident, once each, in time order.
    monkeypatch.setenv("REDIS_URL", stack.settings.redis_url or "")
    monkeypatch.setenv("REDIS_PREFIX", keys.prefix)
    draft = await read_draft("INC-1")
    timeline, audit = await store.read_timeline("INC-1"), await store.read_audit(incident_id="INC-1")
    expected = sorted(
        [(e.at, f"T-{e.stream_id}") for e in timeline] + [(e.at, f"A-{e.stream_id}") for e in audit],
        key=lambda pair: pair[0],
    )
    assert timeline_refs(draft) == [ref for _, ref in expected]
    assert {e.action for e in audit} >= {"approval.refused", "approval.approved", "step.execution", "step.result"}
    assert {e.type for e in timeline} >= {EventType.ALERT, EventType.DIAGNOSTIC, EventType.DECISION, EventType.ACTION}
    assert "| Commander |" in draft and "U0ALICE001" not in draft and "alice" in draft  # names from the cache
    assert "- `INC-1-F1` outstanding (bob): Alert on restart loops" in draft and issue["html_url"] in draft


async def _page_shows(stack: SandboxStack, status: str) -> bool:
    incidents = (await page(stack))["incidents"]
    return bool(incidents) and incidents[0]["status"] == status


async def _page_resolved(stack: SandboxStack) -> bool:
    body = await page(stack)
    return not body["incidents"] and [i["status"] for i in body["history"]] == ["resolved"]


async def _timeline_kind(stack: SandboxStack, kind: str) -> bool:
    assert stack.bot.services is not None
    return any(e.data.get("kind") == kind for e in await stack.bot.services.store.read_timeline("INC-1"))

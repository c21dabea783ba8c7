"""A whole incident over the emulator, from alert to archived channel, checked against what every audience saw.

alert → evidence → a refused approval → an approved step → a refused click (the severity menu, to a
bystander) → a severity change → a published update (the built-in page and a loopback Statuspage) → a
second severity change (the impact on both pages, no public update) → a
📌 pin → a follow-up through the draft's "Add follow-up" form, filed on a loopback GitHub → resolve →
post-mortem → close → the archive on a day-later replica's clock. The post-mortem `runbookctl
postmortem` prints lists every stored timeline and audit event once.
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
from bot.sandbox.emulator import Message, SlackEmulator
from bot.sandbox.stack import SandboxStack, start_sandbox
from bot.slack.followup_blocks import FollowupAction
from bot.slack.followup_modal import FOLLOWUP_CALLBACK, OWNER_BLOCK, TEXT_BLOCK
from bot.slack.header_controls import HeaderAction
from tests.conftest import Serve
from tests.integration.approvals.conftest import Target, button_value, open_drill, sandbox_settings
from tests.integration.followups.fake_trackers import GITHUB_TOKEN, FakeGitHub
from tests.integration.statuspage.conftest import eventually
from tests.integration.statuspage.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage
from tests.manual_clock import ManualClock

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")

PAGE_CONFIG = """
title: Example status
components:
  - {id: api, name: Public API, statuspage_id: cmp-api}
services:
  api: [api]
publish_automatically: []
"""
UPDATE = "restart of the API brought p99 back <!channel> $(id)"
PINNED = "Decision: keep the API on the previous build until the canary passes {{ 7*7 }}"
ALICE, BOB = "U0ALICE001", "U0BOB00001"


@dataclass
class World:
    stack: SandboxStack
    github: FakeGitHub
    statuspage: FakeStatuspage


@pytest.fixture
async def world(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path, serve: Serve) -> AsyncIterator[World]:
    github = FakeGitHub()
    github.url = await serve(github.app())
    statuspage = FakeStatuspage()
    statuspage.add_component("cmp-api", "Public API")
    statuspage_url = await serve(statuspage.app())
    config = tmp_path / "statuspage.yaml"
    config.write_text(PAGE_CONFIG)
    settings = sandbox_settings(
        keys,
        redis_url,
        tmp_path,
        status_page_backends=["builtin", "atlassian"],
        status_page_config=config,
        statuspage_api_url=statuspage_url + "/v1/",
        statuspage_page_id=PAGE_ID,
        statuspage_api_key=API_KEY,
        followup_tracker="github",
        github_api_url=github.url,
        github_repo="acme/shop",
        github_token=GITHUB_TOKEN,
    )
    started = await start_sandbox(**settings)
    yield World(started, github, statuspage)
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

    # A refused click on the header's severity menu (carol is no responder), then alice lowers the severity.
    before = await store.get_incident_or_raise("INC-1")
    assert before.severity.value == "P1" and before.header_ts
    await (await slack.driver.choose_option("carol", channel, before.header_ts, SEVERITY, "INC-1|P2")).acked()
    await slack.wait_for_ephemeral("carol", "access rule `severity`", timeout=5)
    assert (await store.get_incident_or_raise("INC-1")).severity.value == "P1"
    await (await slack.driver.choose_option("alice", channel, before.header_ts, SEVERITY, "INC-1|P2")).acked()
    await slack.wait_for_ephemeral("alice", "INC-1 severity P1 → P2", timeout=5)
    await slack.wait_until(lambda: _severity_shown(slack, channel, before.header_ts or "", "P2"), what="header P2")
    await slack.wait_until(lambda: slack.channel(channel).topic.startswith("P2 ·"), what="topic with P2")
    changes = [e for e in await store.read_timeline("INC-1") if e.data.get("field") == "severity"]
    assert [(e.type, e.data["old"], e.data["new"], e.actor) for e in changes] == [(EventType.FIELD, "P1", "P2", ALICE)]

    # A published update reaches the built-in status page and Statuspage, at the new severity.
    assert (await page(stack))["incidents"] == []
    reply = await command(stack, "alice", channel, f"update identified: {UPDATE} --publish", "Update recorded")
    assert "published" in reply
    await eventually(lambda: _page_shows(stack, "identified"), timeout=20)
    shown = (await page(stack))["incidents"][0]
    assert shown["updates"][0]["body"] == UPDATE and shown["updates"][0]["status"] == "identified"
    assert shown["severity"] == "P2"
    assert (await page(stack))["components"] == [{"id": "api", "name": "Public API", "status": "partial_outage"}]
    await eventually(lambda: _statuspage_shows(world.statuspage, "identified", "partial_outage"), timeout=20)
    [remote] = world.statuspage.incidents.values()
    assert remote["incident_updates"][0]["body"] == UPDATE and remote["name"] == shown["title"]
    # The change to P2 came before anything was published: the page was left alone, and the timeline says so.
    [unsent] = [e.data for e in await store.read_timeline("INC-1") if e.data.get("kind") == "statuspage_impact"]
    assert (unsent["sent"], unsent["reason"]) == (False, "never published")

    # Now published, a second change re-sets the impact on both pages without a public update.
    reply = await command(stack, "alice", channel, "severity P3", "INC-1 severity P2 → P3")
    assert "status page: impact minor" in reply
    await eventually(lambda: _statuspage_shows(world.statuspage, "identified", "degraded_performance"), timeout=20)
    assert remote["impact"] == "minor" and len(remote["incident_updates"]) == 1
    await eventually(lambda: _page_impact(stack, "minor"), timeout=10)
    shown = (await page(stack))["incidents"][0]
    assert (shown["severity"], shown["impact"], len(shown["updates"])) == ("P3", "minor", 1)

    # A 📌 on a message puts it in the timeline, with its author and link.
    if ALICE not in slack.channel(channel).members:
        await slack.driver.join("alice", channel)
    said = await slack.driver.post_user_message("alice", channel, PINNED)
    pinned = await slack.driver.add_reaction("bob", channel, said.message.ts, "pushpin")
    assert pinned is not None
    await pinned.acked()
    await eventually(lambda: _events(stack, EventType.PIN), timeout=10)
    pins = await _events(stack, EventType.PIN)
    assert [(p.actor, p.data["author"], p.data["text"]) for p in pins] == [(BOB, ALICE, PINNED)]
    assert pins[0].data["permalink"].endswith(f"/archives/{channel}/p{said.message.ts.replace('.', '')}")

    # A follow-up through the draft's "Add follow-up" form, filed on the tracker, its link back in the timeline.
    await command(stack, "alice", channel, "postmortem", "posted as a canvas")
    announced = await slack.wait_for_message(channel, "Post-mortem draft for INC-1", timeout=10)
    await followup_through_the_draft(slack, channel, announced, "Alert on restart loops", BOB)
    await slack.wait_for_ephemeral("alice", "Follow-up INC-1-F1 recorded", timeout=10)
    await eventually(lambda: _timeline_kind(stack, "followup_exported"), timeout=20)
    [issue] = world.github.issues
    exported = [e for e in await store.read_timeline("INC-1") if e.data.get("kind") == "followup_exported"]
    assert exported[0].data["url"] == issue["html_url"] and issue["title"].startswith("Alert on restart loops")

    # Resolve: both pages move the incident to resolved.
    await command(stack, "alice", channel, "resolve", "resolved")
    await eventually(lambda: _page_resolved(stack), timeout=20)
    # The component is set after the incident's update (Statuspage allows one request a second).
    await eventually(lambda: _statuspage_shows(world.statuspage, "resolved", "operational"), timeout=30)
    assert [u["status"] for u in reversed(remote["incident_updates"])] == ["identified", "resolved"]
    assert world.statuspage.refused == 0 and len(world.statuspage.incidents) == 1

    # The draft again (the channel's one canvas, replaced), then close: nothing is missing, so it closes at once.
    await command(stack, "alice", channel, "postmortem", "posted as a canvas")
    [canvas] = slack.workspace.documents.canvases.values()
    assert "approval.refused" in canvas.markdown and "![](@U0ALICE001)" in canvas.markdown
    assert PINNED.split("{{")[0].strip() in canvas.markdown
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
    assert {e.action for e in audit} >= {"incident.severity", "access.denied"}
    assert {e.type for e in timeline} >= {EventType.ALERT, EventType.DIAGNOSTIC, EventType.DECISION, EventType.ACTION}
    assert {e.type for e in timeline} >= {EventType.FIELD, EventType.PIN}
    assert "P1 → P2" in draft and "Decision: keep the API on the previous build" in draft
    assert "| Commander |" in draft and "U0ALICE001" not in draft and "alice" in draft  # names from the cache
    assert "- `INC-1-F1` outstanding (bob): Alert on restart loops" in draft and issue["html_url"] in draft


SEVERITY = HeaderAction.SEVERITY.value


async def followup_through_the_draft(slack: SlackEmulator, channel: str, draft: Message, text: str, owner: str) -> None:
    """alice clicks the draft's "Add follow-up" and submits the form."""
    click = await slack.driver.click_button("alice", channel, draft.ts, FollowupAction.ADD.value, "INC-1")
    await click.acked()
    form = await slack.wait_for_view("alice", callback_id=FOLLOWUP_CALLBACK)
    await (await slack.driver.submit_view("alice", form.id, {TEXT_BLOCK: text, OWNER_BLOCK: owner})).acked()
    assert slack.workspace.views[form.id].closed


def _severity_shown(slack: SlackEmulator, channel: str, header_ts: str, severity: str) -> bool:
    header = slack.message(channel, header_ts)
    controls = [b for b in header.blocks or [] if b.get("block_id") == "incident_controls"]
    return bool(controls) and controls[0]["elements"][0]["initial_option"]["value"] == f"INC-1|{severity}"


def _statuspage_shows(fake: FakeStatuspage, status: str, component: str) -> bool:
    shown = any(i["status"] == status for i in fake.incidents.values())
    return shown and fake.components["cmp-api"]["status"] == component


async def _events(stack: SandboxStack, kind: EventType) -> list[Any]:
    assert stack.bot.services is not None
    return [e for e in await stack.bot.services.store.read_timeline("INC-1") if e.type is kind]


async def _page_shows(stack: SandboxStack, status: str) -> bool:
    incidents = (await page(stack))["incidents"]
    return bool(incidents) and incidents[0]["status"] == status


async def _page_impact(stack: SandboxStack, impact: str) -> bool:
    incidents = (await page(stack))["incidents"]
    return bool(incidents) and incidents[0]["impact"] == impact


async def _page_resolved(stack: SandboxStack) -> bool:
    body = await page(stack)
    return not body["incidents"] and [i["status"] for i in body["history"]] == ["resolved"]


async def _timeline_kind(stack: SandboxStack, kind: str) -> bool:
    assert stack.bot.services is not None
    return any(e.data.get("kind") == kind for e in await stack.bot.services.store.read_timeline("INC-1"))

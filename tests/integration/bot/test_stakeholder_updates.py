"""Published updates, the status page and follow-ups over the emulator, with loopback Statuspage and GitHub."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.conftest import Serve
from tests.integration.bot.conftest import RUNBOOKS
from tests.integration.followups.fake_trackers import GITHUB_TOKEN, FakeGitHub
from tests.integration.statuspage.conftest import eventually
from tests.integration.statuspage.fake_statuspage import API_KEY, PAGE_ID, FakeStatuspage

# Every scenario here runs over Socket Mode and again over HTTP with signed requests.
pytestmark = pytest.mark.usefixtures("slack_mode")

ALICE, BOB = "U0ALICE001", "U0BOB00001"
HOSTILE = "Bad deploy <!channel> *bold* <https://evil.example|click> $(rm -rf /) {{ secrets }} & <script>x</script>"
PAGE_CONFIG = """
title: Example status
components:
  - {id: checkout, name: Checkout, statuspage_id: cmp-checkout}
  - {id: search, name: Search}
services:
  checkout: [checkout]
publish_automatically: [P1]
"""


@dataclass
class World:
    stack: SandboxStack
    statuspage: FakeStatuspage
    github: FakeGitHub


@pytest.fixture
async def world(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path, serve: Serve) -> AsyncIterator[World]:
    statuspage = FakeStatuspage()
    statuspage.add_component("cmp-checkout", "Checkout")
    statuspage_url = await serve(statuspage.app())
    github = FakeGitHub()
    github.url = await serve(github.app())
    config = tmp_path / "statuspage.yaml"
    config.write_text(PAGE_CONFIG)
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        data_dir=tmp_path,
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
    yield World(started, statuspage, github)
    await started.stop()


async def page_json(stack: SandboxStack) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        response = await client.get("/status", headers={"Accept": "application/json"})
        assert response.status_code == 200
        return dict(response.json())


async def command(stack: SandboxStack, user: str, channel: str, text: str, reply: str) -> str:
    slack = stack.emulator
    await (await slack.driver.slash_command(user, channel, text)).acked(timeout=5)
    return (await slack.wait_for_ephemeral(user, reply, timeout=10)).text or ""


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_published_update_follow_up_and_resolve_reach_every_audience(world: World) -> None:
    stack, slack = world.stack, world.stack.emulator
    services = stack.bot.services
    assert services is not None
    await command(stack, "alice", "general", 'new "Checkout <b>down</b>" --severity P1 --service checkout', "Opening")
    channel = await slack.wait_for_channel("inc-1-checkout-checkout-b-down-b", timeout=10)
    incidents_channel = stack.settings.incidents_channel
    assert incidents_channel is not None
    announcement = await slack.wait_for_message(incidents_channel, "INC-1", timeout=10)

    # P1 publishes itself: the built-in page and Statuspage show the incident, investigating.
    await eventually(lambda: _open_on_page(stack, "investigating"), timeout=20)
    await eventually(lambda: len(world.statuspage.incidents) == 1, timeout=20)

    await slack.driver.join("bob", channel.id)
    reply = await command(stack, "bob", channel.id, f"update identified: {HOSTILE} --publish", "Update recorded")
    assert "published" in reply
    posted = await slack.wait_for_message(channel.id, "Status update", timeout=10)
    assert "<!channel>" not in (posted.text or "") and "<https://evil" not in (posted.text or "")
    threaded = await slack.wait_for_message(incidents_channel, "Status update", timeout=10)
    assert threaded.thread_ts == announcement.ts
    await eventually(lambda: _open_on_page(stack, "identified"), timeout=20)
    page = await page_json(stack)
    assert page["incidents"][0]["updates"][0]["body"] == HOSTILE  # data, unchanged, escaped at rendering
    assert page["components"] == [
        {"id": "checkout", "name": "Checkout", "status": "major_outage"},
        {"id": "search", "name": "Search", "status": "operational"},
    ]

    # Not published: the channel only.
    await command(stack, "bob", channel.id, "update still rolling back", "Update recorded")
    await slack.wait_for_message(channel.id, "still rolling back", timeout=10)
    assert not [m for m in slack.messages(incidents_channel) if "still rolling back" in (m.text or "")]

    reply = await command(stack, "bob", channel.id, f"followup Add a canary stage {HOSTILE} <@{ALICE}>", "Follow-up")
    assert "INC-1-F1" in reply and f"<@{ALICE}>" in reply and "<!channel>" not in reply
    await eventually(lambda: _timeline_has(stack, "followup_exported"), timeout=20)
    assert len(world.github.issues) == 1 and "$(rm -rf /)" in str(world.github.issues[0]["body"])
    assert {"name": "rb-inc-1-f1"} in world.github.issues[0]["labels"]
    assert world.github.issues[0]["title"].startswith("Add a canary stage Bad deploy")
    items = await services.followups.followups.list_incident("INC-1")  # type: ignore[union-attr]
    assert items[0].owner == ALICE and items[0].tracker_url == world.github.issues[0]["html_url"]

    await command(stack, "alice", channel.id, "resolve", "resolved")
    await eventually(lambda: _resolved_on_page(stack), timeout=20)
    await eventually(lambda: _statuspage_resolved(world.statuspage), timeout=30)
    remote = next(iter(world.statuspage.incidents.values()))
    assert [u["status"] for u in reversed(remote["incident_updates"])] == ["investigating", "identified", "resolved"]
    assert world.statuspage.components["cmp-checkout"]["status"] == "operational"
    assert world.statuspage.refused == 0

    timeline = await services.store.read_timeline("INC-1")
    updates = [e for e in timeline if e.data.get("kind") == "status_update"]
    assert [(e.data["status"], e.data["published"]) for e in updates] == [("identified", True), ("identified", False)]

    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        html = (await client.get("/status")).text
        feed = (await client.get("/status/feed.atom")).text
    assert "<b>down</b>" not in html and "&lt;b&gt;down&lt;/b&gt;" in html and "<script>x" not in html
    entries = ET.fromstring(feed).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 3


async def _open_on_page(stack: SandboxStack, status: str) -> bool:
    page = await page_json(stack)
    return bool(page["incidents"]) and page["incidents"][0]["status"] == status


async def _resolved_on_page(stack: SandboxStack) -> bool:
    page = await page_json(stack)
    return not page["incidents"] and [i["status"] for i in page["history"]] == ["resolved"]


def _statuspage_resolved(fake: FakeStatuspage) -> bool:
    return any(i["status"] == "resolved" for i in fake.incidents.values()) and (
        fake.components["cmp-checkout"]["status"] == "operational"
    )


async def _timeline_has(stack: SandboxStack, kind: str) -> bool:
    assert stack.bot.services is not None
    return any(e.data.get("kind") == kind for e in await stack.bot.services.store.read_timeline("INC-1"))


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_severity_change_re_sets_the_impact_of_a_published_incident_only(world: World) -> None:
    stack, slack, statuspage = world.stack, world.stack.emulator, world.statuspage
    assert stack.bot.services is not None
    store = stack.bot.services.store
    await command(stack, "alice", "general", 'new "Checkout slow" --severity P2 --service checkout', "Opening")
    channel = await slack.wait_for_channel("inc-1-checkout-checkout-slow", timeout=10)
    await eventually(lambda: _channel_recorded(stack, "INC-1"), timeout=10)
    await command(stack, "alice", channel.id, "update identified: slow checkout --publish", "Update recorded")
    await eventually(lambda: _remote_shows(statuspage, "major", "partial_outage"), timeout=20)

    reply = await command(stack, "alice", channel.id, "severity P1", "severity P2 → P1")
    assert "status page: impact critical, components major_outage" in reply
    await eventually(lambda: _remote_shows(statuspage, "critical", "major_outage"), timeout=20)
    remote = next(iter(statuspage.incidents.values()))
    assert [u["body"] for u in remote["incident_updates"]] == ["slow checkout"]  # no public update
    assert len(statuspage.accepted("POST")) == 1 and statuspage.refused == 0
    await eventually(lambda: _timeline_has(stack, "statuspage_impact_set"), timeout=10)
    await eventually(lambda: _builtin_impact(stack, "critical"), timeout=10)
    page = await page_json(stack)
    assert [(i["severity"], i["impact"], len(i["updates"])) for i in page["incidents"]] == [("P1", "critical", 1)]
    assert page["components"][0] == {"id": "checkout", "name": "Checkout", "status": "major_outage"}
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        html = (await client.get("/status")).text
        feed = (await client.get("/status/feed.atom")).text
    assert "Impact: Critical" in html and "Major outage" in html
    assert len(ET.fromstring(feed).findall("{http://www.w3.org/2005/Atom}entry")) == 1

    # Never published: the new severity is not public, nothing is sent; the timeline says why.
    await command(stack, "alice", "general", 'new "Search slow" --severity P3 --service checkout', "Opening")
    quiet = await slack.wait_for_channel("inc-2-checkout-search-slow", timeout=10)
    # Named: the channel shows up a moment before the incident records it.
    reply = await command(stack, "alice", quiet.id, "severity P2 INC-2", "severity P3 → P2")
    assert "status page not changed: never published" in reply
    events = [e.data for e in await store.read_timeline("INC-2") if e.data.get("kind") == "statuspage_impact"]
    assert [(e["sent"], e["reason"]) for e in events] == [(False, "never published")]
    assert len(statuspage.incidents) == 1 and [i["id"] for i in (await page_json(stack))["incidents"]] == ["INC-1"]


async def _builtin_impact(stack: SandboxStack, impact: str) -> bool:
    return [i["impact"] for i in (await page_json(stack))["incidents"]] == [impact]


async def _channel_recorded(stack: SandboxStack, incident_id: str) -> bool:
    assert stack.bot.services is not None
    incident = await stack.bot.services.store.get_incident(incident_id)
    return incident is not None and bool(incident.channel_id)


def _remote_shows(fake: FakeStatuspage, impact: str, component: str) -> bool:
    return [i["impact"] for i in fake.incidents.values()] == [impact] and (
        fake.components["cmp-checkout"]["status"] == component
    )

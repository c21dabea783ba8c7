"""Severity, communication status and the update modal over the emulator: commands, menus, access, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot import metrics
from bot.connections import Redis
from bot.incidents.models import CommStatus, EventType
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from bot.slack.header_controls import HeaderAction
from bot.slack.update_modal import UPDATE_CALLBACK
from tests.integration.bot.lifecycle_stack import (
    ALICE,
    BOB,
    DECLARE_RUNBOOKS,
    HOSTILE,
    SANDBOX_ESCALATION,
    wait_incident,
)

# Over Socket Mode; over HTTP too with RUNBOOK_TEST_ALL_SLACK_MODES=1 (the suite's time budget, docs/slack-modes.md).
pytestmark = pytest.mark.usefixtures("slack_mode_all")


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=DECLARE_RUNBOOKS,
        escalation_path=SANDBOX_ESCALATION,
        data_dir=tmp_path,
        shell_allowlist=["echo"],
        log_format="text",
    )
    yield started
    await started.stop()


async def declared(stack: SandboxStack, severity: str = "P3") -> str:
    """alice declares an incident on `checkout` (she is its commander); returns its channel id."""
    text = f'new "checkout errors" --service checkout --severity {severity} --env staging'
    await (await stack.emulator.driver.slash_command("alice", "general", text)).acked()
    incident = await wait_incident(stack, "INC-1")
    assert incident.channel_id is not None
    await stack.emulator.wait_for_message(incident.channel_id, f"Paging* <@{ALICE}>", timeout=10)
    return incident.channel_id


async def test_raising_severity_pages_the_new_rule_at_once_and_updates_everything(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    channel = await declared(stack)
    assert not [m for m in emulator.messages(channel) if f"Paging* <@{BOB}>" in (m.text or "")]

    await (await emulator.driver.slash_command("alice", channel, "severity p1")).acked()
    await emulator.wait_for_ephemeral("alice", "severity P3 → P1")
    # The P1 rule of the sandbox policy pages bob (api-secondary) at once.
    await emulator.wait_for_message(channel, f"Paging* <@{BOB}>", timeout=10)
    incident = await services.store.get_incident_or_raise("INC-1")
    assert incident.severity.value == "P1"

    header = await emulator.wait_until(
        lambda: (m := emulator.message(channel, incident.header_ts or "")) and "P1" in (m.text or "") and m,
        what="the header showing P1",
    )
    controls = next(b for b in header.blocks or [] if b.get("block_id") == "incident_controls")
    assert controls["elements"][0]["initial_option"]["value"] == "INC-1|P1"
    await emulator.wait_until(lambda: emulator.channel(channel).topic.startswith("P1 ·"), what="topic with P1")
    announcement = incident.announcement_ts or ""
    await emulator.wait_until(
        lambda: "P1" in (emulator.message("incidents", announcement).text or ""), what="announcement with P1"
    )
    changes = [e for e in await services.store.read_timeline("INC-1") if e.data.get("field") == "severity"]
    assert [(e.type, e.data["old"], e.data["new"], e.actor) for e in changes] == [(EventType.FIELD, "P3", "P1", ALICE)]
    assert [a.data for a in await services.store.read_audit("INC-1") if a.action == "incident.severity"] == [
        {"old": "P3", "new": "P1"}
    ]

    # The same severity again changes nothing and pages nobody more.
    await (await emulator.driver.slash_command("alice", channel, "severity P1")).acked()
    await emulator.wait_for_ephemeral("alice", "already P1")


async def test_header_menus_obey_the_access_policy(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    channel = await declared(stack)
    incident = await services.store.get_incident_or_raise("INC-1")
    header_ts = incident.header_ts or ""
    # carol is in no role: refused, and nothing changes.
    await emulator.driver.join("carol", channel)
    await emulator.driver.choose_option("carol", channel, header_ts, HeaderAction.SEVERITY.value, "INC-1|P2")
    await emulator.wait_for_ephemeral("carol", "access rule `severity`")
    await emulator.driver.choose_option("alice", channel, header_ts, HeaderAction.SEVERITY.value, "INC-1|P2")
    await emulator.wait_for_ephemeral("alice", "severity P3 → P2")
    await emulator.driver.choose_option("alice", channel, header_ts, HeaderAction.COMM_STATUS.value, "INC-1|identified")
    await emulator.wait_for_ephemeral("alice", "status investigating → identified")
    fresh = await services.store.get_incident_or_raise("INC-1")
    assert (fresh.severity.value, fresh.comm_status) == ("P2", CommStatus.IDENTIFIED)
    await emulator.wait_until(
        lambda: "identified" in str(emulator.message(channel, header_ts).blocks), what="header showing identified"
    )


async def test_status_word_sets_the_communication_status(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    channel = await declared(stack)
    # Setting it is an update: carol, in no role, may look but not set.
    await (await emulator.driver.slash_command("carol", "general", "status INC-1 monitoring")).acked()
    await emulator.wait_for_ephemeral("carol", "access rule `update`")
    assert (await services.store.get_incident_or_raise("INC-1")).comm_status is CommStatus.INVESTIGATING
    await (await emulator.driver.slash_command("alice", channel, "status monitoring")).acked()
    await emulator.wait_for_ephemeral("alice", "status investigating → monitoring")
    assert (await services.store.get_incident_or_raise("INC-1")).comm_status is CommStatus.MONITORING
    # Without a word it still shows the state; a bad severity word is refused with the choices.
    await (await emulator.driver.slash_command("alice", channel, "status")).acked()
    await emulator.wait_for_ephemeral("alice", "status *triggered*")
    await (await emulator.driver.slash_command("alice", channel, f"severity '{HOSTILE[:30]}'")).acked()
    reply = await emulator.wait_for_ephemeral("alice", "severity must be one of P1, P2, P3, P4")
    assert (await services.store.get_incident_or_raise("INC-1")).severity.value == "P3"
    assert "<!channel>" not in (reply.text or "")


async def test_update_modal_validates_then_posts_and_sets_the_status(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    channel = await declared(stack)
    await (await emulator.driver.slash_command("alice", channel, "update")).acked()
    view = await emulator.wait_for_view("alice", callback_id=UPDATE_CALLBACK)
    assert view.definition["private_metadata"] == "INC-1"
    await (await emulator.driver.submit_view("alice", view.id, {"status": "identified", "message": "  "})).acked()
    assert list(emulator.workspace.views[view.id].errors) == ["message"]
    values = {"status": "identified", "message": HOSTILE, "publish": ["publish"]}
    await (await emulator.driver.submit_view("alice", view.id, values)).acked()
    assert emulator.workspace.views[view.id].closed
    posted = await emulator.wait_for_message(channel, "Status update", timeout=5)
    # A typed colleague stays a mention (as typed in Slack); the broadcast, the link and the rest stay text.
    assert "<!channel>" not in (posted.text or "") and "&lt;!channel&gt;" in (posted.text or "")
    assert "<https://e.test|" not in (posted.text or "") and "$(touch /tmp/x)" in (posted.text or "")
    assert (await services.store.get_incident_or_raise("INC-1")).comm_status is CommStatus.IDENTIFIED
    notes = [e for e in await services.store.read_timeline("INC-1") if e.data.get("kind") == "status_update"]
    assert [(n.summary, n.data["status"], n.data["published"]) for n in notes] == [(HOSTILE, "identified", True)]


async def test_update_modal_refuses_a_bystander_inside_the_modal(stack: SandboxStack) -> None:
    emulator, services = stack.emulator, stack.bot.services
    assert services is not None
    await declared(stack)
    # carol may not even open it: the command is refused before any modal.
    await (await emulator.driver.slash_command("carol", "general", "update INC-1")).acked()
    await emulator.wait_for_ephemeral("carol", "access rule `update`")
    assert not emulator.views("carol")


async def test_lifecycle_timings_and_open_gauge_on_metrics(stack: SandboxStack) -> None:
    emulator = stack.emulator
    labels = {"service": "checkout", "severity": "P4"}

    def count(name: str) -> float:
        return metrics.REGISTRY.get_sample_value(f"runbook_incident_time_to_{name}_seconds_count", labels) or 0.0

    before = {n: count(n) for n in ("acknowledge", "mitigate", "resolve")}
    text = 'new "checkout errors" --service checkout --severity P4 --env staging'
    await (await emulator.driver.slash_command("alice", "general", text)).acked()
    await wait_incident(stack, "INC-1")
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        scraped = (await client.get("/metrics")).text
        assert 'runbook_incidents_open{severity="P4"} 1.0' in scraped
        for word, name in (("ack", "acknowledge"), ("mitigating", "mitigate"), ("resolve", "resolve")):
            await (await emulator.driver.slash_command("alice", "general", f"{word} INC-1")).acked()
            await emulator.wait_until(lambda n=name: count(n) == before[n] + 1, what=f"time to {name} observed")
        scraped = (await client.get("/metrics")).text
        assert 'runbook_incidents_open{severity="P4"} 0.0' in scraped

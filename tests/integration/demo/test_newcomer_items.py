"""What a newcomer ran into in the sandbox, each reproduced: the banner's alert, silence when nothing matches,
unresolvable approver groups, and responders never invited."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from bot.keys import Keys
from bot.sandbox.drill import approve_buttons
from bot.sandbox.session import DemoSandbox, start_demo_sandbox
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN
from bot.settings import load_settings
from tests.integration.demo.conftest import RUNBOOKS, fire

pytestmark = pytest.mark.slow
HEADERS = {"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}"}


async def test_the_banners_alert_is_accepted_and_the_channel_says_no_runbook_matched(demo: DemoSandbox) -> None:
    async with httpx.AsyncClient(base_url=demo.stack.webhook_url) as client:
        response = await client.post(
            "/alerts/generic", json={"name": "DiskFull", "service": "db", "title": "disk 95% full"}, headers=HEADERS
        )
    assert response.status_code == 202, response.text
    incident = response.json()["alerts"][0]["incident"]
    emulator = demo.stack.emulator
    channel = await emulator.wait_until(
        lambda: next((c for c in emulator.channels() if c.name.startswith(f"inc-{incident[4:]}-")), None), 15, "channel"
    )
    said = await emulator.wait_for_message(channel.id, "No runbook matches", timeout=10)
    assert "`DiskFull`" in str(said.text) and "triggers: [{alert: DiskFull}]" in str(said.text)


async def test_paged_people_commanders_and_approvers_who_click_are_invited(demo: DemoSandbox) -> None:
    emulator = demo.stack.emulator
    incident, channel = await fire(demo, "db-pool-exhausted")
    # alice is paged at once by the sandbox's policy.
    await emulator.wait_until(lambda: "U0ALICE001" in emulator.channel(channel.id).members or None, 15, "alice")
    # The access policy lets a responder take an unclaimed incident, then the commander hand it on.
    await emulator.driver.slash_command("alice", "incidents", f"commander <@U0ALICE001> {incident}")
    await emulator.wait_until(
        lambda: any("is now commander" in str(e.text) for e in emulator.ephemerals("alice")) or None, 10, "command"
    )
    await emulator.driver.slash_command("alice", "incidents", f"commander <@U0CAROL001> {incident}")
    await emulator.wait_until(lambda: "U0CAROL001" in emulator.channel(channel.id).members or None, 10, "carol")
    # dave is in @dba-oncall but not paged: he joins when he clicks Approve.
    assert "U0DAVE0001" not in emulator.channel(channel.id).members
    await emulator.wait_until(lambda: approve_buttons(emulator.messages(channel.id)) or None, 15, "the plan")
    (message, approval_id), *_ = approve_buttons(emulator.messages(channel.id))
    await emulator.driver.click_button("dave", channel.id, message.ts, "approve_step", approval_id)
    await emulator.wait_until(lambda: "U0DAVE0001" in emulator.channel(channel.id).members or None, 10, "dave")


async def test_an_unresolvable_approver_group_is_named_in_the_log_and_the_refusal(
    redis_url: str, keys: Keys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    text = (RUNBOOKS / "demo-db-pool-exhausted.yaml").read_text().replace('["@dba-oncall"]', '["@nosuch-oncall"]')
    (runbooks / "demo-db-pool-exhausted.yaml").write_text(text)
    settings = load_settings(redis_url=redis_url, runbook_bot_data_dir=tmp_path, runbooks_path=runbooks)
    demo = await start_demo_sandbox(settings, prefix=keys.prefix)
    try:
        emulator = demo.stack.emulator
        _, channel = await fire(demo, "db-pool-exhausted")
        await emulator.wait_until(lambda: approve_buttons(emulator.messages(channel.id)) or None, 15, "the plan")
        (message, approval_id), *_ = approve_buttons(emulator.messages(channel.id))
        with caplog.at_level(logging.WARNING, logger="bot.policy.approvers"):
            await emulator.driver.click_button("alice", channel.id, message.ts, "approve_step", approval_id)
            refusal = await emulator.wait_for_ephemeral("U0ALICE001", "Refused", timeout=10)
        assert "cannot resolve the user group @nosuch-oncall" in (refusal.text or "")
        assert any("@nosuch-oncall" in record.getMessage() for record in caplog.records)
        assert demo.service.fault == "db-pool-exhausted"  # nothing ran
    finally:
        await demo.stop()


DISK_RUNBOOK = """id: disk-full
name: Disk full
owner: "@platform-oncall"
service: db
triggers: [{alert: DiskFull}]
diagnostics:
  - {id: usage, name: Disk usage, type: shell_command, config: {argv: [echo, "95%"]}}
"""


async def test_a_runbook_file_added_while_running_is_loaded_without_a_restart(
    redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    settings = load_settings(redis_url=redis_url, runbook_bot_data_dir=tmp_path, runbooks_path=runbooks)
    demo = await start_demo_sandbox(settings, prefix=keys.prefix, runbook_watch_s=0.1)
    try:
        (runbooks / "disk-full.yaml").write_text(DISK_RUNBOOK)
        services = demo.stack.bot.services
        assert services is not None
        catalog = services.flows.responder.catalog  # type: ignore[attr-defined]
        await demo.stack.emulator.wait_until(lambda: catalog.get("disk-full"), 10, "the reload")
        async with httpx.AsyncClient(base_url=demo.stack.webhook_url) as client:
            response = await client.post("/alerts/generic", json={"name": "DiskFull", "service": "db"}, headers=HEADERS)
        assert response.status_code == 202, response.text
        incident = response.json()["alerts"][0]["incident"]
        emulator = demo.stack.emulator
        channel = await emulator.wait_until(
            lambda: next((c for c in emulator.channels() if c.name.startswith(f"inc-{incident[4:]}-")), None), 15, "ch"
        )
        evidence = await emulator.wait_for_message(channel.id, "Diagnostics", timeout=15)
        assert "Disk full" in str(evidence.blocks)
    finally:
        await demo.stop()

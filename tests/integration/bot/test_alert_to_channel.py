"""An alert becomes one incident, one channel, a header, evidence and a plan, over real sockets."""

from __future__ import annotations

import re
from pathlib import Path

from slack_sdk.models.blocks import Block

from bot.connections import Redis
from bot.incidents.models import Status
from bot.keys import Keys
from bot.sandbox.emulator import Message
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.integration.bot.conftest import RUNBOOKS, ApiServer, alertmanager_payload, post_alert


def assert_valid_blocks(message: Message) -> None:
    assert message.blocks, message.text
    assert len(message.blocks) <= 50
    for raw in message.blocks:
        parsed = Block.parse(raw)
        assert parsed is not None
        parsed.validate_json()


def texts(message: Message) -> str:
    return (message.text or "") + " " + str(message.blocks or "")


async def test_firing_redelivery_and_resolve(
    stack: SandboxStack, api_server: ApiServer, redis: Redis, keys: Keys
) -> None:
    emulator = stack.emulator
    payload = alertmanager_payload(health_url=api_server.url + "/health", notify_url=api_server.url + "/notify")
    response = await post_alert(stack, payload)
    assert response.status_code == 202, response.text

    channel = await emulator.wait_for_channel("inc-1-api-api-latency-high-api", timeout=10)
    assert re.fullmatch(r"[a-z0-9_-]{1,80}", channel.name)
    plan = await emulator.wait_for_message(channel.id, "Next safe step", timeout=15)
    messages = emulator.messages(channel.id, include_replies=False)
    header, evidence = messages[0], next(m for m in messages if "Diagnostics" in texts(m))
    for message in (header, evidence, plan):
        assert_valid_blocks(message)
    assert "INC-1" in texts(header) and "<!channel>" not in texts(header)
    assert "API health endpoint" in texts(evidence) and "critical" in texts(evidence)
    assert "Tell the API team" in texts(plan) and "Check the dashboard" in texts(plan)
    assert "Post to webhook at http://127.0.0.1" in texts(plan) and "API latency incident INC-1" in texts(plan)
    assert [(b.title, b.link) for b in channel.bookmarks] == [("Dashboard", "https://grafana.example/d/api")]
    announced = emulator.messages("incidents")
    assert any("INC-1" in texts(m) for m in announced)

    await stack.bot.services.tasks.join(within=10)  # type: ignore[union-attr]
    store = stack.bot.services.store  # type: ignore[union-attr]
    incident = await store.get_incident_or_raise("INC-1")
    assert incident.provisioned
    assert incident.channel_id == channel.id and incident.runbook_id == "api-latency"
    calls_before = len(emulator.calls())
    version_before = incident.version

    again = await post_alert(stack, payload)
    assert again.status_code == 202 and "duplicate" in again.text
    await stack.bot.services.tasks.join(within=5)  # type: ignore[union-attr]
    assert len(emulator.calls()) == calls_before
    assert (await store.get_incident_or_raise("INC-1")).version == version_before
    assert await redis.get(keys.incident_counter()) == "1"

    # A second alert of the same group edits the header in place instead of posting.
    second = alertmanager_payload(health_url=api_server.url + "/health", notify_url=api_server.url + "/notify")
    second["alerts"][0]["fingerprint"] = "fp-api-2"
    top_level_before = len(emulator.messages(channel.id, include_replies=False))
    assert (await post_alert(stack, second)).status_code == 202
    await emulator.wait_until(
        lambda: "2 firing" in texts(emulator.message(channel.id, header.ts)), 10, "header showing 2 firing"
    )
    await stack.bot.services.tasks.join(within=5)  # type: ignore[union-attr]
    assert len(emulator.messages(channel.id, include_replies=False)) == top_level_before

    for fingerprint in ("fp-api", "fp-api-2"):
        resolved = alertmanager_payload(status="resolved")
        resolved["alerts"][0]["annotations"] = payload["alerts"][0]["annotations"]
        resolved["alerts"][0]["fingerprint"] = fingerprint
        assert (await post_alert(stack, resolved)).status_code == 202
    await emulator.wait_for_message(channel.id, "resolved", timeout=10)
    await stack.bot.services.tasks.join(within=5)  # type: ignore[union-attr]
    final = await store.get_incident_or_raise("INC-1")
    assert final.status is Status.RESOLVED
    header_now = emulator.message(channel.id, header.ts)
    assert "resolved" in texts(header_now)
    assert len([c for c in emulator.channels() if c.name.startswith("inc-")]) == 1


async def test_responder_group_is_invited(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> None:
    stack = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        data_dir=tmp_path,
        responder_usergroup="S0ONCALL01",
    )
    try:
        group = stack.emulator.workspace.groups["S0ONCALL01"]
        await post_alert(stack, alertmanager_payload(group="invite"))
        channel = await stack.emulator.wait_for_channel("inc-1-api-api-latency-high-invite", timeout=10)
        await stack.emulator.wait_until(
            lambda: set(group.users) <= set(stack.emulator.channel(channel.id).members), 10, "on-call group invited"
        )
        assert stack.emulator.bot_user_id in channel.members
    finally:
        await stack.stop()

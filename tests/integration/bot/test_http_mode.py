"""SLACK_MODE=http: Slack's requests arrive signed at /slack/events; forged, altered or stale ones do nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.emulator import payloads
from bot.sandbox.emulator.http_delivery import encode_request, signed_headers
from bot.sandbox.stack import SANDBOX_SIGNING_SECRET, SandboxStack, start_sandbox
from bot.slack.http_mode import SLACK_PATH
from tests.integration.bot.conftest import RUNBOOKS


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    """Emulator + bot in HTTP mode on this test's key prefix."""
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        data_dir=tmp_path,
        log_format="text",
        slack_mode="http",
    )
    yield started
    await started.stop()


def new_incident_command(stack: SandboxStack) -> dict[str, Any]:
    """The form fields Slack posts for `/incident new "disk full"` typed by alice in #incidents."""
    emulator = stack.emulator
    workspace = emulator.workspace
    alice, room = workspace.user_or_raise("alice"), workspace.channel_or_raise("incidents")
    target = emulator.responses.issue(room.id, alice.id)
    return payloads.slash_command(
        workspace,
        emulator.driver.token,
        alice,
        room,
        "/incident",
        'new "disk full" --service orders --severity P2',
        target.url,
        workspace.issue_trigger(alice.id),
    )


async def all_keys(redis: Redis, keys: Keys) -> list[str]:
    return sorted([k async for k in redis.scan_iter(match=keys.pattern(), count=1000)])


async def test_slash_command_round_trip_without_a_socket(stack: SandboxStack) -> None:
    emulator = stack.emulator
    listed = await emulator.driver.slash_command("alice", "incidents", "list")
    ack = await listed.acked(timeout=5)
    assert ack.connection_id.endswith(SLACK_PATH), "acked by the HTTP answer, named by the request URL"
    assert ack.latency is not None and ack.latency < 3.0
    await emulator.wait_for_ephemeral("alice", "No open incidents", timeout=5)
    assert emulator.hub.opened_total == 0, "HTTP mode opens no Socket Mode connection"
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"redis": True, "slack_http": True}


async def test_forged_altered_or_stale_requests_get_401_and_change_nothing(
    stack: SandboxStack, redis: Redis, keys: Keys
) -> None:
    body, content_type = encode_request("slash_commands", new_incident_command(stack))
    now = time.time()
    altered = bytearray(body)
    altered[body.index(b"disk")] = ord("D")  # one changed byte: "Disk full"
    attempts = [
        (body, signed_headers("not-the-secret", body, content_type, now)),
        (bytes(altered), signed_headers(SANDBOX_SIGNING_SECRET, body, content_type, now)),
        (body, signed_headers(SANDBOX_SIGNING_SECRET, body, content_type, now - 360)),
        (body, {"Content-Type": content_type}),
    ]
    await asyncio.sleep(0.5)  # let start-up writes settle before taking the snapshot
    before_keys = await all_keys(redis, keys)
    calls_before = len(stack.emulator.calls())
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        for content, headers in attempts:
            response = await client.post(SLACK_PATH, content=content, headers=headers)
            assert response.status_code == 401, response.text
        await asyncio.sleep(0.5)
        assert await all_keys(redis, keys) == before_keys, "a refused request writes nothing"
        assert len(stack.emulator.calls()) == calls_before, "and calls Slack for nothing"
        assert stack.emulator.ephemerals("alice") == []

        # The same request, signed now with the right secret, is acked and acted on.
        good = await client.post(
            SLACK_PATH, content=body, headers=signed_headers(SANDBOX_SIGNING_SECRET, body, content_type, time.time())
        )
    assert good.status_code == 200
    await stack.emulator.wait_until(
        lambda: next((c for c in stack.emulator.channels() if "disk-full" in c.name), None), 10, "incident channel"
    )


async def test_url_verification_and_ssl_check(stack: SandboxStack) -> None:
    challenge = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    ).encode()
    ssl_check = b"ssl_check=1&token=t"
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        answered = await client.post(
            SLACK_PATH,
            content=challenge,
            headers=signed_headers(SANDBOX_SIGNING_SECRET, challenge, "application/json", time.time()),
        )
        assert answered.status_code == 200
        assert answered.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
        unsigned = await client.post(SLACK_PATH, content=challenge, headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401
        form = "application/x-www-form-urlencoded"
        checked = await client.post(
            SLACK_PATH, content=ssl_check, headers=signed_headers(SANDBOX_SIGNING_SECRET, ssl_check, form, time.time())
        )
        assert checked.status_code == 200 and checked.text == ""

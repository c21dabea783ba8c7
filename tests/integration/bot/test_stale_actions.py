"""Clicks on buttons the bot does not know are acknowledged and answered, through the emulator and the real bot."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.stack import SandboxStack
from bot.slack.stale_actions import STALE_TEXT

# Every scenario here runs over Socket Mode and again over HTTP with signed requests.
pytestmark = pytest.mark.usefixtures("slack_mode")


def legacy_button(value: str, action_id: str = "incident_ack") -> dict[str, object]:
    return {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": "Ack"}}


@pytest.mark.parametrize("value", ['{"incident": "INC-1", "level": 1}', "ack:INC-1"])
async def test_a_retired_button_is_acked_and_the_clicker_is_told(stack: SandboxStack, value: str) -> None:
    emulator = stack.emulator
    web = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    blocks = [{"type": "actions", "elements": [legacy_button(value)]}]
    posted = await web.chat_postMessage(channel="#incidents", text="old page", blocks=blocks)

    click = await emulator.driver.click_button("carol", "incidents", posted["ts"], "incident_ack")
    ack = await click.acked(timeout=3)
    assert ack.attempt == 0
    reply = await emulator.wait_for_ephemeral("carol", "no longer active", timeout=5)
    assert reply.text == STALE_TEXT
    assert emulator.ephemerals("alice", "incidents") == []
    stored = emulator.message("incidents", posted["ts"])
    assert stored.blocks == posted["message"]["blocks"] and not stored.edits  # the original is left alone


async def test_the_control_route_returns_the_stale_reply(stack: SandboxStack) -> None:
    emulator = stack.emulator
    web = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    blocks = [{"type": "actions", "elements": [legacy_button("ack:INC-9")]}]
    posted = await web.chat_postMessage(channel="#incidents", text="old page", blocks=blocks)
    body = {"user": "dave", "channel": "incidents", "ts": posted["ts"], "action_id": "incident_ack"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(emulator.base_url + "/_emulator/click_button", json=body) as response,
    ):
        answer = await response.json()
    assert answer["ok"] and answer["acked"]
    assert [e["text"] for e in answer["ephemerals"]] == [STALE_TEXT]


async def test_known_actions_still_reach_their_own_listener(stack: SandboxStack) -> None:
    emulator = stack.emulator
    web = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
    blocks = [{"type": "actions", "elements": [legacy_button("no-such-approval", "approve_step")]}]
    posted = await web.chat_postMessage(channel="#incidents", text="a plan", blocks=blocks)
    click = await emulator.driver.click_button("alice", "incidents", posted["ts"], "approve_step")
    await click.acked(timeout=3)
    reply = await emulator.wait_for_ephemeral("alice", lambda e: True, timeout=5)
    assert "no longer active" not in (reply.text or "")

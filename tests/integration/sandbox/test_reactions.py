"""Reactions on the emulator: people and the bot react, Bolt hears `reaction_added` / `reaction_removed`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.errors import EmulatorError


async def test_people_reacting_reach_bolt_with_slacks_event_shape(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    heard: list[dict[str, Any]] = []
    app = AsyncApp(client=AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url))

    @app.event("reaction_added")
    async def on_added(body: dict[str, Any]) -> None:
        heard.append(body)

    @app.event("reaction_removed")
    async def on_removed(body: dict[str, Any]) -> None:
        heard.append(body)

    channel = emulator.create_channel("war-room", ["alice", "bob"], bot_member=True)
    posted = await web.chat_postMessage(channel=channel.id, text="db restarted")
    ts = str(posted["ts"])
    handler = AsyncSocketModeHandler(app, emulator.app_token)
    await handler.connect_async()
    try:
        added = await emulator.driver.add_reaction("alice", "war-room", ts, ":pushpin:")
        assert added is not None
        await added.acked()
        removed = await emulator.driver.remove_reaction("alice", "war-room", ts, "pushpin")
        assert removed is not None
        await removed.acked()
        await emulator.wait_until(lambda: len(heard) == 2, 5, "two events")
    finally:
        await handler.close_async()
    event = heard[0]["event"]
    assert {k: v for k, v in event.items() if k != "event_ts"} == {
        "type": "reaction_added",
        "user": "U0ALICE001",
        "reaction": "pushpin",
        "item_user": emulator.bot_user_id,
        "item": {"type": "message", "channel": channel.id, "ts": ts},
    }
    assert heard[1]["event"]["type"] == "reaction_removed" and heard[0]["event_id"] != heard[1]["event_id"]
    assert emulator.message("war-room", ts).reactions == {}


async def test_reaction_methods_answer_like_slack(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    channel = emulator.create_channel("war-room", ["alice"], bot_member=True)
    ts = str((await web.chat_postMessage(channel=channel.id, text="hello"))["ts"])
    await emulator.driver.add_reaction("alice", "war-room", ts, "eyes")
    await web.reactions_add(channel=channel.id, timestamp=ts, name="eyes")
    got = await web.reactions_get(channel=channel.id, timestamp=ts)
    assert got["message"]["reactions"] == [{"name": "eyes", "users": ["U0ALICE001", emulator.bot_user_id], "count": 2}]
    own = [d for d in emulator.deliveries if d.payload.get("event", {}).get("user") == emulator.bot_user_id]
    assert [d.payload["event"]["type"] for d in own] == ["reaction_added"]  # Slack sends the bot's own too
    for call, error in (
        (web.reactions_add(channel=channel.id, timestamp=ts, name="eyes"), "already_reacted"),
        (web.reactions_remove(channel=channel.id, timestamp=ts, name="tada"), "no_reaction"),
        (web.reactions_add(channel=channel.id, timestamp="1.000001", name="eyes"), "message_not_found"),
    ):
        with pytest.raises(SlackApiError) as failure:
            await call
        assert failure.value.response["error"] == error
    await web.reactions_remove(channel=channel.id, timestamp=ts, name="eyes")
    assert emulator.message("war-room", ts).reactions == {"eyes": ["U0ALICE001"]}


async def test_no_event_where_the_bot_is_not_and_people_see_only_their_channels(emulator: SlackEmulator) -> None:
    emulator.create_channel("quiet", ["alice"])
    posted = await emulator.driver.post_user_message("alice", "quiet", "psst")
    assert await emulator.driver.add_reaction("alice", "quiet", posted.message.ts, "eyes") is None
    emulator.create_channel("secret", ["alice"], is_private=True)
    secret = await emulator.driver.post_user_message("alice", "secret", "hush")
    with pytest.raises(EmulatorError):
        await emulator.driver.add_reaction("bob", "secret", secret.message.ts, "eyes")
    with pytest.raises(EmulatorError, match="already_reacted"):
        await emulator.driver.add_reaction("alice", "quiet", posted.message.ts, "eyes")
    with pytest.raises(EmulatorError, match="no_reaction"):
        await emulator.driver.remove_reaction("alice", "quiet", posted.message.ts, "tada")
    await asyncio.sleep(0)
    assert emulator.message("quiet", posted.message.ts).reactions == {"eyes": ["U0ALICE001"]}

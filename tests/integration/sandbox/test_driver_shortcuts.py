"""The driver's shortcuts, Home tab, view clicks and menu choices, heard by a real Bolt app; and their refusals."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.errors import EmulatorError

MENU = {
    "type": "actions",
    "block_id": "menus",
    "elements": [
        {
            "type": "static_select",
            "action_id": "pick",
            "options": [{"text": {"type": "plain_text", "text": f"P{n}"}, "value": f"P{n}"} for n in (1, 2)],
        }
    ],
}
HOME = {
    "type": "home",
    "blocks": [
        {
            "type": "actions",
            "elements": [{"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}],
        }
    ],
}


async def test_shortcuts_home_and_menus_reach_bolt(emulator: SlackEmulator) -> None:
    app = AsyncApp(client=AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url))
    heard: list[tuple[str, Any]] = []

    @app.shortcut("global_cb")
    async def handle_global(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        heard.append(("shortcut", body["type"]))

    @app.shortcut("message_cb")
    async def handle_message(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        heard.append(("message", body["message"]["text"]))

    @app.event("app_home_opened")
    async def handle_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        heard.append(("home", "view" in event))
        await client.views_publish(user_id=event["user"], view=HOME)

    @app.action("go")
    async def handle_go(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        heard.append(("go", body["container"]["type"]))

    @app.action("pick")
    async def handle_pick(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        heard.append(("pick", body["actions"][0]["selected_option"]["value"]))

    handler = AsyncSocketModeHandler(app, emulator.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await (await emulator.driver.global_shortcut("alice", "global_cb")).acked()
        posted = await emulator.driver.post_user_message("alice", "general", "*db* <!here>")
        await (await emulator.driver.message_shortcut("alice", "general", posted.message.ts, "message_cb")).acked()
        await (await emulator.driver.open_home("alice")).acked()  # type: ignore[union-attr]
        home = await emulator.wait_until(lambda: next((v for v in emulator.views("alice") if v.type == "home"), None))
        await (await emulator.driver.open_home("alice")).acked()  # type: ignore[union-attr]
        await (await emulator.driver.click_view_button("alice", home.id, "go")).acked()
        bot_post = emulator.workspace.post_as_bot(emulator.channel("general"), text="menu", blocks=[MENU])
        await (await emulator.driver.choose_option("alice", "general", bot_post.ts, "pick", "P2")).acked()
        await emulator.wait_until(lambda: len(heard) == 6, what="six deliveries heard")
        assert heard == [
            ("shortcut", "shortcut"),
            ("message", "*db* &lt;!here&gt;"),  # stored and sent escaped, as Slack does
            ("home", False),
            ("home", True),
            ("go", "view"),
            ("pick", "P2"),
        ]
        with pytest.raises(EmulatorError, match="no option"):
            await emulator.driver.choose_option("alice", "general", bot_post.ts, "pick", "P9")
        emulator.workspace.create_channel("quiet", "U0ALICE001", members=["U0ALICE001"])
        with pytest.raises(EmulatorError, match="not in"):
            await emulator.driver.message_shortcut("dave", "quiet", posted.message.ts, "message_cb")
        with pytest.raises(EmulatorError, match="not open"):
            await emulator.driver.click_view_button("bob", home.id, "go")
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]

"""A real Bolt AsyncApp over AsyncSocketModeHandler, against the emulator through base_url only."""

from __future__ import annotations

from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator

APPROVE = {
    "type": "actions",
    "block_id": "step_1",
    "elements": [
        {
            "type": "button",
            "action_id": "approve_step",
            "text": {"type": "plain_text", "text": "Approve"},
            "value": "s1",
        }
    ],
}


async def test_bolt_command_button_and_modal(emulator: SlackEmulator) -> None:
    app = AsyncApp(client=AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url))

    @app.command("/incident")
    async def handle_incident_command(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack(text="Creating the incident channel…")
        created = await client.conversations_create(name=f"inc-1-{command['text']}")
        channel = created["channel"]["id"]
        await client.conversations_invite(channel=channel, users=command["user_id"])
        await client.chat_postMessage(channel=channel, text="Next step: restart", blocks=[APPROVE])

    @app.action("approve_step")
    async def handle_approve_action(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "confirm",
                "title": {"type": "plain_text", "text": "Confirm"},
                "submit": {"type": "plain_text", "text": "Run"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "reason",
                        "label": {"type": "plain_text", "text": "Reason"},
                        "element": {"type": "plain_text_input", "action_id": "text"},
                    }
                ],
            },
        )
        await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    @app.view("confirm")
    async def handle_confirm_view(ack: Any, view: dict[str, Any], client: AsyncWebClient, body: dict[str, Any]) -> None:
        await ack()
        reason = view["state"]["values"]["reason"]["text"]["value"]
        await client.chat_postMessage(channel="#inc-1-payments", text=f"Running restart: {reason}")

    handler = AsyncSocketModeHandler(app, emulator.app_token)
    await handler.connect_async()
    try:
        command = await emulator.driver.slash_command("alice", "incidents", "payments")
        ack = await command.acked(timeout=3)
        assert ack.latency is not None and ack.latency < 3.0
        await emulator.wait_for_ephemeral("alice", "Creating the incident channel")
        step = await emulator.wait_for_message("inc-1-payments", "Next step")
        assert "U0ALICE001" in emulator.channel("inc-1-payments").members

        click = await emulator.driver.click_button("alice", "inc-1-payments", step.ts, "approve_step")
        assert (await click.acked(timeout=3)).latency < 3.0  # type: ignore[operator]
        modal = await emulator.wait_for_view("alice", callback_id="confirm")
        await emulator.wait_for_message("inc-1-payments", "Approved by <@U0ALICE001>")

        submitted = await emulator.driver.submit_view("alice", modal.id, {"reason": "p99 above 2s"})
        await submitted.acked(timeout=3)
        await emulator.wait_for_message("inc-1-payments", "Running restart: p99 above 2s")
        assert emulator.workspace.views[modal.id].closed
        assert emulator.calls("auth.test"), "Bolt authorizes through auth.test on the emulator"
    finally:
        await handler.close_async()

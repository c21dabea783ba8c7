"""The emulator's HTTP delivery against a real Bolt AsyncApp that verifies Slack signatures itself.

Bolt's own request verification (not the bot's) accepts what the emulator signs: commands, clicks,
modal submissions with a `response_action`, and Events API callbacks all arrive and are acked by the
HTTP answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator
from tests.conftest import Serve

SECRET = "emulator-http-signing-secret"
STEP = {
    "type": "actions",
    "block_id": "step_1",
    "elements": [{"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}, "value": "s1"}],
}
MODAL = {
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
}


def bolt_app(emulator: SlackEmulator, heard: list[str]) -> AsyncApp:
    """A Bolt app with request verification on (the default when a signing secret is given)."""
    app = AsyncApp(client=AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url), signing_secret=SECRET)

    @app.command("/incident")
    async def on_command(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack(text=f"Opening {command['text']}")
        await client.chat_postMessage(channel=command["channel_id"], text="Next step", blocks=[STEP])

    @app.action("go")
    async def on_click(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("confirm")
    async def on_submit(ack: Any, view: dict[str, Any]) -> None:
        reason = view["state"]["values"]["reason"]["text"]["value"] or ""
        if len(reason) < 5:
            await ack(response_action="errors", errors={"reason": "Say why, in a few words"})
            return
        heard.append(f"submitted: {reason}")
        await ack()

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        heard.append(f"message: {event['text']}")

    return app


async def test_bolt_verifies_and_serves_what_the_emulator_posts(emulator: SlackEmulator, serve: Serve) -> None:
    heard: list[str] = []
    app = bolt_app(emulator, heard)

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    base = await serve(web_app)
    http = emulator.deliver_over_http(base + "/slack/events", SECRET)

    command = await emulator.driver.slash_command("alice", "incidents", "payments")
    assert (await command.acked(timeout=3)).payload == {"text": "Opening payments"}
    await emulator.wait_for_ephemeral("alice", "Opening payments")
    step = await emulator.wait_for_message("incidents", "Next step")

    click = await emulator.driver.click_button("alice", "incidents", step.ts, "go")
    await click.acked(timeout=3)
    modal = await emulator.wait_for_view("alice", callback_id="confirm")

    too_short = await emulator.driver.submit_view("alice", modal.id, {"reason": "no"})
    await too_short.acked(timeout=3)
    assert emulator.workspace.views[modal.id].errors == {"reason": "Say why, in a few words"}
    assert not emulator.workspace.views[modal.id].closed
    done = await emulator.driver.submit_view("alice", modal.id, {"reason": "p99 above 2s"})
    await done.acked(timeout=3)
    assert emulator.workspace.views[modal.id].closed

    posted = await emulator.driver.post_user_message("alice", "incidents", "is anyone on this?")
    await posted.acked(timeout=3)
    await emulator.wait_until(lambda: "message: is anyone on this?" in heard or None, 3, "message event")
    assert "submitted: p99 above 2s" in heard
    assert emulator.hub.opened_total == 0
    assert {status for _, status in http.responses} == {200}


async def test_bolt_refuses_a_request_signed_with_another_secret(emulator: SlackEmulator, serve: Serve) -> None:
    app = bolt_app(emulator, [])

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", endpoint)
    base = await serve(web_app)
    http = emulator.deliver_over_http(base + "/slack/events", "some-other-secret", ack_timeout=1.0)
    command = await emulator.driver.slash_command("alice", "incidents", "payments")
    assert not await command.wait(1.5)
    assert [status for _, status in http.responses] == [401]
    assert emulator.ephemerals("alice") == []

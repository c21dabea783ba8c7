"""Socket Mode with the unchanged slack-sdk SocketModeClient: hello, envelopes, acks, retries, reconnects."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator, SocketModeConfig
from bot.sandbox.emulator.errors import EmulatorError

from .conftest import SocketApp

StartApp = Callable[..., Awaitable[SocketApp]]


async def test_hello_message_shape(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    url = (await web.apps_connections_open(app_token=emulator.app_token))["url"]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=2)
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": emulator.app_id}
    assert {"host", "started", "build_number", "approximate_connection_time"} <= set(hello["debug_info"])


async def test_bad_ticket_is_refused(emulator: SlackEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(emulator.base_url.replace("http", "ws") + "/link/?ticket=forged")


async def test_slash_command_round_trip(emulator: SlackEmulator, socket_apps: StartApp) -> None:
    async def reply(request: SocketModeRequest) -> dict[str, str]:
        return {"text": f"opening incident: {request.payload['text']}"}

    app = await socket_apps(reply)
    delivery = await emulator.driver.slash_command("alice", "incidents", "open db down")
    ack = await delivery.acked(timeout=3)
    assert ack.latency is not None and ack.latency < 3.0
    payload = app.requests[0].payload
    assert app.requests[0].type == "slash_commands"
    for key in (
        "token",
        "team_id",
        "channel_id",
        "user_id",
        "command",
        "text",
        "response_url",
        "trigger_id",
        "api_app_id",
    ):
        assert payload[key], key
    assert payload["command"] == "/incident" and payload["user_id"] == "U0ALICE001"
    reply_message = await emulator.wait_for_ephemeral("alice", "opening incident: open db down")
    assert reply_message.source == "ack"


async def test_button_click_round_trip(emulator: SlackEmulator, web: AsyncWebClient, socket_apps: StartApp) -> None:
    async def replace_via_response_url(request: SocketModeRequest) -> bool:
        async with aiohttp.ClientSession() as session:
            body = {"replace_original": True, "text": "approved by alice"}
            async with session.post(request.payload["response_url"], json=body) as response:
                assert response.status == 200
        return True

    app = await socket_apps(replace_via_response_url)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "Restart payments?"}},
        {
            "type": "actions",
            "block_id": "step",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": '{"step":1}',
                },
                {"type": "button", "action_id": "skip", "text": {"type": "plain_text", "text": "Skip"}, "value": "1"},
            ],
        },
    ]
    posted = await web.chat_postMessage(channel="#incidents", text="Restart payments?", blocks=blocks)
    delivery = await emulator.driver.click_button("alice", "incidents", posted["ts"], "approve")
    ack = await delivery.acked(timeout=3)
    assert ack.latency is not None and ack.latency < 2.9
    payload = app.requests[0].payload
    assert payload["type"] == "block_actions" and app.requests[0].type == "interactive"
    action = payload["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["style"]) == (
        "approve",
        "step",
        '{"step":1}',
        "primary",
    )
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    assert payload["message"]["blocks"][1]["elements"][0]["action_id"] == "approve"
    assert payload["trigger_id"] and payload["state"] == {"values": {}} and payload["user"]["id"] == "U0ALICE001"
    edited = await emulator.wait_for_message("incidents", lambda m: m.edited)
    assert edited.text == "approved by alice" and edited.edits[0].text == "Restart payments?"


async def test_click_button_refuses_buttons_not_in_the_message(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    from bot.sandbox.emulator import EmulatorError

    blocks: list[dict[str, Any]] = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": "a",
                }
            ],
        }
    ]
    posted = await web.chat_postMessage(channel="#incidents", text="step", blocks=blocks)
    with pytest.raises(EmulatorError, match="no button rollback"):
        await emulator.driver.click_button("alice", "incidents", posted["ts"], "rollback")
    with pytest.raises(EmulatorError, match="no button approve='forged'"):
        await emulator.driver.click_button("alice", "incidents", posted["ts"], "approve", value="forged")
    with pytest.raises(EmulatorError, match="no message"):
        await emulator.driver.click_button("alice", "incidents", "1.000001", "approve")


async def test_each_envelope_goes_to_exactly_one_connection(emulator: SlackEmulator, socket_apps: StartApp) -> None:
    apps = [await socket_apps() for _ in range(3)]
    await emulator.wait_for_connections(3)
    posted = [await emulator.driver.post_user_message("bob", "incidents", f"note {i}") for i in range(12)]
    for message in posted:
        await message.acked(timeout=3)
    received = Counter(r.envelope_id for app in apps for r in app.requests)
    assert len(received) == 12 and set(received.values()) == {1}
    assert all(app.requests for app in apps), "round-robin should reach every socket"
    assert all(d.ack is not None and d.ack.attempt == 0 for d in emulator.deliveries)


@pytest.mark.parametrize("socket_config", [SocketModeConfig(ack_timeout=0.3, max_retries=2)])
async def test_unacked_envelope_is_retried(emulator: SlackEmulator, socket_apps: StartApp) -> None:
    async def ack_only_retries(request: SocketModeRequest) -> bool:
        return request.retry_attempt is not None and request.retry_attempt >= 1

    app = await socket_apps(ack_only_retries)
    posted = await emulator.driver.post_user_message("carol", "incidents", "is anyone looking?")
    acks = await posted.acked(timeout=3)
    assert acks[0].attempt == 1
    first, retry = app.requests[0], app.requests[1]
    assert (first.retry_attempt, first.retry_reason) == (0, "")
    assert (retry.retry_attempt, retry.retry_reason) == (1, "timeout")
    assert first.payload["event_id"] == retry.payload["event_id"] and first.envelope_id != retry.envelope_id


@pytest.mark.parametrize("socket_config", [SocketModeConfig(ack_timeout=0.2, max_retries=2)])
async def test_never_acked_envelope_gives_up_after_retries(emulator: SlackEmulator, socket_apps: StartApp) -> None:
    async def never(request: SocketModeRequest) -> bool:
        return False

    app = await socket_apps(never)
    posted = await emulator.driver.post_user_message("carol", "incidents", "hello?")
    delivery = posted.deliveries[0]
    await emulator.wait_until(lambda: delivery.gave_up, timeout=3, what="give up")
    assert [r.retry_attempt for r in app.requests] == [0, 1, 2]
    slash = await emulator.driver.slash_command("alice", "incidents", "status")
    await emulator.wait_until(lambda: slash.gave_up, timeout=3, what="give up")
    assert len(slash.attempts) == 1, "Slack does not retry slash commands"


async def test_refresh_requested_reconnects_and_keeps_delivering(
    emulator: SlackEmulator, socket_apps: StartApp
) -> None:
    app = await socket_apps()
    await emulator.wait_for_connections(1)
    assert await emulator.disconnect("refresh_requested") == 1
    await emulator.wait_until(lambda: emulator.hub.opened_total >= 2 and len(emulator.hub.live()) == 1, timeout=5)
    assert any(m.get("type") == "disconnect" and m.get("reason") == "refresh_requested" for m in app.frames)
    posted = await emulator.driver.post_user_message("dave", "incidents", "after refresh")
    acks = await posted.acked(timeout=3)
    assert acks[0].connection_id == emulator.hub.live()[0].id
    await emulator.wait_until(lambda: len(emulator.connections) == 1, timeout=3, what="old socket closed")


async def test_response_url_allows_five_uses(emulator: SlackEmulator, socket_apps: StartApp) -> None:
    from slack_sdk.webhook.async_client import AsyncWebhookClient

    app = await socket_apps()
    await (await emulator.driver.slash_command("alice", "incidents", "status")).acked()
    hook = AsyncWebhookClient(app.requests[0].payload["response_url"])
    statuses = [(await hook.send(text=f"update {i}")).status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 404]
    assert len(emulator.ephemerals("alice")) == 5
    in_channel = AsyncWebhookClient(
        (await emulator.driver.slash_command("bob", "incidents", "x")).payload["response_url"]
    )
    await in_channel.send(text="for everyone", response_type="in_channel")
    await emulator.wait_for_message("incidents", "for everyone")


async def test_views_open_trigger_rules(emulator: SlackEmulator, web: AsyncWebClient, socket_apps: StartApp) -> None:
    from slack_sdk.errors import SlackApiError

    modal = {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": "Declare incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    app = await socket_apps()
    emulator.workspace.trigger_ttl = 0.3
    await (await emulator.driver.slash_command("alice", "incidents", "declare")).acked()
    trigger = app.requests[0].payload["trigger_id"]
    opened = await web.views_open(trigger_id=trigger, view=modal)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await web.views_open(trigger_id=trigger, view=modal)  # single use
    await (await emulator.driver.slash_command("alice", "incidents", "declare")).acked()
    await asyncio.sleep(0.4)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await web.views_open(trigger_id=app.requests[1].payload["trigger_id"], view=modal)
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await web.views_open(trigger_id="123.456.forged", view=modal)
    view_id = opened["view"]["id"]
    assert (await emulator.wait_for_view("alice", callback_id="declare")).id == view_id


async def test_view_submission_errors_then_close(
    emulator: SlackEmulator, web: AsyncWebClient, socket_apps: StartApp
) -> None:
    async def validate(request: SocketModeRequest) -> dict[str, object] | bool:
        if request.payload.get("type") != "view_submission":
            return True
        title = request.payload["view"]["state"]["values"]["title"]["value"]["value"]
        return {"response_action": "errors", "errors": {"title": "too short"}} if len(title) < 5 else True

    app = await socket_apps(validate)
    await (await emulator.driver.slash_command("alice", "incidents", "declare")).acked()
    modal = {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": "Declare"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }
    view_id = (await web.views_open(trigger_id=app.requests[0].payload["trigger_id"], view=modal))["view"]["id"]
    first = await emulator.driver.submit_view("alice", view_id, {"title": "db"})
    assert (await first.acked()).payload == {"response_action": "errors", "errors": {"title": "too short"}}
    assert emulator.workspace.views[view_id].errors == {"title": "too short"}
    await (await emulator.driver.submit_view("alice", view_id, {"title": "database down"})).acked()
    assert emulator.workspace.views[view_id].closed
    assert app.requests[-1].payload["view"]["callback_id"] == "declare"


async def test_closing_a_modal_closes_its_stack_and_tells_an_app_that_asked(
    emulator: SlackEmulator, web: AsyncWebClient, socket_apps: StartApp
) -> None:
    app = await socket_apps()
    modal = {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": "Declare"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}],
    }
    for notify in (False, True):
        await (await emulator.driver.slash_command("alice", "incidents", "declare")).acked()
        trigger = app.requests[-1].payload["trigger_id"]
        view_id = (await web.views_open(trigger_id=trigger, view={**modal, "notify_on_close": notify}))["view"]["id"]
        closed = await emulator.driver.close_view("alice", view_id)
        assert emulator.workspace.views[view_id].closed
        if not notify:
            assert closed is None  # Slack tells only apps that set notify_on_close
            continue
        assert closed is not None
        await closed.acked()
        assert app.requests[-1].payload["type"] == "view_closed"
        assert app.requests[-1].payload["view"]["id"] == view_id
    with pytest.raises(EmulatorError, match="not open"):
        await emulator.driver.close_view("alice", view_id)


@pytest.mark.parametrize("socket_config", [SocketModeConfig(max_connections=2)])
async def test_connections_beyond_the_limit_are_told_too_many_websockets(
    emulator: SlackEmulator, web: AsyncWebClient
) -> None:
    async with aiohttp.ClientSession() as session:
        sockets = []
        for _ in range(3):
            url = (await web.apps_connections_open(app_token=emulator.app_token))["url"]
            sockets.append(await session.ws_connect(url))
        greetings = [await ws.receive_json(timeout=2) for ws in sockets]
        assert [g["type"] for g in greetings] == ["hello", "hello", "disconnect"]
        assert greetings[1]["num_connections"] == 2 and greetings[2]["reason"] == "too_many_websockets"
        for ws in sockets:
            await ws.close()

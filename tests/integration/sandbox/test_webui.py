"""The emulator's page over HTTP: offline assets, what each person sees, the live stream, the alert panel."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.alert_panel import AlertScenario
from tests.conftest import Serve
from tests.integration.sandbox.conftest import SocketApp

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


async def get(emulator: SlackEmulator, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(emulator.base_url + path) as response:
        return response.status, response.content_type, await response.text()


async def view(emulator: SlackEmulator, person: str, channel: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emulator.base_url}/_emulator/ui/view", params={"as": person, "channel": channel}) as r,
    ):
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


async def test_the_page_and_its_assets_are_served_and_need_no_network(emulator: SlackEmulator) -> None:
    status, kind, page = await get(emulator, "/")
    assert status == 200 and kind == "text/html"
    assert '<script src="/ui/app.js">' in page and 'href="/ui/app.css"' in page
    for asset, expected in (("/ui/app.js", "text/javascript"), ("/ui/app.css", "text/css")):
        status, kind, body = await get(emulator, asset)
        assert status == 200 and kind == expected and len(body) > 1000
        assert not EXTERNAL.search(body) and "@import" not in body
    assert not EXTERNAL.search(page)
    assert (await get(emulator, "/ui/..%2Fwebui.py"))[0] == 404
    assert (await get(emulator, "/ui/secret.txt"))[0] == 404


async def test_each_person_sees_their_own_ephemerals_and_dms(emulator: SlackEmulator, web: AsyncWebClient) -> None:
    posted = await web.chat_postMessage(channel="#incidents", text="plan for <@U0ALICE001> *now*")
    await web.chat_postMessage(channel="#incidents", text="a reply", thread_ts=posted["ts"])
    await web.chat_update(channel=posted["channel"], ts=posted["ts"], text="plan for <@U0ALICE001> *edited*")
    await web.chat_postEphemeral(channel=posted["channel"], user="U0CAROL001", text="only for carol")
    await web.chat_postMessage(channel="U0BOB00001", text="you are paged")

    carol = await view(emulator, "carol", "incidents")
    alice = await view(emulator, "alice", "incidents")
    assert [p["name"] for p in carol["people"]] == ["alice", "bob", "carol", "dave"]
    top = alice["channel"]["messages"][-1]
    assert top["edited"] and "@alice</span> <b>edited</b>" in top["html"]
    assert [r["html"] for r in top["replies"]] == [
        '<div class="block section"><div class="section-text">a reply</div></div>'
    ]
    carol_last = carol["channel"]["messages"][-1]
    assert carol_last["ephemeral"] and "only for carol" in carol_last["html"]
    assert not any(m["ephemeral"] for m in alice["channel"]["messages"])
    assert carol["channel"]["activity"] == alice["channel"]["activity"] + 1

    bob = await view(emulator, "bob", "incidents")
    dms = [c for c in bob["channels"] if c["kind"] == "dm"]
    assert [c["name"] for c in dms] == ["runbook-bot"]
    assert not [c for c in alice["channels"] if c["kind"] == "dm"]
    bob_dm = await view(emulator, "bob", dms[0]["id"])
    assert "you are paged" in bob_dm["channel"]["messages"][0]["html"]
    assert (await view(emulator, "alice", dms[0]["id"]))["channel"]["name"] == "incidents"  # not alice's DM


async def test_the_stream_sends_a_change_event_when_a_message_is_posted(
    emulator: SlackEmulator, web: AsyncWebClient
) -> None:
    async with aiohttp.ClientSession() as session, session.get(emulator.base_url + "/_emulator/ui/events") as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert (await r.content.readuntil(b"\n\n")).endswith(b"event: change\ndata: 0\n\n")
        await web.chat_postMessage(channel="#incidents", text="something happened")
        event = await asyncio.wait_for(r.content.readuntil(b"\n\n"), 5)
        assert event == b"event: change\ndata: 1\n\n"


async def test_the_alert_panel_posts_each_scenario_to_the_webhook_with_its_token(
    emulator: SlackEmulator, serve: Serve
) -> None:
    received: list[tuple[str, str, Any]] = []

    async def intake(request: web.Request) -> web.Response:
        received.append((request.match_info["source"], request.headers["Authorization"], await request.json()))
        return web.json_response({"alerts": [{"incident": "INC-7", "outcome": "opened"}]}, status=202)

    app = web.Application()
    app.router.add_post("/alerts/{source}", intake)
    webhook = await serve(app)
    scenarios = [AlertScenario("disk", "Disk filling", "generic", lambda: {"alerts": [{"name": "DiskFull"}]})]
    async with aiohttp.ClientSession() as session:
        async with session.post(emulator.base_url + "/_emulator/ui/scenarios/disk") as r:
            assert r.status == 409 and "no bot webhook" in (await r.json())["error"]
        emulator.set_alert_target(webhook, "tok-123", lambda: scenarios)
        async with session.get(emulator.base_url + "/_emulator/ui/scenarios") as r:
            assert (await r.json())["scenarios"] == [{"name": "disk", "title": "Disk filling", "source": "generic"}]
        async with session.post(emulator.base_url + "/_emulator/ui/scenarios/disk") as r:
            answer = await r.json()
        async with session.post(emulator.base_url + "/_emulator/ui/scenarios/nope") as r:
            assert r.status == 400 and "no scenario 'nope'" in (await r.json())["error"]
    assert answer == {"ok": True, "status": 202, "response": {"alerts": [{"incident": "INC-7", "outcome": "opened"}]}}
    assert received == [("generic", "Bearer tok-123", {"alerts": [{"name": "DiskFull"}]})]


async def test_commands_and_clicks_answer_with_what_came_back(
    emulator: SlackEmulator, web: AsyncWebClient, socket_apps: Callable[..., Awaitable[SocketApp]]
) -> None:
    async def reply(request: SocketModeRequest) -> dict[str, Any] | bool:
        if request.type == "slash_commands":
            return {"text": f"you typed {request.payload['text']}"}
        url = request.payload["response_url"]
        async with aiohttp.ClientSession() as session:
            await session.post(url, json={"text": "clicked", "response_type": "ephemeral"})
        return True

    await socket_apps(reply)
    button = {"type": "button", "action_id": "go", "value": "1", "text": {"type": "plain_text", "text": "Go"}}
    posted = await web.chat_postMessage(
        channel="#incidents", text="x", blocks=[{"type": "actions", "elements": [button]}]
    )
    async with aiohttp.ClientSession() as session:
        base = emulator.base_url + "/_emulator"
        body = {"user": "bob", "channel": "incidents", "command": "/oncall", "text": "payments"}
        async with session.post(base + "/slash_command", json=body) as r:
            typed = await r.json()
        body = {"user": "dave", "channel": "incidents", "ts": posted["ts"], "action_id": "go"}
        async with session.post(base + "/click_button", json=body) as r:
            clicked = await r.json()
    assert typed["ok"] and typed["acked"] and typed["delivery"]["envelope_ids"]
    assert [e["text"] for e in typed["ephemerals"]] == ["you typed payments"]
    assert typed["ack"]["payload"] == {"text": "you typed payments"}
    assert clicked["acked"] and [(e["text"], e["source"]) for e in clicked["ephemerals"]] == [
        ("clicked", "response_url")
    ]

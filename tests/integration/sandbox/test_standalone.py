"""The emulator as its own process, driven over its /_emulator/ control routes, as drills use it."""

from __future__ import annotations

import asyncio
import socket
import sys

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_standalone_process_serves_the_web_api_and_control_routes() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox.emulator", "--port", str(port), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        first_line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert first_line.strip() == f"SLACK_API_URL=http://127.0.0.1:{port}/api/"
        web = AsyncWebClient(token="xoxb-emulator-bot-token", base_url=f"http://127.0.0.1:{port}/api/")
        posted = await web.chat_postMessage(channel="#incidents", text="drill started")
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{port}/_emulator"
            async with session.post(
                base + "/post_user_message", json={"user": "bob", "channel": "incidents", "text": "hi"}
            ) as r:
                assert (await r.json())["ok"]
            async with session.post(
                base + "/click_button",
                json={"user": "bob", "channel": "incidents", "ts": posted["ts"], "action_id": "x"},
            ) as r:
                assert r.status == 400 and "no button" in (await r.json())["error"]
            async with session.get(base + "/state") as r:
                state = await r.json()
        incidents = next(c for c in state["channels"] if c.get("name") == "incidents")
        assert [m["text"] for m in incidents["messages"]][-2:] == ["drill started", "hi"]
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0

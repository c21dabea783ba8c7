"""Fixtures for the Slack emulator tests: a started emulator, slack-sdk clients pointed at it, socket clients."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import WSMessage
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import SlackEmulator, SocketModeConfig

# A policy returns False (do not ack), True (plain ack) or a dict (ack with that response payload).
AckPolicy = Callable[[SocketModeRequest], Awaitable[dict[str, Any] | bool]]


class SocketApp:
    """A slack-sdk SocketModeClient that records every request and acks by a policy (True = plain ack)."""

    def __init__(self, emulator: SlackEmulator, policy: AckPolicy | None = None) -> None:
        self.web = AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)
        self.client = SocketModeClient(app_token=emulator.app_token, web_client=self.web, ping_interval=1)
        self.requests: list[SocketModeRequest] = []
        self.messages: list[dict[str, Any]] = []
        self.policy = policy
        self.client.socket_mode_request_listeners.append(self._on_request)
        self.client.message_listeners.append(self._on_message)
        self.client.on_message_listeners.append(self._on_frame)
        self.frames: list[dict[str, Any]] = []

    async def _on_frame(self, frame: WSMessage) -> None:
        self.frames.append(json.loads(frame.data))

    async def _on_message(self, client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None) -> None:
        self.messages.append(message)

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        self.requests.append(request)
        decision = await self.policy(request) if self.policy else True
        if decision is False:
            return
        payload = decision if isinstance(decision, dict) else None
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))


@pytest.fixture
def socket_config() -> SocketModeConfig:
    """Socket Mode settings for the emulator; tests override this fixture to speed up timeouts."""
    return SocketModeConfig(disconnect_grace=0.5)


@pytest.fixture
async def emulator(socket_config: SocketModeConfig) -> AsyncIterator[SlackEmulator]:
    """A started emulator on a free port, stopped afterwards."""
    emu = SlackEmulator(socket_mode=socket_config)
    await emu.start(port=0)
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def web(emulator: SlackEmulator) -> AsyncWebClient:
    """An unchanged slack-sdk AsyncWebClient pointed at the emulator."""
    return AsyncWebClient(token=emulator.bot_token, base_url=emulator.api_url)


@pytest.fixture
async def socket_apps(emulator: SlackEmulator) -> AsyncIterator[Callable[..., Awaitable[SocketApp]]]:
    """A factory of connected SocketApps; all are closed afterwards."""
    started: list[SocketApp] = []

    async def start(policy: AckPolicy | None = None) -> SocketApp:
        app = SocketApp(emulator, policy)
        started.append(app)
        await app.client.connect()
        return app

    try:
        yield start
    finally:
        for app in started:
            await app.client.close()

"""Fixtures for Slack fault tests: the emulator on loopback and real gateways built as the bot builds them."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.app import slack_client
from bot.sandbox.emulator import RateLimitConfig, SlackEmulator
from bot.settings import load_settings
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.slack.ratelimit import RateLimiter

# Both sides run Slack's limits ten times faster, so a burst of posts paces in a few seconds.
RATE_SCALE = 10.0

MakeGateway = Callable[..., Awaitable[SlackGateway]]


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    """A started emulator enforcing Slack's rate limits (scaled), stopped afterwards."""
    limits = RateLimitConfig(enabled=True, rate_scale=1 / RATE_SCALE)
    async with SlackEmulator(rate_limits=limits) as emulator:
        yield emulator


@pytest.fixture
async def make_gateway(slack: SlackEmulator) -> AsyncIterator[MakeGateway]:
    """Started gateways over the production Web API client (slack-sdk's own retry handlers included)."""
    started: list[SlackGateway] = []

    async def make(**config: Any) -> SlackGateway:
        settings = load_settings(
            slack_api_url=slack.api_url, slack_bot_token=slack.bot_token, slack_app_token=slack.app_token
        )
        gateway = SlackGateway(slack_client(settings), RateLimiter(scale=RATE_SCALE), config=GatewayConfig(**config))
        await gateway.start()
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        await gateway.stop(drain_timeout=0)


def texts(slack: SlackEmulator, channel: str) -> list[str]:
    """The bot's messages in a channel, oldest first."""
    return [m.text or "" for m in slack.messages(channel) if m.user == slack.bot_user_id]


def gaps(slack: SlackEmulator, method: str) -> list[float]:
    """Seconds between consecutive calls of `method` as the emulator received them."""
    times = [c.at for c in slack.calls(method)]
    return [later - earlier for earlier, later in itertools.pairwise(times)]

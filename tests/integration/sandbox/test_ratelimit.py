"""Rate-limit tiers: 429 with an integer Retry-After, honoured by slack-sdk's own retry handler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.emulator import RateLimitConfig, SlackEmulator


@pytest.fixture
async def limited() -> AsyncIterator[SlackEmulator]:
    """Tier 2 at 2 calls per window; rate_scale 1/60 turns a minute into one second."""
    config = RateLimitConfig(enabled=True, rate_scale=1 / 60, tier_per_minute={1: 1, 2: 2, 3: 50, 4: 100})
    async with SlackEmulator(rate_limits=config) as emu:
        yield emu


async def test_429_has_integer_retry_after_and_is_counted(limited: SlackEmulator) -> None:
    headers = {"Authorization": f"Bearer {limited.bot_token}"}
    url = limited.api_url + "usergroups.users.list?usergroup=S0ONCALL01"
    async with aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(3):
            async with session.post(url, headers=headers) as response:
                statuses.append(response.status)
                last_body, retry_after = await response.json(), response.headers.get("Retry-After")
    assert statuses == [200, 200, 429]
    assert last_body == {"ok": False, "error": "ratelimited"}
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1
    assert limited.ratelimited_count == 1
    assert [c.status for c in limited.calls("usergroups.users.list")] == [200, 200, 429]


async def test_slack_sdk_retry_handler_honours_retry_after(limited: SlackEmulator) -> None:
    handler = AsyncRateLimitErrorRetryHandler(max_retry_count=3)
    web = AsyncWebClient(token=limited.bot_token, base_url=limited.api_url, retry_handlers=[handler])
    results = await asyncio.gather(*(web.usergroups_users_list(usergroup="S0ONCALL01") for _ in range(3)))
    assert all(r["ok"] for r in results)
    statuses = [c.status for c in limited.calls("usergroups.users.list")]
    retries = statuses.count(429)
    assert retries == limited.ratelimited_count >= 1
    assert statuses.count(200) == 3


async def test_post_message_is_limited_per_channel_with_a_burst(limited: SlackEmulator) -> None:
    limited.rate_limits.post_message_burst = 2
    limited.rate_limits.rate_scale = 1.0  # one message per second per channel
    web = AsyncWebClient(token=limited.bot_token, base_url=limited.api_url)
    incidents = limited.channel("incidents").id
    other = (await web.conversations_create(name="inc-9-other"))["channel"]["id"]
    for _ in range(2):
        await web.chat_postMessage(channel=incidents, text="burst")
    with pytest.raises(SlackApiError) as info:
        await web.chat_postMessage(channel=incidents, text="one too many")
    assert info.value.response["error"] == "ratelimited" and info.value.response.status_code == 429
    assert (await web.chat_postMessage(channel=other, text="other channel is fine"))["ok"]


async def test_rate_limits_are_off_by_default() -> None:
    async with SlackEmulator() as emu:
        web = AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)
        for _ in range(25):
            await web.usergroups_users_list(usergroup="S0ONCALL01")
        assert emu.ratelimited_count == 0

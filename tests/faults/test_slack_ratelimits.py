"""Slack answering 429 with Retry-After on usergroups.list, bookmarks.add and a method the bot has never seen.

Acceptance: at most one call per method per Retry-After window; work queued behind them is delivered
afterwards, in order per channel. The real gateway and the unchanged slack-sdk client talk to the emulator
over loopback. The windows are 3 s here; the 30 s case runs once for real below, and in no time on a
hand-moved clock in tests/integration/slack/test_gateway.py.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

from bot.sandbox.emulator import SlackEmulator
from bot.slack.gateway import Priority, SlackGateway
from bot.slack.ratelimit import METHOD_TIERS
from tests.faults._slack import MakeGateway, gaps, make_gateway, slack, texts

__all__ = ["make_gateway", "slack"]  # fixtures, imported explicitly

RETRY_AFTER = 3
FAULT_SECONDS = 7.5  # three windows: probes at about 0, 3 and 6 s are limited, the one at 9 s goes through
NEVER_SEEN = "conversations.replies"
LIMITED = ("usergroups.list", "bookmarks.add", NEVER_SEEN)
TOLERANCE = 0.05  # the emulator stamps calls with time.time(), the gateway waits on time.monotonic()


async def limited_call(gateway: SlackGateway, method: str, channel: str, thread: tuple[str, str]) -> dict[str, Any]:
    """One call of a rate-limited method with valid arguments; `thread` is (channel, ts) of a thread parent."""
    if method == "bookmarks.add":
        return await gateway.call(method, channel_id=channel, title="Runbook", type="link", link="https://example.com")
    if method == NEVER_SEEN:
        return await gateway.call(method, channel=thread[0], ts=thread[1])
    return await gateway.call(method, include_count=True)


def statuses(slack: SlackEmulator, method: str) -> list[int]:
    """HTTP statuses the emulator answered for `method`, in order."""
    return [c.status for c in slack.calls(method)]


@pytest.mark.slow
async def test_retry_after_costs_one_call_per_window_and_queued_work_follows_in_order(
    slack: SlackEmulator, make_gateway: MakeGateway
) -> None:
    assert NEVER_SEEN not in METHOD_TIERS
    gateway = await make_gateway(deadline=60)
    channels = [slack.create_channel(f"inc-{n}-db", ["alice"], bot_member=True).id for n in range(3)]
    thread = (channels[0], await gateway.post_message(channels[0], "thread parent"))
    for method in LIMITED:
        await slack.fault("ratelimit", methods=[method], retry_after=RETRY_AFTER, seconds=FAULT_SECONDS)
    await slack.fault("ratelimit", methods=["chat.postMessage"], retry_after=1, seconds=1.5)  # posts too, briefly

    first = [asyncio.create_task(limited_call(gateway, m, channels[0], thread)) for m in LIMITED]
    await slack.wait_until(lambda: all(429 in statuses(slack, m) for m in LIMITED), 5, "a 429 on each method")
    await slack.wait_until(lambda: all(gateway.limiter.bucket(m, None).suspect for m in LIMITED), 5, "the bot")
    behind = [asyncio.create_task(limited_call(gateway, m, channels[1], thread)) for m in LIMITED]
    expected = {channel: [f"{channel} update {i}" for i in range(5)] for channel in channels}
    posts = [
        asyncio.create_task(gateway.post_message(channel, expected[channel][i], priority=Priority.NORMAL))
        for i in range(5)
        for channel in channels
    ]
    started = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*first, *behind, *posts), 40)

    assert all(r["ok"] for r in results[: 2 * len(LIMITED)])
    for channel in channels:
        assert texts(slack, channel)[-5:] == expected[channel]  # every post delivered, in order per channel
    windows = math.ceil(FAULT_SECONDS / RETRY_AFTER)
    for method in LIMITED:
        answered = statuses(slack, method)
        assert answered.count(429) <= windows, (method, answered)
        assert answered[-2:] == [200, 200], (method, answered)  # both calls delivered once the limit lifted
        for gap, status in zip(gaps(slack, method), answered, strict=False):
            if status == 429:  # after each 429 the method waits out its Retry-After
                assert gap >= RETRY_AFTER - TOLERANCE, (method, gaps(slack, method))
    assert len(slack.calls()) < 80  # no hot loop: a handful of probes, the posts and their paced retries
    assert time.monotonic() - started < 30


@pytest.mark.slow
async def test_a_real_30_second_retry_after_holds_only_its_method(
    slack: SlackEmulator, make_gateway: MakeGateway
) -> None:
    gateway = await make_gateway(deadline=60)
    channel = slack.channel("incidents").id
    thread_ts = await gateway.post_message(channel, "thread parent")
    await slack.fault("ratelimit", methods=[NEVER_SEEN], retry_after=30, seconds=1)
    held = asyncio.create_task(gateway.call(NEVER_SEEN, channel=channel, ts=thread_ts))
    await slack.wait_until(lambda: statuses(slack, NEVER_SEEN) == [429], 5, "the first 429")
    posted = time.monotonic()
    await asyncio.wait_for(gateway.post_message(channel, "not held by the limited method"), 10)
    assert time.monotonic() - posted < 5 and not held.done()
    assert (await asyncio.wait_for(held, 40))["ok"]
    assert statuses(slack, NEVER_SEEN) == [429, 200]
    assert gaps(slack, NEVER_SEEN)[0] >= 30 - TOLERANCE

"""The shared Slack budget's Lua buckets on a real Redis, with time passed in so minutes take no time."""

from __future__ import annotations

import logging
import math
import socket
from pathlib import Path

import pytest
from redis.crc import key_slot

from bot import metrics
from bot.connections import EmbeddedValkey, Redis, make_client
from bot.keys import Keys
from bot.slack.shared_budget import SharedBudget, shared_limit
from tests.manual_clock import ManualMonotonicClock

T0 = 1_700_000_000_000  # an injected Redis time, in ms


def budget(redis: Redis, keys: Keys, **options: float) -> SharedBudget:
    return SharedBudget(redis, keys, ManualMonotonicClock(), **options)


async def test_a_tier_lets_its_whole_count_through_then_waits_for_the_oldest_call_to_age_out(
    redis: Redis, keys: Keys
) -> None:
    shared = budget(redis, keys)
    limit = shared_limit("conversations.create", None)
    assert (limit.kind, limit.count, limit.window_s) == ("window", 20, pytest.approx(60.05))
    assert [await shared.acquire("conversations.create", None, now_ms=T0 + n) for n in range(20)] == [0.0] * 20
    assert await shared.acquire("conversations.create", None, now_ms=T0 + 30_000) == pytest.approx(30.05)
    assert await shared.acquire("conversations.create", None, now_ms=T0 + 60_049) == pytest.approx(0.001)
    assert await shared.acquire("conversations.create", None, now_ms=T0 + 60_050) == 0.0  # the first one aged out
    assert await shared.acquire("conversations.create", None, now_ms=T0 + 60_050) > 0
    # Another method has its own window.
    assert await shared.acquire("pins.add", None, now_ms=T0) == 0.0


async def test_no_window_of_a_minute_ever_holds_more_than_the_tier(redis: Redis, keys: Keys) -> None:
    shared = budget(redis, keys)
    granted: list[int] = []
    for step in range(0, 180_000, 50):  # two eager callers asking every 50 ms for three minutes
        for _ in range(2):
            if await shared.acquire("usergroups.list", None, now_ms=T0 + step) == 0.0:
                granted.append(step)
    most = max(sum(1 for t in granted if start <= t < start + 60_000) for start in granted)
    assert most <= 20
    assert len(granted) >= 0.95 * 20 * 3  # and the tier is nearly all used


async def test_a_hold_stops_every_caller_until_it_ends_then_lets_one_probe_through(redis: Redis, keys: Keys) -> None:
    shared = budget(redis, keys)
    await shared.hold("usergroups.list", None, 5.0, now_ms=T0)
    assert await shared.acquire("usergroups.list", None, now_ms=T0 + 1000) == pytest.approx(4.0)
    await shared.hold("usergroups.list", None, 2.0, now_ms=T0 + 1000)  # a shorter hold does not cut a longer one
    assert await shared.acquire("usergroups.list", None, now_ms=T0 + 4000) == pytest.approx(1.0)
    assert await shared.acquire("usergroups.list", None, now_ms=T0 + 5000) == 0.0
    # One probe, not the whole tier: then one call per 1/20 of the window as the stand-ins age out.
    assert await shared.acquire("usergroups.list", None, now_ms=T0 + 5000) == pytest.approx(60.05 / 20, abs=0.002)
    assert await shared.acquire("usergroups.list", None, now_ms=T0 + 5000 + 3003) == 0.0
    hold = keys.slack_hold("usergroups.list")
    await shared.hold("usergroups.list", None, 5.0)  # Redis TIME: the key expires by itself
    assert 0 < await redis.pttl(hold) <= 5000


async def test_per_channel_pacing_keeps_channels_apart_and_each_bucket_in_one_slot(redis: Redis, keys: Keys) -> None:
    shared = budget(redis, keys)
    limit = shared_limit("chat.postMessage", "C1")
    assert limit.capacity == pytest.approx(2.95)  # Slack's burst of 3, less 50 ms of jitter
    for _ in range(2):
        assert await shared.acquire("chat.postMessage", "C1", now_ms=T0) == 0.0
    assert await shared.acquire("chat.postMessage", "C1", now_ms=T0) == pytest.approx(0.052, abs=0.002)
    assert await shared.acquire("chat.postMessage", "C1", now_ms=T0 + 52) == 0.0
    assert await shared.acquire("chat.postMessage", "C1", now_ms=T0 + 52) > 0.9
    assert await shared.acquire("chat.postMessage", "C2", now_ms=T0) == 0.0
    await shared.hold("chat.postMessage", "C1", 3.0, now_ms=T0)
    assert await shared.acquire("chat.postMessage", "C2", now_ms=T0 + 1) == 0.0  # a channel's 429 holds only it
    assert key_slot(keys.slack_bucket("chat.postMessage:C1").encode()) == key_slot(
        keys.slack_hold("chat.postMessage:C1").encode()
    )
    assert key_slot(keys.slack_window("pins.add").encode()) == key_slot(keys.slack_hold("pins.add").encode())


async def test_idle_limits_expire_and_redis_time_is_used_by_default(redis: Redis, keys: Keys) -> None:
    shared = budget(redis, keys)
    assert await shared.acquire("conversations.create", None) == 0.0  # Redis TIME
    assert 0 < await redis.pttl(keys.slack_window("conversations.create")) <= 60_050
    assert await shared.acquire("chat.postMessage", "C1") == 0.0
    limit = shared_limit("chat.postMessage", "C1")
    assert 0 < await redis.pttl(keys.slack_bucket("chat.postMessage:C1")) <= math.ceil(1000 / limit.per_second) + 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_redis_down_means_local_limits_logged_once_then_the_budget_returns(
    keys: Keys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    client = make_client(f"redis://127.0.0.1:{port}/0")
    clock = ManualMonotonicClock()
    shared = SharedBudget(client, keys, clock, retry_s=1.0)
    before = metrics.SLACK_SHARED_BUDGET_FALLBACKS._value.get()
    with caplog.at_level(logging.INFO, logger="bot.slack.shared_budget"):
        assert await shared.acquire("conversations.create", None) == 0.0  # nothing listens: go, on local limits
        assert shared.degraded
        assert await shared.acquire("conversations.create", None) == 0.0  # within retry_s: Redis is not asked
        await shared.hold("conversations.create", None, 30)  # nor for a hold
        assert metrics.SLACK_SHARED_BUDGET_FALLBACKS._value.get() == before + 1
        clock.advance(1.5)
        assert await shared.acquire("conversations.create", None) == 0.0  # asked again, still down
        assert metrics.SLACK_SHARED_BUDGET_FALLBACKS._value.get() == before + 2
        clock.advance(1.5)
        assert await shared.acquire("conversations.create", None) == 0.0  # still failing: the pause doubled to 2 s
        assert metrics.SLACK_SHARED_BUDGET_FALLBACKS._value.get() == before + 2
        server = EmbeddedValkey(tmp_path, port=port)
        server.start()
        try:
            clock.advance(1.0)
            await shared.hold("conversations.create", None, 30)
            assert not shared.degraded
            assert await shared.acquire("conversations.create", None) == pytest.approx(30, abs=0.5)
        finally:
            await client.aclose()
            server.stop()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "shared Slack budget unavailable" in warnings[0].getMessage()
    assert any("available again" in r.getMessage() for r in caplog.records)


async def test_a_wait_redis_gave_is_remembered_so_a_queue_of_calls_asks_once(redis: Redis, keys: Keys) -> None:
    clock = ManualMonotonicClock()
    shared = SharedBudget(redis, keys, clock)
    assert [await shared.acquire("pins.add", None) for _ in range(20)] == [0.0] * 20  # Redis TIME
    wait = await shared.acquire("pins.add", None)
    assert 59 < wait <= 60.05
    await redis.delete(keys.slack_window("pins.add"))  # Redis would now say "go"...
    assert await shared.acquire("pins.add", None) == pytest.approx(wait)  # ...but it is not asked before the wait
    clock.advance(wait)
    assert await shared.acquire("pins.add", None) == 0.0

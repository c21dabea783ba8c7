"""Two replicas, one Slack budget: gateways in separate threads and event loops, and in separate OS processes,
each with its own Web API client and Redis client, share the limits in Redis. Against the emulator enforcing
the tiers they never exceed one together, and a 429 seen by one holds the other. Without the shared budget the
same load meets 429s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import threading
import time
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest

from bot.app import slack_client
from bot.connections import make_client
from bot.keys import Keys
from bot.sandbox.emulator import RateLimitConfig, SlackEmulator
from bot.settings import load_settings
from bot.slack.gateway import GatewayConfig, SlackGateway
from bot.slack.ratelimit import RateLimiter
from bot.slack.shared_budget import SharedBudget
from tests.conftest import ROOT

T = TypeVar("T")
RATE_SCALE = 30.0  # tier 2 becomes 20 calls per 2 s
WINDOW = 60.0 / RATE_SCALE
CALLS_EACH = 30


class Replica:
    """A gateway on its own event loop in its own thread, as another process would run it."""

    def __init__(self, emulator: SlackEmulator, redis_url: str, keys: Keys, *, shared: bool) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.gateway: SlackGateway = self.run(self._start(emulator, redis_url, keys, shared)).result(10)

    async def _start(self, emulator: SlackEmulator, redis_url: str, keys: Keys, shared: bool) -> SlackGateway:
        settings = load_settings(
            slack_api_url=emulator.api_url, slack_bot_token=emulator.bot_token, slack_app_token=emulator.app_token
        )
        self.redis = make_client(redis_url)
        gateway = SlackGateway(
            slack_client(settings), RateLimiter(scale=RATE_SCALE), config=GatewayConfig(deadline=60), history=1000
        )
        if shared:
            gateway.budget = SharedBudget(self.redis, keys, gateway.clock, scale=RATE_SCALE)
        await gateway.start()
        return gateway

    def run(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Run a coroutine on this replica's loop."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """One gateway call on this replica, awaited from the test's loop."""
        return await asyncio.wrap_future(self.run(self.gateway.call(method, **kwargs)))

    async def close(self) -> None:
        async def stop() -> None:
            await self.gateway.stop(drain_timeout=0)
            await self.redis.aclose()

        await asyncio.wrap_future(self.run(stop()))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(rate_limits=RateLimitConfig(enabled=True, rate_scale=1 / RATE_SCALE)) as started:
        yield started


async def two_replicas(emulator: SlackEmulator, redis_url: str, keys: Keys, shared: bool) -> list[Replica]:
    return [await asyncio.to_thread(Replica, emulator, redis_url, keys, shared=shared) for _ in range(2)]


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of calls in any half-open window of `window` seconds."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)), default=0)


async def storm(replicas: list[Replica], channel: str) -> None:
    """Each replica sends CALLS_EACH tier-2 calls and as many posts to one channel, all at once."""
    calls = []
    for replica in replicas:
        for n in range(CALLS_EACH):
            calls.append(replica.call("usergroups.list"))
            calls.append(replica.call("chat.postMessage", channel=channel, text=f"{id(replica)} {n}"))
    await asyncio.gather(*calls)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_two_replicas_together_stay_within_the_tier(emulator: SlackEmulator, redis_url: str, keys: Keys) -> None:
    channel = emulator.create_channel("inc-1-db", ["alice"], bot_member=True).id
    replicas = await two_replicas(emulator, redis_url, keys, shared=True)
    try:
        started = time.monotonic()
        await storm(replicas, channel)
        took = time.monotonic() - started
        sent_by = [sum(1 for a in r.gateway.history if a.method == "usergroups.list") for r in replicas]
    finally:
        for replica in replicas:
            await replica.close()
    lists = [c.at for c in emulator.calls("usergroups.list")]
    posts = [c.at for c in emulator.calls("chat.postMessage")]
    limited = [(c.method, c.args.get("channel"), c.at - lists[0]) for c in emulator.calls() if c.status == 429]
    assert emulator.ratelimited_count == 0, limited
    assert len(lists) == len(posts) == 2 * CALLS_EACH
    assert min(sent_by) > 5, sent_by  # both replicas spent the one budget
    assert most_in_any_window(lists, WINDOW) <= 20
    assert most_in_any_window(posts, 1 / RATE_SCALE) <= 3  # per channel: 30/s with a burst of 3
    # The tier is used, not just respected: 60 calls with a burst of 2 need (60 - 2) / (18 per 2 s) = 6.4 s.
    print(f"\n2 replicas, {2 * CALLS_EACH} tier-2 calls: {took:.2f} s, split {sent_by}")
    assert took < 6.5 / 0.8


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_without_the_shared_budget_two_replicas_meet_429s(
    emulator: SlackEmulator, redis_url: str, keys: Keys
) -> None:
    channel = emulator.create_channel("inc-1-db", ["alice"], bot_member=True).id
    replicas = await two_replicas(emulator, redis_url, keys, shared=False)
    try:
        await storm(replicas, channel)
    finally:
        for replica in replicas:
            await replica.close()
    assert emulator.ratelimited_count > 0  # the control: the test above could fail


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_429_seen_by_one_replica_holds_the_other(emulator: SlackEmulator, redis_url: str, keys: Keys) -> None:
    first, second = await two_replicas(emulator, redis_url, keys, shared=True)
    try:
        await emulator.fault("ratelimit", methods=["usergroups.list"], retry_after=2, seconds=1.0)
        limited = asyncio.create_task(first.call("usergroups.list"))
        hold = keys.slack_hold("usergroups.list")
        await emulator.wait_until(lambda: any(a.status == "limited" for a in first.gateway.history), 5, "a 429")
        assert await asyncio.wrap_future(first.run(first.redis.exists(hold))) == 1
        asked_at = time.time()
        assert (await second.call("usergroups.list"))["ok"]
        assert (await limited)["ok"]
    finally:
        await first.close()
        await second.close()
    calls = emulator.calls("usergroups.list")
    assert [c.status for c in calls] == [429, 200, 200]
    limited_at = calls[0].at
    # The second replica asked right after the 429 and still waited out the Retry-After.
    assert asked_at - limited_at < 1.0
    assert all(c.at >= limited_at + 2 - 0.05 for c in calls[1:]), [c.at - limited_at for c in calls]
    assert [a.status for a in second.gateway.history] == ["answered"]


async def run_processes(emulator: SlackEmulator, redis_url: str, keys: Keys, count: int) -> list[dict[str, Any]]:
    """`count` replicas as OS processes, each sending CALLS_EACH usergroups.list calls from the same moment."""
    config = {
        "api_url": emulator.api_url,
        "bot_token": emulator.bot_token,
        "redis_url": redis_url,
        "prefix": keys.prefix,
        "scale": RATE_SCALE,
        "method": "usergroups.list",
        "calls": CALLS_EACH,
        "start_at": time.time() + 3.0,  # both interpreters are up and connected by then
    }
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.faults._replica", json.dumps(config), cwd=ROOT, stdout=PIPE, stderr=PIPE
        )
        for _ in range(count)
    ]
    outputs = [await asyncio.wait_for(p.communicate(), 60) for p in processes]
    assert [p.returncode for p in processes] == [0] * count, [err.decode()[-2000:] for _, err in outputs]
    return [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_two_replica_processes_together_stay_within_the_tier(
    emulator: SlackEmulator, redis_url: str, keys: Keys
) -> None:
    reports = await run_processes(emulator, redis_url, keys, 2)
    assert all(r["shared"] for r in reports)  # REDIS_URL set: the shared budget is on by default
    assert [r["ok"] for r in reports] == [CALLS_EACH, CALLS_EACH]
    lists = [c.at for c in emulator.calls("usergroups.list")]
    assert len(lists) == 2 * CALLS_EACH
    assert emulator.ratelimited_count == 0 and sum(r["limited"] for r in reports) == 0
    assert most_in_any_window(lists, WINDOW) <= 20


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_with_redis_down_calls_still_go_paced_by_the_replicas_own_limits(
    emulator: SlackEmulator, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        dead = make_client(f"redis://127.0.0.1:{probe.getsockname()[1]}/0")
    settings = load_settings(
        slack_api_url=emulator.api_url, slack_bot_token=emulator.bot_token, slack_app_token=emulator.app_token
    )
    gateway = SlackGateway(slack_client(settings), RateLimiter(scale=RATE_SCALE), history=100)
    gateway.budget = SharedBudget(dead, keys, gateway.clock, scale=RATE_SCALE)
    await gateway.start()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.slack.shared_budget"):
            results = await asyncio.gather(*(gateway.call("usergroups.list") for _ in range(12)))
    finally:
        await gateway.stop(drain_timeout=0)
        await dead.aclose()
    assert all(r["ok"] for r in results)  # nothing waited on Redis
    assert gateway.budget.degraded and gateway.limiter.pacing
    sent = [a.sent_at for a in gateway.history]
    # The replica's own tier-2 bucket: a burst of 2, then one call per 0.1 s.
    assert sent[-1] - sent[0] >= (12 - 2) * 0.1 * 0.9
    assert len([r for r in caplog.records if "shared Slack budget unavailable" in r.getMessage()]) == 1

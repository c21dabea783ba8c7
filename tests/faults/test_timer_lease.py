"""Redis paused while a timer handler runs: the lease governs the handler, so its side effect happens once.

Two schedulers (two replicas, each with its own pool) run against a dedicated Redis. The handler
stands in for a page: seconds of deliveries that do not touch Redis (Slack, PagerDuty), each counted
by a loopback recorder, then a record in Redis. Redis is paused (CLIENT PAUSE ALL, or SIGSTOP) for
longer than the lease just after the handler starts: its renewals cannot answer, so it must be
cancelled before the lease runs out, and the timer runs again, once, after Redis returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp import web

from bot.connections import RedisTimeouts, make_client
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.keys import Keys
from tests.conftest import Serve
from tests.faults._redis import RedisProcess, redis_process  # noqa: F401  (fixture)
from tests.manual_clock import eventually

PAUSE_S = 8.0
DELIVERY_S = 4.0  # how long the page's deliveries take before the recorder sees them
CONFIG = SchedulerConfig(tick_s=0.1, lease_s=3.0, tick_timeout_s=1.0)  # renew every 1 s; cancel with 0.75 s left
KEYS = Keys("rbfault")


class Recorder:
    """A loopback endpoint counting deliveries, independent of Redis."""

    def __init__(self) -> None:
        self.deliveries: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/page/{id}", self.page)
        return app

    async def page(self, request: web.Request) -> web.Response:
        self.deliveries.append(request.match_info["id"])
        return web.json_response({"ok": True})


class PageHandler:
    """Deliver (slowly, without Redis), then record the page in Redis; counts copies running at once."""

    def __init__(self, recorder_url: str, url: str) -> None:
        self.recorder_url = recorder_url
        self.redis = make_client(url, timeouts=RedisTimeouts(socket_s=5.0, pool_wait_s=2.0))
        self.started = asyncio.Event()
        self.runs = 0
        self.running = 0
        self.most_at_once = 0

    async def page(self, timer: FiredTimer) -> None:
        self.runs += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        self.started.set()
        try:
            await asyncio.sleep(DELIVERY_S)
            async with httpx.AsyncClient(base_url=self.recorder_url) as client:
                (await client.post(f"/page/{timer.id}")).raise_for_status()
            await self.redis.set(f"{KEYS.prefix}:paged:{timer.id}", "1")
        finally:
            self.running -= 1


@pytest.fixture
async def replicas(redis_process: RedisProcess) -> AsyncIterator[list[TimerScheduler]]:  # noqa: F811
    clients = [make_client(redis_process.url, timeouts=RedisTimeouts(pool_wait_s=2.0)) for _ in range(2)]
    schedulers = [TimerScheduler(TimerStore(c, KEYS), CONFIG) for c in clients]
    yield schedulers
    for s in schedulers:
        await s.stop(timeout_s=2)
    for c in clients:
        await c.aclose()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["client-pause", "sigstop"])
async def test_a_page_handler_runs_once_when_redis_pauses_mid_run(
    redis_process: RedisProcess,  # noqa: F811
    replicas: list[TimerScheduler],
    serve: Serve,
    mode: str,
) -> None:
    recorder = Recorder()
    handler = PageHandler(await serve(recorder.app()), redis_process.url)
    pings: list[float] = []

    async def ping(timer: FiredTimer) -> None:
        pings.append(time.monotonic())

    for scheduler in replicas:
        scheduler.register("page", handler.page)
        scheduler.register("ping", ping)
        await scheduler.start()
    store = TimerStore(handler.redis, KEYS)
    try:
        await store.arm("page-1", datetime.now(UTC), "page", {})
        await asyncio.wait_for(handler.started.wait(), timeout=5)
        if mode == "client-pause":
            redis_process.client_pause(PAUSE_S)
        else:
            redis_process.sigstop()
            await asyncio.sleep(PAUSE_S)
            redis_process.sigcont()
        resumed = time.monotonic() + (PAUSE_S if mode == "client-pause" else 0.0)
        # The pump was never stuck behind the pause: a timer due right after it fires promptly.
        await asyncio.sleep(max(0.0, resumed - time.monotonic()))
        await store.arm("ping-1", datetime.now(UTC) + timedelta(seconds=0.2), "ping", {})
        await eventually(lambda: len(recorder.deliveries) >= 1 and handler.running == 0, limit_s=30)
        await eventually(lambda: len(pings) == 1, limit_s=5)
        await asyncio.sleep(CONFIG.lease_s + 1)  # long enough for any stray copy to show itself
        assert recorder.deliveries == ["page-1"], recorder.deliveries
        assert handler.most_at_once == 1 and handler.runs == 2  # cancelled once, then run to the end once
        assert pings[0] - resumed < 1.5, f"first timer after the pause fired {pings[0] - resumed:.2f}s late"
        assert sum(s.stats.leases_lost for s in replicas) == 1
        assert await store.counts() == (0, 0)
    finally:
        await handler.redis.aclose()

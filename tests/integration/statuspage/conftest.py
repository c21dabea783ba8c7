"""Status-page fixtures: the store, durable jobs on a running timer scheduler, the fake Statuspage server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from bot.connections import Redis
from bot.durable import DurableJobs
from bot.escalation.scheduler import SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.store import IncidentStore
from bot.jobs.backoff import Backoff
from bot.keys import Keys
from bot.statuspage.models import Component, StatusPageConfig
from tests.conftest import Serve
from tests.integration.statuspage.fake_statuspage import FakeStatuspage

CONFIG = StatusPageConfig(
    title="Example status",
    components=[Component(id="checkout", name="Checkout", statuspage_id="cmp-checkout")],
    services={"checkout": ["checkout"]},
)


@dataclass
class Rig:
    """Everything a status-page test drives."""

    store: IncidentStore
    jobs: DurableJobs
    scheduler: TimerScheduler


@pytest.fixture
async def rig(redis: Redis, keys: Keys) -> AsyncIterator[Rig]:
    timers = TimerStore(redis, keys)
    scheduler = TimerScheduler(timers, SchedulerConfig(tick_s=0.05, lease_s=30))
    jobs = DurableJobs(redis, keys, timers, backoff=Backoff(base_s=0.1, jitter=0), max_attempts=5)
    yield Rig(IncidentStore(redis, keys), jobs, scheduler)
    await scheduler.stop()


@pytest.fixture
async def fake_statuspage(serve: Serve) -> tuple[FakeStatuspage, str]:
    fake = FakeStatuspage()
    fake.add_component("cmp-checkout", "Checkout")
    url = await serve(fake.app())
    return fake, url + "/v1/"


async def eventually(probe: Callable[[], object], timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Poll an async or sync probe until it is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)

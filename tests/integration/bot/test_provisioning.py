"""An incident whose opener died before making its channel is provisioned by the safety timer, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.alerts import Alert
from bot.connections import Redis
from bot.incidents.models import Incident
from bot.incidents.provision import ProvisionGuard, provision_timer_id
from bot.keys import Keys
from bot.sandbox.stack import SandboxStack, start_sandbox
from tests.integration.bot.conftest import RUNBOOKS


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    started = await start_sandbox(
        redis_url=redis_url, redis_prefix=keys.prefix, runbooks_path=RUNBOOKS, data_dir=tmp_path, provision_retry_s=1
    )
    yield started
    await started.stop()


def alert(group: str) -> Alert:
    return Alert(
        source="generic",
        name="DiskFull",
        group_key=group,
        fingerprint=f"{group}-1",
        title=f"disk full {group}",
        service="db",
        starts_at=datetime(2026, 11, 23, tzinfo=UTC),
    )


async def dead_opener(stack: SandboxStack, group: str) -> str:
    """Do what a replica does before it answers 202, then 'die': record and arm, never provision."""
    services = stack.bot.services
    assert services is not None and services.flows.guard is not None
    outcome = await services.store.open_or_update(alert(group))
    assert outcome.created and outcome.incident is not None
    await services.flows.guard.arm(outcome.incident.id)
    return outcome.incident.id


async def eventually_provisioned(stack: SandboxStack, incident_id: str, within: float = 15.0) -> Incident:
    """Poll the store until the incident is marked provisioned."""
    services = stack.bot.services
    assert services is not None
    deadline = asyncio.get_running_loop().time() + within
    while True:
        incident = await services.store.get_incident_or_raise(incident_id)
        if incident.provisioned or asyncio.get_running_loop().time() > deadline:
            return incident
        await asyncio.sleep(0.1)


async def test_safety_timer_provisions_an_orphaned_incident(stack: SandboxStack) -> None:
    incident_id = await dead_opener(stack, "orphan")
    channel = await stack.emulator.wait_for_channel("inc-1-db-disk-full-orphan", timeout=15)
    await stack.emulator.wait_for_message(channel.id, "INC-1", timeout=10)
    services = stack.bot.services
    assert services is not None
    incident = await eventually_provisioned(stack, incident_id)
    assert incident.channel_id == channel.id and incident.header_ts
    assert len([c for c in stack.emulator.channels() if c.name.startswith("inc-")]) == 1
    assert incident.provisioned


async def test_a_held_lease_defers_the_timer_until_released(stack: SandboxStack, redis: Redis, keys: Keys) -> None:
    services = stack.bot.services
    assert services is not None and services.flows.guard is not None
    guard: ProvisionGuard = services.flows.guard
    lease = guard.lease("INC-1")
    held = await lease.__aenter__()  # a live, slow worker holds the lease
    assert held
    await dead_opener(stack, "slow")
    await asyncio.sleep(2.5)  # the safety timer fired at least once and found the lease held
    assert not [c for c in stack.emulator.channels() if c.name.startswith("inc-")]
    assert await redis.exists(keys.timer(provision_timer_id("INC-1")))  # re-armed, not dropped
    await lease.__aexit__(None, None, None)
    await stack.emulator.wait_for_channel("inc-1-db-disk-full-slow", timeout=15)
    assert (await eventually_provisioned(stack, "INC-1")).provisioned
    assert not await redis.exists(keys.timer(provision_timer_id("INC-1")))

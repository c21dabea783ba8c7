"""Sentinel: the primary is killed mid-incident, right after a webhook got its 202; the bot follows the fail-over
and loses nothing: the incident, its timeline (with the alert just acknowledged) and its pending page; the timer
wake-up channel is heard again on the new primary."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.incidents.models import EventType, Status
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.stack import start_sandbox
from tests.integration.bot.conftest import FIXTURES, RUNBOOKS, alertmanager_payload, post_alert
from tests.redis_servers import SentinelSetup, redis_sentinel, wait_until

ALICE, BOB = "U0ALICE001", "U0BOB00001"


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[SentinelSetup]:
    with redis_sentinel(tmp_path / "redis") as setup:
        yield setup


def pages(emulator: SlackEmulator, channel: str, user: str) -> int:
    return len([m for m in emulator.messages(channel) if f"Paging* <@{user}>" in str(m.blocks)])


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_primary_killed_after_a_202_loses_nothing_and_pages_fire_once(
    sentinel: SentinelSetup, tmp_path: Path
) -> None:
    stack = await start_sandbox(
        redis_sentinels=sentinel.sentinel_list,
        redis_sentinel_master=sentinel.master,
        redis_prefix=f"rbtest-{uuid.uuid4().hex[:12]}",
        runbooks_path=RUNBOOKS,
        escalation_path=FIXTURES / "escalation_slack",
        data_dir=tmp_path / "bot",
    )
    try:
        emulator = stack.emulator
        store = stack.bot.services.store  # type: ignore[union-attr]
        assert (await post_alert(stack, alertmanager_payload(group="failover"))).status_code == 202
        channel = (await emulator.wait_for_channel("inc-1-api-api-latency-high-failover", timeout=10)).id
        # Mid-incident: alice is paged, bob's page (level 2, 6 s later) is a pending timer.
        await emulator.wait_for_message(channel, f"Paging* <@{ALICE}>", timeout=10)

        async def settled() -> bool:
            incident = await store.get_incident_or_raise("INC-1")
            audit = await store.read_audit(incident_id="INC-1")
            return incident.provisioned and [e.step for e in audit if e.action == "escalation.page"] == ["level-1"]

        for _ in range(100):
            if await settled():
                break
            await asyncio.sleep(0.05)
        assert await settled()
        second = alertmanager_payload(group="failover")
        second["alerts"][0]["fingerprint"] = "fp-failover-2"
        second["alerts"][0]["labels"]["instance"] = "api-2"
        assert (await post_alert(stack, second)).status_code == 202
        # Both answers waited for the replica (REDIS_WAIT_REPLICAS defaults to 1 with Sentinel).
        stats = sentinel.primary.client().info("commandstats")
        assert stats["cmdstat_wait"]["calls"] == 2
        old_primary = sentinel.primary.port
        await asyncio.to_thread(sentinel.primary.kill)

        # That 202 came after WAIT 1: the replica holds the second alert before anyone promotes it.
        await asyncio.to_thread(wait_until, lambda: sentinel.current_primary_port() != old_primary, 30, "fail-over")
        assert sentinel.current_primary_port() == sentinel.replica.port
        incident = await store.get_incident_or_raise("INC-1")
        assert incident.status is Status.TRIGGERED and incident.channel_id == channel
        timeline = await store.read_timeline("INC-1")
        assert EventType.OPENED in [e.type for e in timeline]
        assert len([e for e in timeline if e.type is EventType.ALERT]) == 2

        await emulator.wait_for_message(channel, f"Paging* <@{BOB}>", timeout=20)
        await asyncio.sleep(2)  # time for a duplicate page to show
        assert (pages(emulator, channel, ALICE), pages(emulator, channel, BOB)) == (1, 1)
        audit = await store.read_audit(incident_id="INC-1")
        assert [e.step for e in audit if e.action == "escalation.page"] == ["level-1", "level-2"]

        # The timer wake-up channel followed the fail-over: a new incident's timers, armed on the new
        # primary, are heard (not left to the fallback tick).
        assert stack.bot.timers is not None and stack.bot.timers.wakeups is not None
        wakeups = stack.bot.timers.wakeups
        heard = wakeups.heard
        assert (await post_alert(stack, alertmanager_payload(group="after-failover"))).status_code == 202
        for _ in range(200):
            if wakeups.subscribed and wakeups.heard > heard:
                break
            await asyncio.sleep(0.05)
        assert wakeups.subscribed and wakeups.heard > heard
    finally:
        await stack.stop()

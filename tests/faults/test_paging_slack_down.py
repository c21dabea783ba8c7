"""Paging with Slack down: pagers never wait on Slack; Slack catches up, late and once, when it returns.

Outages are shorter than the issue's (5 min and 90 s) to keep the suite fast; the behaviour under
test is the same once the outage outlasts the dead-letter threshold (here 3 failures, retries
capped at 5 s, a Slack call given up after 2 tries: about 30 s for provisioning): set
FAULT_OUTAGE_S / FAULT_500_S to run the full lengths.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.app import BotApp
from bot.connections import Redis
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from bot.settings import load_settings
from tests.faults._paging import (
    ALICE,
    BOB,
    PagerDutyRecorder,
    bot_settings,
    dm_pages,
    page_messages,
    poll,
    post_alert,
)

pytestmark = pytest.mark.slow
OUTAGE_S = float(os.environ.get("FAULT_OUTAGE_S", "60"))
FAIL_500_S = float(os.environ.get("FAULT_500_S", "30"))
LEVEL_2_AFTER_S = 15.0  # tests/fixtures/escalation_faults: level 1 waits 0.25 min


@dataclass
class Rig:
    emulator: SlackEmulator
    pagerduty: PagerDutyRecorder
    bot: BotApp
    dead: DeadLetters

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.bot.http_port}"

    async def readyz(self) -> dict[str, object]:
        async with httpx.AsyncClient(timeout=5) as client:
            return dict((await client.get(self.url + "/readyz")).json())


@pytest.fixture
async def rig(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[Rig]:
    emulator = SlackEmulator()
    await emulator.start()
    pagerduty = PagerDutyRecorder()
    await pagerduty.start()
    values = bot_settings(
        emulator,
        emulator.api_url,
        pagerduty,
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbook_bot_data_dir=tmp_path,
        http_port=0,
        delivery_retry_cap_s=5,
        provision_retry_cap_s=5,
        dead_letter_after=3,
        slack_max_attempts=2,  # one failed Slack call then takes seconds, not half a minute
    )
    bot = BotApp(load_settings(**values))
    await bot.start()
    try:
        yield Rig(emulator, pagerduty, bot, DeadLetters(redis, keys))
    finally:
        await emulator.clear_faults()
        await bot.stop()
        await pagerduty.stop()
        await emulator.stop()


async def test_slack_refusing_connections_from_before_the_alert(rig: Rig) -> None:
    await rig.emulator.fault("refuse")
    alerted = time.monotonic()
    assert (await post_alert(rig.url, "down")).status_code == 202

    await poll(lambda: rig.pagerduty.triggers(1), 5, "level 1 at PagerDuty within 5 s of the alert")
    await poll(lambda: rig.pagerduty.triggers(2), LEVEL_2_AFTER_S + 5, "level 2 at PagerDuty, Slack still down")
    level2_at = rig.pagerduty.triggers(2)[0][0] - alerted
    assert LEVEL_2_AFTER_S - 1 <= level2_at <= LEVEL_2_AFTER_S + 3

    # Past the threshold the undelivered pages and the channel are dead letters, and /readyz says so.
    await poll(rig.dead.list, OUTAGE_S, "dead letters while Slack is down")
    await poll(lambda: _dead_letter_kinds(rig, "provision"), OUTAGE_S, "provisioning in the dead-letter set")
    await poll(lambda: _degraded(rig), 5, "/readyz degraded")
    remaining = OUTAGE_S - (time.monotonic() - alerted)
    if remaining > 0:
        await _sleep(remaining)
    assert not [c for c in rig.emulator.channels() if c.name.startswith("inc-")]

    await rig.emulator.clear_faults()
    back = time.monotonic()
    channel = await rig.emulator.wait_for_channel("inc-1-api-api-latency-high-down", timeout=15)
    channel_after = time.monotonic() - back
    for user in (ALICE, BOB):
        await poll(lambda u=user: dm_pages(rig.emulator, u), 15 - (time.monotonic() - back), f"DM page to {user}")
        await poll(
            lambda u=user: page_messages(rig.emulator, channel.id, u),
            15 - (time.monotonic() - back),
            f"channel page naming {user}",
        )
    pages_after = time.monotonic() - back
    await poll(lambda: _no_dead_letters(rig), 10, "an empty dead-letter set")
    level1_at = rig.pagerduty.triggers(1)[0][0] - alerted
    print(
        f"\nSlack refused {OUTAGE_S:.0f} s: PagerDuty level 1 {level1_at:.2f} s after the alert, level 2 at "
        f"{level2_at:.1f} s; after Slack's return: channel {channel_after:.1f} s, all Slack pages {pages_after:.1f} s"
    )
    await _sleep(6)  # longer than a retry: a duplicate would show now
    assert len(rig.pagerduty.triggers(1)) == 1 and len(rig.pagerduty.triggers(2)) == 1
    assert {e["dedup_key"] for _, e in rig.pagerduty.events} == {"INC-1"}
    for user in (ALICE, BOB):
        [dm] = dm_pages(rig.emulator, user)
        assert "Late" in dm  # delivered after the fact, and says so
        assert len(page_messages(rig.emulator, channel.id, user)) == 1
    assert await rig.dead.list() == []
    assert "status" not in await rig.readyz()


async def test_slack_answering_500_across_the_level_2_due_time(rig: Rig) -> None:
    alerted = time.monotonic()
    assert (await post_alert(rig.url, "flaky")).status_code == 202
    channel = await rig.emulator.wait_for_channel("inc-1-api-api-latency-high-flaky", timeout=15)
    await poll(lambda: dm_pages(rig.emulator, ALICE), 10, "level 1 DM with Slack up")
    await rig.emulator.fault("error", status=500)
    failing_from = time.monotonic()

    await poll(lambda: rig.pagerduty.triggers(2), LEVEL_2_AFTER_S + 5, "level 2 at PagerDuty")
    level2_at = rig.pagerduty.triggers(2)[0][0] - alerted
    assert LEVEL_2_AFTER_S - 1 <= level2_at <= LEVEL_2_AFTER_S + 3  # on time, Slack failing
    assert dm_pages(rig.emulator, BOB) == []
    await _sleep(FAIL_500_S - (time.monotonic() - failing_from))

    await rig.emulator.clear_faults()
    healed = time.monotonic()
    await poll(lambda: dm_pages(rig.emulator, BOB), 15, "level 2 DM within 15 s of recovery")
    dm_after = time.monotonic() - healed
    await poll(lambda: page_messages(rig.emulator, channel.id, BOB), 15, "level 2 channel page")
    print(f"\nSlack 500 for {FAIL_500_S:.0f} s: level 2 at PagerDuty {level2_at:.1f} s, DM {dm_after:.1f} s after")
    await _sleep(6)
    assert len(dm_pages(rig.emulator, BOB)) == 1 and len(dm_pages(rig.emulator, ALICE)) == 1
    assert len(rig.pagerduty.triggers(1)) == 1 and len(rig.pagerduty.triggers(2)) == 1
    await poll(lambda: _no_dead_letters(rig), 10, "an empty dead-letter set")


async def _degraded(rig: Rig) -> bool:
    body = await rig.readyz()
    return body.get("status") == "degraded" and "undelivered" in str(body.get("reason"))


async def _dead_letter_kinds(rig: Rig, kind: str) -> bool:
    return kind in {d.kind for d in await rig.dead.list()}


async def _no_dead_letters(rig: Rig) -> bool:
    return await rig.dead.list() == []


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(max(0.0, seconds))

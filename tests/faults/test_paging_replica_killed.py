"""Two `runbookctl serve` replicas; the one delivering level 2 is SIGKILLed mid-page: each target gets it once."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.connections import Redis
from bot.incidents.store import IncidentStore
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from tests.faults._paging import (
    ALICE,
    BOB,
    PagerDutyRecorder,
    SlackFaultProxy,
    bot_settings,
    dm_pages,
    free_port,
    page_messages,
    poll,
    post_alert,
    runbookctl,
    serve_env,
)

pytestmark = pytest.mark.slow


class Replica:
    """One `runbookctl serve` process with its own HTTP port and data folder; logs go to a file."""

    def __init__(self, name: str, settings: dict[str, Any], tmp_path: Path) -> None:
        self.name = name
        self.port = free_port()
        self.settings = {**settings, "http_port": self.port, "runbook_bot_data_dir": str(tmp_path / name)}
        self.log = tmp_path / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, emulator: SlackEmulator, connections: int) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *runbookctl("serve"), env=serve_env(self.settings), stdout=out, stderr=out, cwd=self.log.parent
            )
        await emulator.wait_for_connections(connections, timeout=30)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.kill()
            await self.proc.wait()


@pytest.fixture
async def rig(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    emulator = SlackEmulator()
    await emulator.start()
    proxy = SlackFaultProxy(emulator)
    await proxy.start()
    pagerduty = PagerDutyRecorder()
    await pagerduty.start()
    settings = bot_settings(
        emulator, proxy.api_url, pagerduty, redis_url=redis_url, redis_prefix=keys.prefix, log_format="json"
    )
    replicas = [Replica("a", settings, tmp_path), Replica("b", settings, tmp_path)]
    try:
        yield {"emulator": emulator, "proxy": proxy, "pagerduty": pagerduty, "replicas": replicas}
    finally:
        for replica in replicas:
            replica.kill()
            if replica.proc is not None:
                await replica.proc.wait()
        await proxy.stop()
        await pagerduty.stop()
        await emulator.stop()


async def test_replica_killed_while_its_level_2_page_is_in_flight(
    rig: dict[str, Any], redis: Redis, keys: Keys
) -> None:
    emulator: SlackEmulator = rig["emulator"]
    proxy: SlackFaultProxy = rig["proxy"]
    pagerduty: PagerDutyRecorder = rig["pagerduty"]
    a, b = rig["replicas"]
    await a.start(emulator, connections=1)
    assert (await post_alert(a.url, "kill")).status_code == 202
    channel = await emulator.wait_for_channel("inc-1-api-api-latency-high-kill", timeout=20)
    await poll(lambda: dm_pages(emulator, ALICE), 10, "level 1 DM")
    # Level 1 is a timer due at once, so its DM can beat the channel's header and evidence: let provisioning
    # finish before Slack's answers are held back, or it would hold up the level 2 channel page.
    incidents = IncidentStore(redis, keys)
    await poll(lambda: _provisioned(incidents), 20, "provisioning done")

    # Level 2 (due 15 s after the alert) is sent by replica a, whose answers are then held back: it
    # dies with the PagerDuty event, the DM and the channel page sent but not known to be sent.
    pagerduty.hold_s = 30
    proxy.hold(30, {"chat.postMessage"})
    await poll(lambda: pagerduty.triggers(2), 25, "level 2 event at PagerDuty")
    await poll(lambda: dm_pages(emulator, BOB), 10, "level 2 DM at Slack")
    await poll(lambda: page_messages(emulator, channel.id, BOB), 10, "level 2 channel page at Slack")
    a.kill()
    await a.proc.wait()
    pagerduty.hold_s = 0
    proxy.hold(0, set())

    await b.start(emulator, connections=1)
    store = IncidentStore(redis, keys)

    async def level_2_settled() -> bool:
        events = await store.read_timeline("INC-1")
        [page] = [e.data["page"] for e in events if e.summary.startswith("paging level 2")]
        outcomes = [e for e in events if e.data.get("page") == page and "outcome" in e.data]
        return len(outcomes) == 3

    # a's leases (10 s) must run out before b takes its deliveries over.
    await poll(level_2_settled, 40, "level 2 deliveries settled by replica b")
    await asyncio.sleep(3)
    assert len(dm_pages(emulator, BOB)) == 1
    assert len(page_messages(emulator, channel.id, BOB)) == 1
    assert len(dm_pages(emulator, ALICE)) == 1
    level2 = pagerduty.triggers(2)
    # PagerDuty cannot be asked whether it got the first event: b sends it again with the same dedup key,
    # which PagerDuty merges into the one open alert, so the on-call person is notified once.
    assert 1 <= len(level2) <= 2 and {e["dedup_key"] for _, e in level2} == {"INC-1"}
    assert {e["dedup_key"] for _, e in pagerduty.events} == {"INC-1"}
    # A repeat is the same event, byte for byte, and PagerDuty's dedup keeps it to the one open alert.
    level2_bodies = [
        b for b in pagerduty.trigger_bodies() if json.loads(b)["payload"]["custom_details"]["level"] == "2"
    ]
    assert len(set(level2_bodies)) == 1, level2_bodies
    assert pagerduty.notified == ["INC-1"]
    timeline = await store.read_timeline("INC-1")
    [page] = [e.data["page"] for e in timeline if e.summary.startswith("paging level 2")]
    notes = {e.data["medium"]: e.summary for e in timeline if e.data.get("page") == page and "outcome" in e.data}
    # b found a's DM and channel page in Slack's history instead of sending them again.
    assert "found delivered by an earlier attempt" in notes["dm"]
    assert "found delivered by an earlier attempt" in notes["post"]
    assert await DeadLetters(redis, keys).list() == []
    await b.stop()


async def _provisioned(store: IncidentStore) -> bool:
    return (await store.get_incident_or_raise("INC-1")).provisioned

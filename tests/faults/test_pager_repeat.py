"""The pager repeat window: the bot dies after PagerDuty took the event, before its sent marker landed.

PagerDuty cannot be asked whether it has an event, so the retry sends it again. It is the same event,
byte for byte (`event_action` trigger, `dedup_key` the incident id, the same summary), and PagerDuty
merges a trigger whose key has an open alert into that alert: one alert, one notification. The loopback
Events API here applies those rules (PagerDutyRecorder, tests/faults/_paging.py) and kills the bot the moment it has
accepted the event, before answering, so the bot never learns the event went through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.connections import Redis
from bot.incidents.store import IncidentStore
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from bot.sandbox.emulator import SlackEmulator
from tests.faults._paging import ALICE, PagerDutyRecorder, bot_settings, dm_pages, poll, post_alert
from tests.faults.test_paging_replica_killed import Replica

pytestmark = pytest.mark.slow


async def pager_job(store: IncidentStore, incident_id: str) -> str:
    """The level-1 page's PagerDuty delivery job id (also the key of its sent marker)."""
    events = await store.read_timeline(incident_id)
    [page] = [e.data["page"] for e in events if e.summary.startswith("paging level 1")]
    return f"dlv:{incident_id}:{page}:pager:pagerduty"


async def test_a_kill_between_the_pagers_accept_and_the_sent_marker_is_one_page_at_the_pager(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    emulator = SlackEmulator()
    await emulator.start()
    pagerduty = PagerDutyRecorder()
    await pagerduty.start()
    settings = bot_settings(
        emulator,
        emulator.api_url,
        pagerduty,
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        log_format="json",
    )
    a, b = Replica("a", settings, tmp_path), Replica("b", settings, tmp_path)
    accepted: list[dict[str, Any]] = []

    def kill_on_first_accept(event: dict[str, Any]) -> None:
        if not accepted:
            a.kill()  # SIGKILL now: the event is taken, the answer never reaches the bot
        accepted.append(event)

    pagerduty.on_accept = kill_on_first_accept
    store = IncidentStore(redis, keys)
    try:
        await a.start(emulator, connections=1)
        assert (await post_alert(a.url, "repeat")).status_code == 202
        await poll(lambda: accepted, 30, "the level-1 event at PagerDuty")
        assert a.proc is not None
        await a.proc.wait()
        job = await pager_job(store, "INC-1")
        # The window was hit: the pager has the event and Redis has no sent marker for it.
        assert not await redis.exists(keys.delivery_sent("INC-1", job))
        assert pagerduty.notified == ["INC-1"]

        await b.start(emulator, connections=1)
        # a's lease on the delivery (10 s) must run out before b retries it.
        await poll(lambda: redis.exists(keys.delivery_sent("INC-1", job)), 60, "the retried event's sent marker")

        (_, first), (_, retry) = pagerduty.triggers()
        raw = pagerduty.trigger_bodies()
        assert raw[0] == raw[1], "the retried event differs from the one PagerDuty took"
        assert (retry["event_action"], retry["dedup_key"]) == ("trigger", "INC-1")
        assert retry["payload"]["summary"] == first["payload"]["summary"]
        # One page at the pager: the repeat was merged into the open alert and notified nobody.
        assert pagerduty.notified == ["INC-1"]
        [alert] = pagerduty.alerts
        assert (alert.dedup_key, alert.status, alert.triggers) == ("INC-1", "triggered", 2)

        async def pager_outcomes() -> list[str]:
            timeline = await store.read_timeline("INC-1")
            return [e.data["outcome"] for e in timeline if e.data.get("medium") == "pager" and "outcome" in e.data]

        # The sent marker lands just before the delivery's timeline line: wait for the line, then count.
        await poll(pager_outcomes, 30, "the pager delivery's timeline line")
        assert await pager_outcomes() in (["delivered"], ["late"])  # one line for the delivery, not one per attempt
        await poll(lambda: dm_pages(emulator, ALICE), 30, "level 1 DM")
        assert len(dm_pages(emulator, ALICE)) == 1
        assert await DeadLetters(redis, keys).list() == []
        await b.stop()
    finally:
        for replica in (a, b):
            replica.kill()
            if replica.proc is not None:
                await replica.proc.wait()
        await pagerduty.stop()
        await emulator.stop()

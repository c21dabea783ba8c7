"""Many writers, several processes: one incident per group, each alert recorded once."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections import Counter
from pathlib import Path

from bot.alerts import Alert
from bot.connections import Redis, RedisTimeouts, make_client
from bot.incidents.models import EventType, Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys

WORKER = Path(__file__).with_name("alert_worker.py")
PATIENT = RedisTimeouts(socket_s=30.0, connect_s=30.0, pool_wait_s=30.0)
ROOT = Path(__file__).resolve().parents[3]


def alerts_for(groups: int, per_group: int) -> list[Alert]:
    return [
        Alert(
            source="alertmanager",
            name=f"Alert{g}",
            group_key=f'{{}}:{{alertname="Alert{g}"}}',
            fingerprint=f"g{g}-a{a}",
            title=f"group {g}",
            service=f"svc-{g}",
        )
        for g in range(groups)
        for a in range(per_group)
    ]


async def test_200_calls_over_10_groups_from_tasks_and_two_processes(
    redis: Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    alerts = alerts_for(groups=10, per_group=20)
    payload = tmp_path / "alerts.json"
    payload.write_text(json.dumps([a.model_dump(mode="json") for a in alerts]))
    # Two other processes send the whole batch too: every alert arrives three times, from three writers.
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), redis_url, keys.prefix, str(payload), cwd=str(ROOT)
        )
        for _ in range(2)
    ]
    shuffled = alerts[:]
    random.shuffle(shuffled)
    # These clients test the store's atomicity, not its deadlines: on a loaded machine a burst of new
    # connections can take longer than the bot's 2 s connect timeout, so they wait patiently.
    clients = [make_client(redis_url, timeouts=PATIENT) for _ in range(4)]
    stores = [IncidentStore(c, keys) for c in clients]
    await asyncio.gather(*(stores[i % 4].open_or_update(a) for i, a in enumerate(shuffled)))
    assert [await p.wait() for p in procs] == [0, 0]
    for c in clients:
        await c.aclose()

    store = IncidentStore(redis, keys)
    assert await redis.get(keys.incident_counter()) == "10"
    incidents = await store.list_open_incidents()
    assert len(incidents) == 10
    assert sorted(i.group_key or "" for i in incidents) == sorted({a.group_key for a in alerts})
    for incident in incidents:
        timeline = await store.read_timeline(incident.id)
        recorded = Counter(e.data["fingerprint"] for e in timeline if e.type is EventType.ALERT)
        assert len(recorded) == 20 and set(recorded.values()) == {1}, incident.id
        assert incident.alerts_firing == 20 and incident.status is Status.TRIGGERED
        assert [e.type for e in timeline].count(EventType.OPENED) == 1


async def test_concurrent_updates_never_lose_a_write(redis: Redis, keys: Keys) -> None:
    store = IncidentStore(redis, keys)
    incident = await store.create_incident("counter")

    def add_label(n: int):  # type: ignore[no-untyped-def]
        def mutate(i):  # type: ignore[no-untyped-def]
            i.labels = {**i.labels, f"k{n}": str(n)}

        return mutate

    await asyncio.gather(*(store.update_incident(incident.id, add_label(n)) for n in range(100)))
    final = await store.get_incident_or_raise(incident.id)
    assert len(final.labels) == 100
    assert final.version == 101

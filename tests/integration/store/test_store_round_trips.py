"""Round trips of the alert path against a real Redis, and the same outcomes on the stepwise (Cluster) path."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as sync_redis

from bot.alerts import Alert, AlertStatus
from bot.connections import Redis
from bot.escalation.timers import ArmRequest, TimerStore
from bot.incidents.models import Incident
from bot.incidents.store import Creation, IncidentStore
from bot.keys import Keys

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ON_CLUSTER = os.environ.get("RB_TEST_REDIS_CLUSTER") == "1"
# The short path's scripts cross hash slots: a Cluster never takes it (the stepwise cases still run there).
one_node_only = pytest.mark.skipif(ON_CLUSTER, reason="the one-node short path; a Cluster takes the stepwise path")


class CountingRedis(Redis):
    """The real client on the same pool, noting each command it sends (one command, one round trip)."""

    sent: list[str]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        return await super().execute_command(*args, **options)


def counting(redis: Redis) -> CountingRedis:
    client = CountingRedis(connection_pool=redis.connection_pool)
    client.sent = []
    return client


def alert(group: str = "g1", fp: str = "a1", status: AlertStatus = AlertStatus.FIRING) -> Alert:
    fields: dict[str, object] = {"source": "alertmanager", "name": "HighLatency", "group_key": group}
    fields |= {"fingerprint": fp, "title": "payment-service high latency", "status": status, "starts_at": T0}
    if status is AlertStatus.RESOLVED:
        fields["ends_at"] = T0 + timedelta(minutes=5)
    return Alert.model_validate(fields)


def arm_escalation(incident: Incident) -> Creation:
    """What the flows arm with a new incident: one timer, written in the creating script."""
    due = T0 + timedelta(minutes=5)
    return Creation(timers=[ArmRequest(f"esc:{incident.id}", due, "escalate", {"step": 0}, incident.id)])


@one_node_only
async def test_a_redelivery_is_one_round_trip_and_a_new_incident_two(redis: Redis, keys: Keys) -> None:
    client = counting(redis)
    store = IncidentStore(client, keys, clock=lambda: T0)
    await store.open_or_update(alert(group="warm-up"), arm_escalation)  # loads the scripts once
    await store.open_or_update(alert(group="warm-up"))
    # A new alert of an open group runs its own script; load it too, whatever ran on this server before.
    await store.open_or_update(alert(group="warm-up", fp="w2"))

    client.sent.clear()
    opened = await store.open_or_update(alert(), arm_escalation)
    assert opened.created and opened.incident is not None
    assert client.sent == ["EVALSHA", "EVALSHA"]

    client.sent.clear()
    again = await store.open_or_update(alert(), arm_escalation)
    assert client.sent == ["EVALSHA"]
    assert not again.recorded and again.incident is not None and again.incident.id == opened.incident.id

    client.sent.clear()
    second = await store.open_or_update(alert(fp="a2"))
    assert second.recorded and client.sent == ["EVALSHA", "EVALSHA"]

    # Everything the stepwise path wrote is there: indexes, group owner, the armed timer.
    incident_id = opened.incident.id
    assert incident_id in await redis.zrange(keys.incident_index(), 0, -1)
    assert await redis.sismember(keys.open_index(), incident_id)
    assert (await store.find_by_group("g1")) is not None
    timer = await TimerStore(redis, keys).get(f"esc:{incident_id}")
    assert timer is not None and timer.incident_id == incident_id


@pytest.mark.parametrize(
    "single_node", [pytest.param(True, id="one-node", marks=one_node_only), pytest.param(False, id="stepwise")]
)
async def test_both_paths_keep_one_incident_per_group_and_record_once(
    redis: Redis, keys: Keys, single_node: bool
) -> None:
    stores = [IncidentStore(redis, keys, clock=lambda: T0, single_node=single_node) for _ in range(3)]
    alerts = [alert(group=f"g{i % 4}", fp=f"a{i % 3}") for i in range(36)]
    outcomes = await asyncio.gather(*(stores[i % 3].open_or_update(a) for i, a in enumerate(alerts)))
    assert sum(o.created for o in outcomes) == 4
    assert sum(o.recorded for o in outcomes) == 12  # 4 groups x 3 fingerprints, each once
    assert len(await redis.smembers(keys.open_index())) == 4
    for g in range(4):
        owner = await stores[0].find_by_group(f"g{g}")
        assert owner is not None
        assert len(await redis.smembers(keys.alerts_seen(owner.id))) == 3

    resolved = await stores[0].open_or_update(alert(group="never-opened", status=AlertStatus.RESOLVED))
    assert resolved.incident is None and await stores[0].find_by_group("never-opened") is None


@one_node_only
async def test_a_claim_lost_before_the_create_leaves_no_orphan_and_retries(
    redis: Redis, keys: Keys, redis_url: str
) -> None:
    side = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    seen: list[str] = []

    def lose_the_claim_once(incident: Incident) -> Creation:
        seen.append(incident.id)
        if len(seen) == 1:
            side.delete(keys.group("g1"))  # the lease ran out while the incident was being built
        return Creation()

    store = IncidentStore(redis, keys, clock=lambda: T0)
    try:
        outcome = await store.open_or_update(alert(), lose_the_claim_once)
    finally:
        side.close()
    assert outcome.created and outcome.incident is not None
    assert seen == ["INC-1", "INC-2"] and outcome.incident.id == "INC-2"
    assert await store.get_incident("INC-1") is None  # nothing written under the lost claim
    assert await redis.zrange(keys.incident_index(), 0, -1) == ["INC-2"]
    owner = await store.find_by_group("g1")
    assert owner is not None and owner.id == "INC-2"

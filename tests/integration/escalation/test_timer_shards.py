"""Timers spread over shards: a claim takes from every shard fairly and comes back short only when nothing is left."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.connections import Redis
from bot.escalation.timers import ArmRequest, TimerStore
from bot.keys import Keys

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)


def ids_in_shard(keys: Keys, shard: int, count: int) -> list[str]:
    found = (f"t{n}" for n in range(100_000))
    return [i for i in found if keys.timer_shard(i) == shard][:count]


async def test_a_claim_shares_the_batch_between_busy_shards(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    busy = ids_in_shard(keys, 2, 100) + ids_in_shard(keys, 5, 100)
    await store.arm_many([ArmRequest(i, T0, "k", {}) for i in busy])
    claimed = await store.claim_due(T0, 20, lease_s=10)
    per_shard = Counter(keys.timer_shard(c.id) for c in claimed)
    # Equal shares but for the remainder of a division (which shard gets it rotates from claim to claim).
    assert set(per_shard) == {2, 5} and sum(per_shard.values()) == 20
    assert abs(per_shard[2] - per_shard[5]) <= 2
    assert len({c.token for c in claimed}) == 20


async def test_one_full_shard_is_drained_over_rounds_and_a_short_claim_means_empty(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    only = ids_in_shard(keys, 3, 45)
    await store.arm_many([ArmRequest(i, T0 - timedelta(seconds=n), "k", {}) for n, i in enumerate(only)])
    first = await store.claim_due(T0, 40, lease_s=10)
    assert len(first) == 40
    rest = await store.claim_due(T0, 40, lease_s=10)
    assert len(rest) == 5 and {c.id for c in first} | {c.id for c in rest} == set(only)
    assert await store.counts() == (0, 45)


async def test_the_soonest_due_is_found_in_any_shard(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    [late] = ids_in_shard(keys, 1, 1)
    [soon] = ids_in_shard(keys, 6, 1)
    await store.arm(late, T0 + timedelta(minutes=5), "k", {})
    await store.arm(soon, T0 + timedelta(minutes=1), "k", {})
    assert await store.next_due() == T0 + timedelta(minutes=1)
    assert await store.cancel(soon) and await store.next_due() == T0 + timedelta(minutes=5)

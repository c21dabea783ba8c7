"""The start-up migration from the unsharded timer layout: every timer moves once, nothing fires twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.connections import Redis
from bot.errors import ConfigError
from bot.escalation.scheduler import FiredTimer, SchedulerConfig, TimerScheduler
from bot.escalation.timer_migration import migrate_legacy_timers, migrate_timers
from bot.escalation.timers import TimerStore
from bot.keys import Keys
from tests.manual_clock import ManualClock


async def legacy_timer(redis: Redis, keys: Keys, timer_id: str, due: datetime, generation: str) -> None:
    """Write one timer the way the unsharded layout stored it."""
    group = keys.incident_timers("INC-1")
    record = {
        "id": timer_id,
        "due": due.timestamp(),
        "kind": "k",
        "payload": json.dumps({"n": timer_id}),
        "incident": "INC-1",
        "generation": generation,
        "token": "",
        "attempts": 0,
        "set": group,
    }
    await redis.hset(keys.legacy_timer(timer_id), mapping=record)  # type: ignore[arg-type]
    await redis.sadd(group, timer_id)


async def test_old_timers_move_into_shards_once_and_fire_once(redis: Redis, keys: Keys) -> None:
    # The migration reads the real clock (leases are compared with it); this test's times follow it.
    now = datetime.now(UTC)
    due = now - timedelta(seconds=5)
    for timer_id in "abcde":
        await legacy_timer(redis, keys, timer_id, due, f"gen-{timer_id}")
    await redis.zadd(keys.legacy_timers_due(), {"a": due.timestamp(), "d": due.timestamp(), "e": due.timestamp()})
    # b's lease ran out; c's is still held by an older replica.
    await redis.zadd(keys.legacy_timers_leased(), {"b": now.timestamp() - 1, "c": now.timestamp() + 60})
    # d already ran (its claimant finished after losing the lease); e was re-armed in shards already.
    await redis.set(keys.legacy_timer_fired("d", "gen-d"), "done")
    store = TimerStore(redis, keys)
    await store.arm("e", due, "k", {"n": "e-new"}, incident_id="INC-1")

    assert await migrate_timers(redis, keys) == 1  # c waits for its lease
    assert await migrate_timers(redis, keys) == 1  # a second start changes nothing
    assert await redis.zrange(keys.legacy_timers_leased(), 0, -1) == ["c"]
    assert not await redis.exists(keys.legacy_timer("a"), keys.legacy_timer("d"), keys.legacy_timer("e"))
    assert await store.counts() == (3, 0)  # a, b, e
    a = await store.get("a")
    assert a is not None and a.generation == "gen-a" and a.payload == {"n": "a"} and a.incident_id == "INC-1"

    later = await migrate_legacy_timers(redis, keys, now=now + timedelta(seconds=61))
    assert dict(later) == {"moved": 1}
    assert not await redis.exists(keys.legacy_timers_due(), keys.legacy_timers_leased())
    assert [r.id for r in await store.list_incident("INC-1")] == ["a", "b", "c", "e"]

    fired: list[tuple[str, str]] = []

    async def handler(t: FiredTimer) -> None:
        fired.append((t.id, t.payload["n"]))

    clock = ManualClock(now)
    scheduler = TimerScheduler(store, SchedulerConfig(lease_s=10), clock=clock.now, sleep=clock.sleep)
    scheduler.register("k", handler)
    await scheduler.start(ticking=False)
    assert await scheduler.pump() == 4
    await scheduler.drain()
    await scheduler.stop(timeout_s=1)
    assert sorted(fired) == [("a", "a"), ("b", "b"), ("c", "c"), ("e", "e-new")]
    assert await store.counts() == (0, 0)


async def test_a_changed_shard_count_is_refused_with_the_stored_one(redis: Redis, keys: Keys) -> None:
    assert await migrate_timers(redis, keys) == 0
    with pytest.raises(ConfigError, match="TIMER_SHARDS=8"):
        await migrate_timers(redis, Keys(keys.prefix, timer_shards=4))

"""TimerStore against a real Redis: arm, claim, complete, leases, cancel, concurrent claimers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.connections import Redis, make_client
from bot.escalation.timers import TimerStore
from bot.keys import Keys

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)


async def test_arm_claim_complete(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    await store.arm("a", T0, "escalate", {"level": 1}, incident_id="INC-1")
    await store.arm("b", T0 + timedelta(seconds=10), "escalate", {"level": 2}, incident_id="INC-1")
    assert await store.claim_due(T0 - timedelta(seconds=1), 10, 5) == []
    [claimed] = await store.claim_due(T0, 10, 5)
    assert (claimed.id, claimed.kind, claimed.payload, claimed.due_at) == ("a", "escalate", {"level": 1}, T0)
    assert claimed.incident_id == "INC-1" and claimed.attempts == 1
    assert await store.counts() == (1, 1)
    assert await store.complete("a", claimed.token, claimed.generation)
    assert await store.counts() == (1, 0)
    assert await store.get("a") is None
    assert await store.already_fired("a", claimed.generation)
    assert [r.id for r in await store.list_incident("INC-1")] == ["b"]


async def test_rearm_replaces_and_a_stale_claim_cannot_complete(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    first = await store.arm("a", T0, "k", {"v": 1})
    [old] = await store.claim_due(T0, 10, 5)
    second = await store.arm("a", T0 + timedelta(seconds=30), "k", {"v": 2})
    assert first != second
    assert not await store.complete("a", old.token, old.generation)
    record = await store.get("a")
    assert record is not None and record.payload == {"v": 2} and record.generation == second
    assert await store.counts() == (1, 0)
    # The stale run still marked its own arming done, which never blocks the new one.
    assert not await store.already_fired("a", second)


async def test_expired_lease_goes_back_at_its_original_due_time(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    await store.arm("a", T0, "k", {})
    [first] = await store.claim_due(T0, 10, lease_s=2)
    assert await store.requeue_expired_leases(T0 + timedelta(seconds=1.9)) == 0
    assert await store.requeue_expired_leases(T0 + timedelta(seconds=2)) == 1
    assert await store.next_due() == T0
    [second] = await store.claim_due(T0 + timedelta(seconds=2), 10, lease_s=2)
    assert second.token != first.token and second.attempts == 2
    assert not await store.complete("a", first.token, first.generation)
    assert await store.complete("a", second.token, second.generation)


async def test_extend_keeps_a_live_claim(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    await store.arm("a", T0, "k", {})
    [held] = await store.claim_due(T0, 10, lease_s=2)
    assert await store.extend("a", held.token, T0 + timedelta(seconds=1.5), lease_s=2)
    assert await store.requeue_expired_leases(T0 + timedelta(seconds=3)) == 0
    assert not await store.extend("a", "someone-else", T0, lease_s=2)


async def test_retry_puts_it_back_later(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    await store.arm("a", T0, "k", {})
    [held] = await store.claim_due(T0, 10, lease_s=5)
    assert await store.retry("a", held.token, T0 + timedelta(seconds=7))
    assert await store.claim_due(T0 + timedelta(seconds=6), 10, 5) == []
    [again] = await store.claim_due(T0 + timedelta(seconds=7), 10, 5)
    assert again.attempts == 2


async def test_cancel_and_cancel_incident(redis: Redis, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    for n in range(3):
        await store.arm(f"esc:INC-1:{n}", T0, "escalate", {}, incident_id="INC-1")
    await store.arm("remind:INC-1:status", T0, "remind.status", {}, incident_id="INC-1")
    await store.arm("esc:INC-2:0", T0, "escalate", {}, incident_id="INC-2")
    [_claimed, *_] = await store.claim_due(T0, 1, 5)  # a leased timer is cancelled too
    assert await store.cancel_incident("INC-1", "esc:INC-1:") == 3
    assert [r.id for r in await store.list_incident("INC-1")] == ["remind:INC-1:status"]
    assert await store.cancel("remind:INC-1:status")
    assert not await store.cancel("remind:INC-1:status")
    assert await store.counts() == (1, 0)


async def test_concurrent_claimers_never_share_a_timer(redis: Redis, redis_url: str, keys: Keys) -> None:
    store = TimerStore(redis, keys)
    for n in range(1000):
        await store.arm(f"t{n}", T0, "k", {})
    clients = [make_client(redis_url) for _ in range(8)]
    try:
        claimers = [TimerStore(c, keys) for c in clients]

        async def drain(s: TimerStore) -> list[str]:
            got: list[str] = []
            while batch := await s.claim_due(T0, 37, 30):
                got += [t.id for t in batch]
            return got

        results = await asyncio.gather(*(drain(s) for s in claimers))
    finally:
        for c in clients:
            await c.aclose()
    every = [i for r in results for i in r]
    assert len(every) == 1000 and set(every) == {f"t{n}" for n in range(1000)}
    assert sum(1 for r in results if r) > 1

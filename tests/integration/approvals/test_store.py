"""The approval store's Lua scripts against real Redis: four-eyes, expiry and the one execution claim."""

from __future__ import annotations

import asyncio

from bot.approvals.models import Approval, ApprovalKind, ApprovalStatus
from bot.approvals.store import ApprovalStore
from bot.connections import Redis
from bot.keys import Keys
from bot.policy.rules import ActionRateLimit


def request(**fields: object) -> Approval:
    base: dict[str, object] = {
        "id": "req1",
        "incident_id": "INC-7",
        "kind": ApprovalKind.STEP,
        "runbook_id": "rb",
        "step_id": "purge",
        "name": "Purge",
        "environment": "prod",
        "service": "api",
        "what_runs": "purge",
        "action": {"type": "notify", "config": {}},
        "params_hash": "h1",
        "approvers": [],
        "required": 1,
        "requester": "U0ALICE001",
        "exclude_requester": True,
        "irreversible": True,
        "trust": "approval",
        "created_at": 1000.0,
        "expires_at": 1120.0,
    }
    return Approval(**{**base, **fields})  # type: ignore[arg-type]


async def test_four_eyes_needs_two_distinct_approvers_and_never_the_requester(redis: Redis, keys: Keys) -> None:
    store = ApprovalStore(redis, keys)
    a = request(required=2)
    await store.create([a])
    assert (await store.record_approval(a, "U0ALICE001", 1001)).code == "self"
    assert (await store.record_approval(a, "U0BOB00001", 1002)).code == "waiting"
    assert (await store.record_approval(a, "U0BOB00001", 1003)).code == "same"
    recorded = await store.record_approval(a, "U0CAROL001", 1004)
    assert recorded.code == "now_approved" and recorded.approved_by == ["U0BOB00001", "U0CAROL001"]
    assert (await store.record_approval(a, "U0DAVE0001", 1005)).code == "approved"


async def test_expired_requests_neither_approve_nor_claim(redis: Redis, keys: Keys) -> None:
    store = ApprovalStore(redis, keys)
    a, b = request(id="late1", exclude_requester=False), request(id="late2", exclude_requester=False)
    await store.create([a, b])
    assert (await store.record_approval(a, "U0BOB00001", 1120.0)).code == "expired"
    assert (await store.record_approval(b, "U0BOB00001", 1100.0)).code == "now_approved"
    assert await store.claim_execution(b, "me", 1121.0) == "expired"
    assert (await store.get(b.incident_id, b.id)).status is ApprovalStatus.EXPIRED  # type: ignore[union-attr]
    assert not await store.expire(a.incident_id, a.id, 2000.0)  # already expired by the click


async def test_one_claim_wins_among_many_concurrent_claimants(redis: Redis, keys: Keys) -> None:
    store = ApprovalStore(redis, keys)
    a = request(exclude_requester=False)
    await store.create([a])
    await store.record_approval(a, "U0BOB00001", 1001)
    codes = await asyncio.gather(*(store.claim_execution(a, f"owner{n}", 1002) for n in range(100)))
    assert codes.count("ok") == 1 and set(codes) - {"ok"} <= {"claimed", "executing"}
    assert await redis.exists(keys.execution("INC-7", "x")) == 0  # the marker lives under the bound key only


async def test_rate_limit_counts_one_slot_per_approval(redis: Redis, keys: Keys) -> None:
    rate = ActionRateLimit(redis, keys)
    assert (await rate.take("api", "notify", 2, "a", 10.0)).allowed
    assert (await rate.take("api", "notify", 2, "a", 11.0)).allowed  # the same approval again: no new slot
    assert (await rate.take("api", "notify", 2, "b", 12.0)).used == 2
    assert not (await rate.take("api", "notify", 2, "c", 13.0)).allowed
    assert (await rate.take("api", "notify", 2, "c", 3700.0)).allowed  # the hour moved on

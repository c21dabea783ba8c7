"""The execution record against real Redis with an injected clock: claim, renew, lapse, settle once, lease loss."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.approvals.executions import ExecutionStore, Owner, claim_fields
from bot.approvals.lease import StepLease
from bot.approvals.localproc import ProcessId
from bot.approvals.models import ApprovalStatus
from bot.approvals.store import ApprovalStore
from bot.connections import Redis, make_client
from bot.keys import Keys
from tests.integration.approvals.test_store import request
from tests.manual_clock import ManualMonotonicClock

OWNER = Owner("replica-a", "boot:1", ProcessId(4242, 777))
LEASE_S = 30.0


async def claimed(
    redis: Redis, keys: Keys, clock: ManualMonotonicClock, approval_id: str = "run1"
) -> tuple[ApprovalStore, str]:
    store = ApprovalStore(redis, keys)
    a = request(id=approval_id, exclude_requester=False, expires_at=clock.now() + 120)
    await store.create([a])
    assert (await store.record_approval(a, "U0BOB00001", clock.now())).code == "now_approved"
    executions = ExecutionStore(redis, keys)
    await executions.enlist(a.incident_id, a.id, clock.now() + LEASE_S)
    fields = claim_fields(OWNER, clock.now(), LEASE_S, timeout_s=300)
    assert await store.claim_execution(a, OWNER.replica, clock.now(), fields) == "ok"
    return store, a.incident_id


async def test_claim_writes_the_lease_and_owner_with_the_status(redis: Redis, keys: Keys) -> None:
    clock = ManualMonotonicClock(1000.0)
    await claimed(redis, keys, clock)
    record = await ExecutionStore(redis, keys).get("INC-7", "run1")
    assert record is not None
    assert (record.status, record.owner, record.lease_until) == ("executing", "replica-a", 1030.0)
    assert record.scope == "boot:1" and record.owner_process == ProcessId(4242, 777)
    assert [r.member for r in await ExecutionStore(redis, keys).due(1030.0)] == ["INC-7/run1"]


async def test_renewal_keeps_it_alive_and_only_a_lapsed_lease_settles_once(redis: Redis, keys: Keys) -> None:
    clock = ManualMonotonicClock(1000.0)
    store, incident = await claimed(redis, keys, clock)
    executions = ExecutionStore(redis, keys)
    assert await executions.settle_lost(incident, "run1", 1029.9, "", "lost") == "alive"
    assert await executions.renew(incident, "run1", "replica-b", 1060.0) == "stolen"
    assert await executions.renew(incident, "run1", OWNER.replica, 1050.0) == "ok"
    assert await executions.due(1049.0) == []  # the renewal moved its index entry too
    assert await executions.settle_lost(incident, "run1", 1049.0, "", "lost") == "alive"
    codes = await asyncio.gather(*(executions.settle_lost(incident, "run1", 1050.0, "", "lost") for _ in range(20)))
    assert codes.count("settled") == 1 and set(codes) == {"settled", "unknown"}
    assert await executions.renew(incident, "run1", OWNER.replica, 1080.0) == "unknown"
    approval = await store.get(incident, "run1")
    assert approval is not None and approval.status is ApprovalStatus.UNKNOWN and approval.result == "lost"


async def test_a_known_dead_owner_settles_before_its_lease_lapses(redis: Redis, keys: Keys) -> None:
    clock = ManualMonotonicClock(1000.0)
    _, incident = await claimed(redis, keys, clock)
    executions = ExecutionStore(redis, keys)
    assert await executions.settle_lost(incident, "run1", 1001.0, "replica-b", "x") == "alive"
    assert await executions.settle_lost(incident, "run1", 1001.0, OWNER.replica, "owner died") == "settled"


async def test_notice_is_claimed_by_one_at_a_time_and_lapses(redis: Redis, keys: Keys) -> None:
    clock = ManualMonotonicClock(1000.0)
    _, incident = await claimed(redis, keys, clock)
    executions = ExecutionStore(redis, keys)
    assert await executions.claim_notice(incident, "run1", 1001.0, 60) == "executing"
    await executions.settle_lost(incident, "run1", 1031.0, "", "lost")
    codes = await asyncio.gather(*(executions.claim_notice(incident, "run1", 1031.0, 60) for _ in range(10)))
    assert codes.count("ok") == 1 and set(codes) == {"ok", "busy"}
    assert await executions.claim_notice(incident, "run1", 1092.0, 60) == "ok"  # the first claimant died
    await executions.mark(incident, "run1", noticed="1")
    assert await executions.claim_notice(incident, "run1", 2000.0, 60) == "noticed"


async def test_a_lease_the_record_no_longer_grants_cancels_the_step(redis: Redis, keys: Keys) -> None:
    clock = ManualMonotonicClock(1000.0)
    _, incident = await claimed(redis, keys, clock)
    executions = ExecutionStore(redis, keys)
    step = asyncio.create_task(asyncio.sleep(3600))
    lease = StepLease(executions, OWNER, incident, "run1", LEASE_S, clock.now, step)
    clock.advance(10)  # to 1010
    assert await lease.renew_once() and lease.held_until == 1040.0
    clock.advance(31)  # to 1041
    assert await executions.settle_lost(incident, "run1", clock.now(), "", "lost") == "settled"
    assert not await lease.renew_once()
    with pytest.raises(asyncio.CancelledError):
        await step
    assert "unknown" in lease.lost


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_store_stops_the_step_before_the_lease_can_lapse(keys: Keys) -> None:
    clock = ManualMonotonicClock(1000.0)
    dead = make_client(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        step = asyncio.create_task(asyncio.sleep(3600))
        lease = StepLease(ExecutionStore(dead, keys), OWNER, "INC-7", "run1", LEASE_S, clock.now, step)
        clock.advance(5)  # to 1005, a failed renewal with two more chances before 1030: keep going
        assert await lease.renew_once() and not step.cancelled()
        clock.advance(16)  # to 1021, the next try would come after the lease lapsed: stop now
        assert not await lease.renew_once()
        with pytest.raises(asyncio.CancelledError):
            await step
        assert "lapsed" in lease.lost
    finally:
        await dead.aclose()

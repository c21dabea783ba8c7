"""The provisioning guard retries with capped backoff, shows a dead letter past the threshold, clears it when done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.connections import Redis
from bot.escalation.timers import TimerStore
from bot.incidents.provision import PROVISION_TIMER, ProvisionGuard, provision_timer_id
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def test_failures_back_off_to_the_cap_then_dead_letter_until_done(redis: Redis, keys: Keys) -> None:
    timers = TimerStore(redis, keys)
    backoff = Backoff(base_s=1.0, cap_s=10.0, jitter=0.0)
    now = [T0]
    guard = ProvisionGuard(redis, keys, timers, backoff=backoff, dead_letter_after=3, clock=lambda: now[0])
    dead = DeadLetters(redis, keys)
    dues = []
    for failures in range(1, 7):
        await guard.failed("INC-9", failures, "Slack could not be reached")
        record = await timers.get(provision_timer_id("INC-9"))
        assert record is not None and record.kind == PROVISION_TIMER
        # The first failure's time rides along, so the dead-letter entry can say since when it fails.
        assert record.payload == {"failures": failures, "first_failed_at": T0.isoformat()}
        dues.append((record.due_at - now[0]).total_seconds())
        assert [d.job_id for d in await dead.list()] == ([provision_timer_id("INC-9")] if failures >= 3 else [])
        now[0] = record.due_at
    assert dues == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]  # keeps going at the cap: never dropped
    [entry] = await dead.list()
    assert entry.attempts == 6 and entry.incident_id == "INC-9" and entry.since == T0.isoformat()
    assert entry.last_failure == (T0 + timedelta(seconds=25)).isoformat()  # the sixth failure: 1+2+4+8+10 s on

    await guard.done("INC-9")
    assert await timers.get(provision_timer_id("INC-9")) is None
    assert await dead.list() == []


async def test_the_creation_timer_is_due_after_the_retry_window(redis: Redis, keys: Keys) -> None:
    guard = ProvisionGuard(redis, keys, TimerStore(redis, keys), retry_after=timedelta(seconds=60), clock=lambda: T0)
    request = guard.arm_request("INC-3")
    assert (request.timer_id, request.kind, request.incident_id) == ("provision:INC-3", PROVISION_TIMER, "INC-3")
    assert request.due_at == T0 + timedelta(seconds=60)

"""Page deliveries as durable jobs: backoff, sent markers, dead letters, late delivery, atomic arming.

The handler is driven directly from the stored timer records with an injected clock, so no test
waits for real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import metrics
from bot.alerts import Alert, AlertStatus, Severity
from bot.connections import Redis
from bot.errors import UpstreamError
from bot.escalation.deliveries import (
    Delivery,
    DeliveryConfig,
    Medium,
    PageDeliveries,
    Undeliverable,
    Waiting,
    delivery_timers,
    plan_deliveries,
)
from bot.escalation.policy import PageTarget, TargetKind
from bot.escalation.scheduler import FiredTimer
from bot.escalation.timers import ArmRequest, TimerStore
from bot.incidents.models import EventType, Incident, Status, TimelineEvent
from bot.incidents.pages import PageRecorder
from bot.incidents.store import Creation, IncidentStore
from bot.jobs.backoff import Backoff
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from tests.manual_clock import ManualClock

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ALICE = PageTarget(TargetKind.USER, "U01ALICE")
PD = PageTarget(TargetKind.PAGER, "pagerduty")


class FlakyPort:
    """Fails the first `failures` sends with `error`, then succeeds; counts every call."""

    def __init__(self, failures: int = 0, error: Exception | None = None, found: bool = False) -> None:
        self.failures = failures
        self.error = error or UpstreamError("Slack chat.postMessage failed: connection refused")
        self.found = found
        self.sent: list[tuple[str, bool]] = []
        self.calls = 0
        self.checked = 0

    async def deliver(self, delivery: Delivery, incident: Incident, late: bool) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.sent.append((delivery.job_id, late))
        return "sent"

    async def already_delivered(self, delivery: Delivery, incident: Incident) -> bool:
        self.checked += 1
        return self.found


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(redis: Redis, keys: Keys, clock: ManualClock) -> IncidentStore:
    return IncidentStore(redis, keys, clock=clock.now)


@pytest.fixture
def timers(redis: Redis, keys: Keys) -> TimerStore:
    return TimerStore(redis, keys)


def runner(store: IncidentStore, timers: TimerStore, port: FlakyPort, clock: ManualClock) -> PageDeliveries:
    config = DeliveryConfig(backoff=Backoff(base_s=1.0, cap_s=8.0, jitter=0.0), dead_letter_after=3, late_after_s=30)
    return PageDeliveries(store, timers, port, config=config, clock=clock.now)


async def arm_dm(timers: TimerStore, incident_id: str) -> Delivery:
    [dm] = [d for d in plan_deliveries(incident_id, "run1-001", 1, [ALICE], "level 1", T0) if d.medium is Medium.DM]
    await timers.arm_many(delivery_timers([dm], T0))
    return dm


async def fire(timers: TimerStore, job_id: str, clock: ManualClock, attempt: int = 1) -> FiredTimer:
    record = await timers.get(job_id)
    assert record is not None, f"{job_id} is not armed"
    return FiredTimer(
        record.id,
        record.kind,
        record.payload,
        record.due_at,
        clock.now(),
        record.incident_id,
        record.generation,
        attempt,
        False,
    )


async def test_a_failing_dm_backs_off_dead_letters_then_arrives_late_and_leaves_the_set(
    store: IncidentStore, timers: TimerStore, clock: ManualClock, redis: Redis, keys: Keys
) -> None:
    incident = await store.create_incident("checkout errors")
    port = FlakyPort(failures=4)
    deliveries = runner(store, timers, port, clock)
    dm = await arm_dm(timers, incident.id)
    dead = DeadLetters(redis, keys)
    dues = []
    for _ in range(4):
        await deliveries.handle_deliver(await fire(timers, dm.job_id, clock))
        record = await timers.get(dm.job_id)
        assert record is not None
        due_in = (record.due_at - clock.now()).total_seconds()
        dues.append(due_in)
        await clock.advance(due_in)
    assert dues == [1.0, 2.0, 4.0, 8.0]  # exponential, then capped at 8
    [entry] = await dead.list()
    assert entry.job_id == dm.job_id and entry.attempts == 4 and "connection refused" in entry.reason
    assert metrics.DEAD_LETTERS._value.get() == 1  # type: ignore[attr-defined]
    assert "1 undelivered job(s)" in (await dead.readiness() or "")

    await deliveries.handle_deliver(await fire(timers, dm.job_id, clock))
    assert port.sent == [(dm.job_id, False)]  # 15 s after the page: not yet late at 30 s
    assert await dead.list() == [] and await dead.readiness() is None
    outcomes = [e.data.get("outcome") for e in await store.read_timeline(incident.id) if e.type is EventType.ESCALATION]
    assert outcomes == ["dead_lettered", "delivered"]  # one line per outcome, none per attempt


async def test_delivery_after_the_late_threshold_is_marked_late(
    store: IncidentStore, timers: TimerStore, clock: ManualClock
) -> None:
    incident = await store.create_incident("checkout errors")
    port = FlakyPort()
    dm = await arm_dm(timers, incident.id)
    await clock.advance(5 * 60)  # to T0 + 5 minutes
    await runner(store, timers, port, clock).handle_deliver(await fire(timers, dm.job_id, clock))
    assert port.sent == [(dm.job_id, True)]
    [event] = [e for e in await store.read_timeline(incident.id) if e.type is EventType.ESCALATION]
    assert event.data["outcome"] == "late" and "late: paged at 12:00:00 UTC" in event.summary


async def test_the_sent_marker_stops_a_second_run_and_a_rerun_checks_the_destination_first(
    store: IncidentStore, timers: TimerStore, clock: ManualClock
) -> None:
    incident = await store.create_incident("checkout errors")
    port = FlakyPort()
    deliveries = runner(store, timers, port, clock)
    dm = await arm_dm(timers, incident.id)
    fired = await fire(timers, dm.job_id, clock)
    await deliveries.handle_deliver(fired)
    await deliveries.handle_deliver(fired)  # the same claim run twice (a lease that ran out)
    assert port.calls == 1

    other = FlakyPort(found=True)
    [post] = [d for d in plan_deliveries(incident.id, "run1-002", 2, [ALICE], "level 2", T0) if d.medium is Medium.POST]
    await timers.arm_many(delivery_timers([post], T0))
    # Re-claimed after its first holder died: the port is asked whether that holder's send got through.
    await runner(store, timers, other, clock).handle_deliver(await fire(timers, post.job_id, clock, attempt=2))
    assert other.checked == 1 and other.calls == 0


async def test_waiting_for_the_channel_polls_quickly_and_a_closed_incident_abandons_visibly(
    store: IncidentStore, timers: TimerStore, clock: ManualClock, redis: Redis, keys: Keys
) -> None:
    incident = await store.create_incident("checkout errors")
    port = FlakyPort(failures=100, error=Waiting("the incident channel is not created yet"))
    deliveries = runner(store, timers, port, clock)
    [post] = [d for d in plan_deliveries(incident.id, "run1-001", 1, [ALICE], "r", T0) if d.medium is Medium.POST]
    await timers.arm_many(delivery_timers([post], T0))
    for _ in range(6):
        await deliveries.handle_deliver(await fire(timers, post.job_id, clock))
        record = await timers.get(post.job_id)
        assert record is not None and record.due_at - clock.now() == timedelta(seconds=1)
        assert record.payload["failures"] == 0  # waiting for provisioning is not this delivery failing
        await clock.advance(1)
    # Provisioning is dead-lettered when it fails; the post waiting on it is not counted twice.
    assert await DeadLetters(redis, keys).list() == []
    await DeadLetters(redis, keys).add(post.job_id, incident.id, "deliver", "stale", T0, 9)
    for status in (Status.RESOLVED, Status.CLOSED):
        await store.transition(incident.id, status, "U01ALICE")
    await deliveries.handle_deliver(await fire(timers, post.job_id, clock))
    assert await DeadLetters(redis, keys).list() == []
    last = [e for e in await store.read_timeline(incident.id) if e.type is EventType.ESCALATION][-1]
    assert last.data["outcome"] == "abandoned" and "incident is closed" in last.summary


async def test_a_page_and_its_deliveries_are_recorded_once(
    store: IncidentStore, timers: TimerStore, keys: Keys
) -> None:
    incident = await store.create_incident("checkout errors")
    recorder = PageRecorder(store)
    planned = plan_deliveries(incident.id, "run1-002", 2, [ALICE, PD], "level 2", T0)
    assert [d.medium for d in planned] == [Medium.PAGER, Medium.DM, Medium.POST]

    def check(i: Incident) -> TimelineEvent:
        return TimelineEvent(EventType.ESCALATION, i.id, "paging level 2")

    first = await recorder.record_page(incident.id, "run1-002", check, ["U01ALICE"], delivery_timers(planned, T0))
    again = await recorder.record_page(incident.id, "run1-002", check, ["U01ALICE"], delivery_timers(planned, T0))
    assert first is not None and again is None
    armed = await timers.list_incident(incident.id)
    assert sorted(r.id for r in armed) == sorted(d.job_id for d in planned)
    assert {r.due_at for r in armed} == {T0}  # all due at once: none waits on another
    pages = [e for e in await store.read_timeline(incident.id) if e.summary == "paging level 2"]
    assert len(pages) == 1
    assert await store.redis.smembers(keys.incident_paged(incident.id)) == {"U01ALICE"}


async def test_a_new_incident_is_written_with_its_timers(store: IncidentStore, timers: TimerStore) -> None:
    alert = Alert(
        source="alertmanager",
        name="ApiDown",
        title="API down",
        status=AlertStatus.FIRING,
        severity=Severity.P1,
        group_key="g-api",
        fingerprint="fp-1",
        service="api",
    )

    def on_create(incident: Incident) -> Creation:
        incident.escalation_armed = True
        return Creation(timers=[ArmRequest(f"esc:{incident.id}:x:001", T0, "escalate", {"level": 1}, incident.id)])

    outcome = await store.open_or_update(alert, on_create)
    assert outcome.created and outcome.incident is not None
    [armed] = await timers.list_incident(outcome.incident.id)
    assert armed.id == f"esc:{outcome.incident.id}:x:001" and armed.due_at == T0
    assert await timers.next_due() == T0
    stored = await store.get_incident_or_raise(outcome.incident.id)
    assert stored.escalation_armed


async def test_a_refused_pager_event_becomes_a_channel_warning_job(
    store: IncidentStore, timers: TimerStore, clock: ManualClock
) -> None:
    incident = await store.create_incident("checkout errors")
    port = FlakyPort(failures=1, error=Undeliverable("PagerDuty answered HTTP 400: Invalid routing key"))
    deliveries = runner(store, timers, port, clock)
    [event, _post] = plan_deliveries(incident.id, "run1-001", 1, [PD], "level 1", T0)
    await timers.arm_many(delivery_timers([event], T0))
    await deliveries.handle_deliver(await fire(timers, event.job_id, clock))
    notice = f"dlv:{incident.id}:run1-001:notice:pagerduty"
    assert notice in [
        r.id for r in await timers.list_incident(incident.id)
    ]  # (the pager's own timer is the scheduler's to complete)
    await deliveries.handle_deliver(await fire(timers, notice, clock))
    [sent] = port.sent
    assert sent == (notice, False)
    outcomes = [e.data["outcome"] for e in await store.read_timeline(incident.id) if "outcome" in e.data]
    assert outcomes == ["undeliverable", "delivered"]

"""Escalations and reminders end to end over a real Redis, the incident store and a scheduler on a manual clock.

Time moves only when a test says so (`run_for`), so policies use real-sized waits (minutes) and
no test sleeps through a window.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import Severity
from bot.connections import Redis
from bot.escalation.deliveries import Delivery, Medium
from bot.escalation.engine import Escalator
from bot.escalation.loader import EscalationConfig
from bot.escalation.policy import PageTarget, PolicyBook
from bot.escalation.reminders import ReminderKind, Reminders
from bot.escalation.scheduler import SchedulerConfig, TimerScheduler
from bot.escalation.timers import TimerStore
from bot.incidents.models import EventType, Incident, Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from tests.manual_clock import ManualClock, run_for

WAIT_MIN = 5.0
WAIT_S = WAIT_MIN * 60
BOOK = PolicyBook.model_validate(
    {
        "default": "two-levels",
        "policies": {
            "two-levels": {
                "levels": [
                    {"targets": [{"user": "U01ALICE"}], "wait_minutes": WAIT_MIN},
                    {"targets": [{"user": "U02BOB"}, {"pager": "pagerduty"}], "wait_minutes": WAIT_MIN},
                ],
                "severity_rules": [{"severity": "P1", "also_page": [{"user": "U06MIA"}]}],
            }
        },
    }
)


class RecordingPager:
    """A real DeliveryPort that remembers every delivery; a page is known by its channel post."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.pages: list[tuple[str, int, tuple[PageTarget, ...], str]] = []

    async def deliver(self, delivery: Delivery, incident: Incident, late: bool) -> str:
        self.deliveries.append(delivery)
        if delivery.medium is Medium.POST:
            self.pages.append((incident.id, delivery.level, delivery.targets, delivery.reason))
        return "recorded"

    async def already_delivered(self, delivery: Delivery, incident: Incident) -> bool:
        return False

    def levels(self) -> list[int]:
        return [p[1] for p in self.pages]


class RecordingReminder:
    """A real Reminder that remembers every reminder."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ReminderKind, str]] = []

    async def remind(self, incident: Incident, kind: ReminderKind, reason: str) -> None:
        self.sent.append((incident.id, kind, reason))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def pager() -> RecordingPager:
    return RecordingPager()


@pytest.fixture
def store(redis: Redis, keys: Keys, clock: ManualClock) -> IncidentStore:
    return IncidentStore(redis, keys, clock=clock.now)


@pytest.fixture
def timers(redis: Redis, keys: Keys) -> TimerStore:
    return TimerStore(redis, keys)


@pytest.fixture
async def scheduler(timers: TimerStore, clock: ManualClock) -> AsyncIterator[TimerScheduler]:
    s = TimerScheduler(timers, SchedulerConfig(lease_s=10), clock=clock.now, sleep=clock.sleep)
    await s.start(ticking=False)
    yield s
    await s.stop(timeout_s=1)


@pytest.fixture
async def escalator(
    store: IncidentStore, timers: TimerStore, pager: RecordingPager, scheduler: TimerScheduler, clock: ManualClock
) -> Escalator:
    esc = Escalator(store, timers, EscalationConfig(BOOK, {}), pager, clock=clock.now)
    esc.register(scheduler)
    return esc


async def test_no_ack_pages_every_level_in_order(
    escalator: Escalator,
    store: IncidentStore,
    pager: RecordingPager,
    scheduler: TimerScheduler,
    clock: ManualClock,
) -> None:
    incident = await store.create_incident("checkout errors", service="payment-service")
    await escalator.start_escalation(incident)
    await run_for(scheduler, clock, WAIT_S - 1)
    assert pager.levels() == [1]
    await run_for(scheduler, clock, 1)
    assert pager.levels() == [1, 2]
    assert [t.id for t in pager.pages[1][2]] == ["U02BOB", "pagerduty"]
    timeline = await store.read_timeline(incident.id)
    pages = [e for e in timeline if e.type is EventType.ESCALATION and e.summary.startswith("paging level")]
    assert len(pages) == 2 and "level 2" in pages[1].summary
    mediums = sorted((d.level, d.medium.value, d.target) for d in pager.deliveries)
    assert mediums == [
        (1, "dm", "U01ALICE"),
        (1, "post", "channel"),
        (2, "dm", "U02BOB"),
        (2, "pager", "pagerduty"),
        (2, "post", "channel"),
    ]
    audit = await store.read_audit(incident.id)
    assert [a.step for a in audit if a.action == "escalation.page"] == ["level-1", "level-2"]


async def test_ack_during_the_wait_means_the_next_level_is_never_paged(
    escalator: Escalator,
    store: IncidentStore,
    pager: RecordingPager,
    timers: TimerStore,
    scheduler: TimerScheduler,
    clock: ManualClock,
) -> None:
    incident = await store.create_incident("checkout errors")
    await escalator.start_escalation(incident)
    await run_for(scheduler, clock, 0)
    assert pager.levels() == [1]
    [pending] = await escalator.pending_pages(incident.id)
    assert pending.level == 2 and [t.id for t in pending.targets] == ["U02BOB", "pagerduty"]
    result = await escalator.acknowledge(incident.id, "U01ALICE")
    assert result.by_paged_target and result.cancelled == 1 and not result.already_acknowledged
    assert result.incident.status is Status.ACKNOWLEDGED and result.incident.acknowledged_by == "U01ALICE"
    await run_for(scheduler, clock, 3 * WAIT_S, step_s=30)
    assert pager.levels() == [1]
    assert await escalator.pending_pages(incident.id) == []
    assert await timers.counts() == (0, 0)


async def test_ack_committed_before_a_due_page_stops_it_even_if_timers_survive(
    escalator: Escalator,
    store: IncidentStore,
    pager: RecordingPager,
    timers: TimerStore,
    scheduler: TimerScheduler,
    clock: ManualClock,
) -> None:
    incident = await store.create_incident("checkout errors")
    await escalator.start_escalation(incident)
    await run_for(scheduler, clock, 0)
    assert pager.levels() == [1]
    # An ack through another path that does not cancel timers: the page's compare-and-set refuses.
    await store.transition(incident.id, Status.ACKNOWLEDGED, "U01ALICE")
    await run_for(scheduler, clock, 3 * WAIT_S, step_s=30)
    assert pager.levels() == [1]
    assert await timers.counts() == (0, 0)  # the surviving timers fired and changed nothing


async def test_ack_by_someone_not_paged_is_recorded_as_such(
    escalator: Escalator, store: IncidentStore, pager: RecordingPager, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    incident = await store.create_incident("checkout errors")
    await escalator.start_escalation(incident)
    await run_for(scheduler, clock, 0)
    assert pager.levels() == [1]
    result = await escalator.acknowledge(incident.id, "U09ZOE")
    assert not result.by_paged_target and result.paged == ("U01ALICE",)
    again = await escalator.acknowledge(incident.id, "U01ALICE")
    assert again.already_acknowledged and again.incident.acknowledged_by == "U09ZOE"
    events = [e for e in await store.read_timeline(incident.id) if e.type is EventType.ESCALATION]
    assert events[-1].summary == "acknowledged by U09ZOE (not paged; paged: U01ALICE)"
    assert events[-1].data["by_paged_target"] is False


async def test_p1_pages_the_manager_at_once(
    escalator: Escalator, store: IncidentStore, pager: RecordingPager, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    incident = await store.create_incident("payments down", severity=Severity.P1)
    await escalator.start_escalation(incident)
    await run_for(scheduler, clock, 0)
    assert sorted((p[1], p[2][0].id) for p in pager.pages) == [(0, "U06MIA"), (1, "U01ALICE")]


async def test_reminders_repeat_until_resolved_and_commander_stops_its_reminder(
    store: IncidentStore, timers: TimerStore, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    sink = RecordingReminder()
    reminders = Reminders(store, timers, sink, clock=clock.now)
    reminders.register(scheduler)
    incident = await store.create_incident("slow queries")
    await reminders.arm(incident.id, ReminderKind.STATUS_UPDATE, timedelta(minutes=30))
    await reminders.arm(incident.id, ReminderKind.NO_COMMANDER, timedelta(minutes=10))
    await run_for(scheduler, clock, 60 * 60, step_s=60)
    assert [s[1] for s in sink.sent].count(ReminderKind.STATUS_UPDATE) == 2
    assert [s[1] for s in sink.sent].count(ReminderKind.NO_COMMANDER) == 6
    assert sink.sent[0][2] == "no incident commander assigned after 10 minutes"

    def assign(i: Incident) -> None:
        i.commander = "U01ALICE"

    await store.update_incident(incident.id, assign)
    await store.transition(incident.id, Status.RESOLVED, "U01ALICE")
    count = len(sink.sent)
    await run_for(scheduler, clock, 2 * 60 * 60, step_s=60)
    assert len(sink.sent) == count
    assert await timers.list_incident(incident.id) == []


async def test_status_update_pushes_the_reminder_back(
    store: IncidentStore, timers: TimerStore, scheduler: TimerScheduler, clock: ManualClock
) -> None:
    sink = RecordingReminder()
    reminders = Reminders(store, timers, sink, clock=clock.now)
    reminders.register(scheduler)
    incident = await store.create_incident("slow queries")
    assert not await reminders.status_updated(incident.id)
    await reminders.arm(incident.id, ReminderKind.STATUS_UPDATE, timedelta(minutes=30))
    for _ in range(4):  # an update every 20 minutes keeps the 30-minute reminder away
        await run_for(scheduler, clock, 20 * 60, step_s=60)
        assert await reminders.status_updated(incident.id)
    assert sink.sent == []
    await run_for(scheduler, clock, 30 * 60 - 60, step_s=60)
    assert sink.sent == []
    await run_for(scheduler, clock, 60, step_s=60)
    assert [s[1] for s in sink.sent] == [ReminderKind.STATUS_UPDATE]

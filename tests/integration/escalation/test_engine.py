"""Escalations and reminders end to end over a real Redis, the incident store and a running scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

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

WAIT_MIN = 0.02  # 1.2 s between levels keeps the tests short but leaves room for an ack
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


async def wait_for(predicate: Callable[[], bool], limit_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
def pager() -> RecordingPager:
    return RecordingPager()


@pytest.fixture
def store(redis: Redis, keys: Keys) -> IncidentStore:
    return IncidentStore(redis, keys)


@pytest.fixture
def timers(redis: Redis, keys: Keys) -> TimerStore:
    return TimerStore(redis, keys)


@pytest.fixture
async def scheduler(timers: TimerStore) -> AsyncIterator[TimerScheduler]:
    s = TimerScheduler(timers, SchedulerConfig(tick_s=0.05, lease_s=3))
    yield s
    await s.stop()


@pytest.fixture
async def escalator(
    store: IncidentStore, timers: TimerStore, pager: RecordingPager, scheduler: TimerScheduler
) -> Escalator:
    esc = Escalator(store, timers, EscalationConfig(BOOK, {}), pager)
    esc.register(scheduler)
    await scheduler.start()
    return esc


async def test_no_ack_pages_every_level_in_order(
    escalator: Escalator, store: IncidentStore, pager: RecordingPager
) -> None:
    incident = await store.create_incident("checkout errors", service="payment-service")
    await escalator.start_escalation(incident)
    await wait_for(lambda: len(pager.pages) == 2, limit_s=4)
    assert pager.levels() == [1, 2]
    assert [t.id for t in pager.pages[1][2]] == ["U02BOB", "pagerduty"]
    timeline = await store.read_timeline(incident.id)
    pages = [e for e in timeline if e.type is EventType.ESCALATION and e.summary.startswith("paging level")]
    assert len(pages) == 2 and "level 2" in pages[1].summary
    await wait_for(lambda: len(pager.deliveries) == 5)
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
    escalator: Escalator, store: IncidentStore, pager: RecordingPager, timers: TimerStore
) -> None:
    incident = await store.create_incident("checkout errors")
    await escalator.start_escalation(incident)
    await wait_for(lambda: pager.levels() == [1])
    [pending] = await escalator.pending_pages(incident.id)
    assert pending.level == 2 and [t.id for t in pending.targets] == ["U02BOB", "pagerduty"]
    result = await escalator.acknowledge(incident.id, "U01ALICE")
    assert result.by_paged_target and result.cancelled == 1 and not result.already_acknowledged
    assert result.incident.status is Status.ACKNOWLEDGED and result.incident.acknowledged_by == "U01ALICE"
    await asyncio.sleep(WAIT_MIN * 60 + 1)
    assert pager.levels() == [1]
    assert await escalator.pending_pages(incident.id) == []
    assert await timers.counts() == (0, 0)


async def test_ack_committed_before_a_due_page_stops_it_even_if_timers_survive(
    escalator: Escalator, store: IncidentStore, pager: RecordingPager
) -> None:
    incident = await store.create_incident("checkout errors")
    await escalator.start_escalation(incident)
    await wait_for(lambda: pager.levels() == [1])
    # An ack through another path that does not cancel timers: the page's compare-and-set refuses.
    await store.transition(incident.id, Status.ACKNOWLEDGED, "U01ALICE")
    await asyncio.sleep(WAIT_MIN * 60 + 1)
    assert pager.levels() == [1]


async def test_ack_by_someone_not_paged_is_recorded_as_such(
    escalator: Escalator, store: IncidentStore, pager: RecordingPager
) -> None:
    incident = await store.create_incident("checkout errors")
    await escalator.start_escalation(incident)
    await wait_for(lambda: pager.levels() == [1])
    result = await escalator.acknowledge(incident.id, "U09ZOE")
    assert not result.by_paged_target and result.paged == ("U01ALICE",)
    again = await escalator.acknowledge(incident.id, "U01ALICE")
    assert again.already_acknowledged and again.incident.acknowledged_by == "U09ZOE"
    events = [e for e in await store.read_timeline(incident.id) if e.type is EventType.ESCALATION]
    assert events[-1].summary == "acknowledged by U09ZOE (not paged; paged: U01ALICE)"
    assert events[-1].data["by_paged_target"] is False


async def test_p1_pages_the_manager_at_once(escalator: Escalator, store: IncidentStore, pager: RecordingPager) -> None:
    incident = await store.create_incident("payments down", severity=Severity.P1)
    await escalator.start_escalation(incident)
    await wait_for(lambda: len(pager.pages) == 2, limit_s=3)
    assert sorted((p[1], p[2][0].id) for p in pager.pages) == [(0, "U06MIA"), (1, "U01ALICE")]


async def test_reminders_repeat_until_resolved_and_commander_stops_its_reminder(
    store: IncidentStore, timers: TimerStore, scheduler: TimerScheduler
) -> None:
    sink = RecordingReminder()
    reminders = Reminders(store, timers, sink)
    reminders.register(scheduler)
    await scheduler.start()
    incident = await store.create_incident("slow queries")
    await reminders.arm(incident.id, ReminderKind.STATUS_UPDATE, timedelta(seconds=0.4))
    await reminders.arm(incident.id, ReminderKind.NO_COMMANDER, timedelta(seconds=0.6))
    await wait_for(lambda: sum(s[1] is ReminderKind.STATUS_UPDATE for s in sink.sent) >= 2, limit_s=3)
    assert any(s[1] is ReminderKind.NO_COMMANDER for s in sink.sent)

    def assign(i: Incident) -> None:
        i.commander = "U01ALICE"

    await store.update_incident(incident.id, assign)
    await store.transition(incident.id, Status.RESOLVED, "U01ALICE")
    await asyncio.sleep(0.7)
    count = len(sink.sent)
    await asyncio.sleep(1.0)
    assert len(sink.sent) == count
    assert await timers.list_incident(incident.id) == []


async def test_status_update_pushes_the_reminder_back(
    store: IncidentStore, timers: TimerStore, scheduler: TimerScheduler
) -> None:
    sink = RecordingReminder()
    reminders = Reminders(store, timers, sink)
    reminders.register(scheduler)
    await scheduler.start()
    incident = await store.create_incident("slow queries")
    assert not await reminders.status_updated(incident.id)
    await reminders.arm(incident.id, ReminderKind.STATUS_UPDATE, timedelta(seconds=1.2))
    for _ in range(4):
        await asyncio.sleep(0.3)
        assert await reminders.status_updated(incident.id)
    assert sink.sent == []
    await wait_for(lambda: len(sink.sent) == 1, limit_s=3)
    assert sink.sent[0][1] is ReminderKind.STATUS_UPDATE

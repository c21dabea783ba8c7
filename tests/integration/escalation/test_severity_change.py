"""A severity change re-evaluates the policy over real Redis timers, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts import Severity
from bot.connections import Redis
from bot.escalation.engine import ESCALATE, Escalator
from bot.escalation.loader import EscalationConfig
from bot.escalation.policy import PolicyBook
from bot.escalation.severity import severity_changed
from bot.escalation.timers import TimerStore
from bot.incidents.changes import change_severity_flow
from bot.incidents.models import Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from tests.integration.escalation.test_engine import RecordingPager

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BOOK = PolicyBook.model_validate(
    {
        "default": "p",
        "policies": {
            "p": {
                "levels": [{"targets": [{"user": "U01ALICE"}], "wait_minutes": 30}],
                "severity_rules": [
                    {"severity": "P1", "also_page": [{"user": "U06MIA"}]},
                    {"severity": "P2", "also_page": [{"user": "U07LEE"}], "immediately": False, "after_minutes": 10},
                ],
            }
        },
    }
)


async def _setup(redis: Redis, keys: Keys, severity: str) -> tuple[IncidentStore, TimerStore, Escalator, str]:
    store = IncidentStore(redis, keys, clock=lambda: NOW)
    timers = TimerStore(redis, keys)
    escalator = Escalator(store, timers, EscalationConfig(BOOK, {}), RecordingPager(), clock=lambda: NOW)
    incident = await store.create_incident("db", service="db", severity=severity, triggered_at=NOW)
    await escalator.start_escalation(incident, now=NOW)
    return store, timers, escalator, incident.id


async def _rule_pages(timers: TimerStore, incident_id: str) -> list[tuple[datetime, str]]:
    records = await timers.list_incident(incident_id)
    return [
        (r.due_at, r.payload["targets"][0]["user"]) for r in records if r.kind == ESCALATE and r.payload["level"] == 0
    ]


async def test_raising_to_p1_arms_the_p1_rule_due_now(redis: Redis, keys: Keys) -> None:
    store, timers, escalator, incident_id = await _setup(redis, keys, "P3")
    assert await _rule_pages(timers, incident_id) == []
    later = NOW + timedelta(minutes=3)
    change = await change_severity_flow(store, incident_id, Severity.P1, "U01ALICE")
    assert await severity_changed(escalator, change.incident, Severity.P3, now=later) == 1
    assert await _rule_pages(timers, incident_id) == [(later, "U06MIA")]
    # Run twice for the same change (a retry): still one page armed.
    assert await severity_changed(escalator, change.incident, Severity.P3, now=later) == 1
    assert await _rule_pages(timers, incident_id) == [(later, "U06MIA")]


async def test_lowering_disarms_the_old_rule_and_keeps_a_delayed_rule_on_its_time(redis: Redis, keys: Keys) -> None:
    store, timers, escalator, incident_id = await _setup(redis, keys, "P1")
    # The P1 rule fires at once on open; pretend it is still pending (not yet claimed) and lower to P2.
    assert [u for _, u in await _rule_pages(timers, incident_id)] == ["U06MIA"]
    change = await change_severity_flow(store, incident_id, Severity.P2, "U01ALICE")
    await severity_changed(escalator, change.incident, Severity.P1, now=NOW + timedelta(minutes=2))
    assert await _rule_pages(timers, incident_id) == [(NOW + timedelta(minutes=10), "U07LEE")]


async def test_an_acknowledged_incident_is_not_paged_again(redis: Redis, keys: Keys) -> None:
    store, timers, escalator, incident_id = await _setup(redis, keys, "P3")
    await store.transition(incident_id, Status.ACKNOWLEDGED, "U01ALICE")
    change = await change_severity_flow(store, incident_id, Severity.P1, "U01ALICE")
    assert await severity_changed(escalator, change.incident, Severity.P3, now=NOW) == 0
    assert await _rule_pages(timers, incident_id) == []

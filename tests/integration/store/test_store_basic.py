"""The incident store against a real Redis server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import Alert, AlertStatus, Severity
from bot.connections import Redis, delete_matching
from bot.errors import IllegalTransition, IncidentNotFound
from bot.incidents.models import AuditEvent, EventType, Status
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from tests.manual_clock import ManualClock


def make_alert(group: str = "g1", fp: str = "a1", status: AlertStatus = AlertStatus.FIRING, **kw: object) -> Alert:
    base: dict[str, object] = {
        "source": "alertmanager",
        "name": "HighLatency",
        "group_key": group,
        "fingerprint": fp,
        "title": "payment-service high latency",
        "service": "payment-service",
        "status": status,
        "starts_at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    }
    if status is AlertStatus.RESOLVED:
        base["ends_at"] = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    base.update(kw)
    return Alert.model_validate(base)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))


@pytest.fixture
def store(redis: Redis, keys: Keys, clock: ManualClock) -> IncidentStore:
    return IncidentStore(redis, keys, reopen_window=timedelta(minutes=30), clock=clock.now)


async def test_first_alert_opens_incident_and_redelivery_changes_nothing(store: IncidentStore) -> None:
    first = await store.open_or_update(make_alert())
    assert first.created and first.incident is not None
    assert first.incident.id == "INC-1"
    again = await store.open_or_update(make_alert())
    assert not again.created and not again.recorded
    assert again.incident is not None and again.incident.version == first.incident.version
    timeline = await store.read_timeline("INC-1")
    assert [e.type for e in timeline] == [EventType.OPENED, EventType.ALERT]


async def test_second_alert_of_group_joins_incident(store: IncidentStore) -> None:
    await store.open_or_update(make_alert(fp="a1"))
    second = await store.open_or_update(make_alert(fp="a2", severity=Severity.P1))
    assert second.incident is not None and second.incident.id == "INC-1" and second.recorded
    assert second.incident.alerts_firing == 2
    assert second.incident.severity is Severity.P1


async def test_resolved_for_unknown_group_opens_nothing(store: IncidentStore, redis: Redis, keys: Keys) -> None:
    outcome = await store.open_or_update(make_alert(status=AlertStatus.RESOLVED))
    assert outcome.incident is None
    assert [k async for k in redis.scan_iter(match=keys.pattern())] == []


async def test_all_alerts_resolved_resolves_incident(store: IncidentStore) -> None:
    await store.open_or_update(make_alert(fp="a1"))
    await store.open_or_update(make_alert(fp="a2"))
    half = await store.open_or_update(make_alert(fp="a1", status=AlertStatus.RESOLVED))
    assert half.incident is not None and half.incident.status is Status.TRIGGERED
    done = await store.open_or_update(make_alert(fp="a2", status=AlertStatus.RESOLVED))
    assert done.incident is not None and done.incident.status is Status.RESOLVED and done.status_changed


async def test_reopen_within_window_then_new_incident_after(store: IncidentStore, clock: ManualClock) -> None:
    await store.open_or_update(make_alert())
    await store.open_or_update(make_alert(status=AlertStatus.RESOLVED))
    await clock.advance(10 * 60)
    refire = await store.open_or_update(make_alert(starts_at=clock.now()))
    assert refire.reopened and refire.incident is not None and refire.incident.id == "INC-1"
    assert refire.incident.status is Status.TRIGGERED and refire.incident.reopened_count == 1
    await store.open_or_update(make_alert(status=AlertStatus.RESOLVED, ends_at=clock.now()))
    await clock.advance(31 * 60)
    late = await store.open_or_update(make_alert(starts_at=clock.now()))
    assert late.created and late.incident is not None and late.incident.id == "INC-2"


async def test_transitions_and_illegal_moves(store: IncidentStore) -> None:
    incident = await store.create_incident("manual incident", service="api")
    acked = await store.transition(incident.id, Status.ACKNOWLEDGED, actor="U1")
    assert acked.acknowledged_by == "U1" and acked.version == 2
    with pytest.raises(IllegalTransition, match="cannot move from acknowledged to triggered"):
        await store.transition(incident.id, Status.TRIGGERED, actor="U1")
    reread = await store.get_incident_or_raise(incident.id)
    assert reread.status is Status.ACKNOWLEDGED and reread.version == 2
    with pytest.raises(IncidentNotFound):
        await store.get_incident_or_raise("INC-999")


async def test_channel_binding_and_open_index(store: IncidentStore) -> None:
    incident = await store.create_incident("x")
    await store.bind_channel(incident.id, "C123", "inc-1-x")
    found = await store.find_by_channel("C123")
    assert found is not None and found.id == incident.id and found.channel_name == "inc-1-x"
    await store.transition(incident.id, Status.RESOLVED, actor="U1")
    assert [i.id for i in await store.list_open_incidents()] == [incident.id]
    await store.transition(incident.id, Status.CLOSED, actor="U1")
    assert await store.list_open_incidents() == []


async def test_audit_log_reads_back_in_order_and_filters(store: IncidentStore) -> None:
    for n in range(5):
        await store.audit(AuditEvent(action="approve", actor=f"U{n}", outcome="ok", incident_id=f"INC-{n % 2}"))
    everything = await store.read_audit()
    assert [e.actor for e in everything] == ["U0", "U1", "U2", "U3", "U4"]
    assert [e.actor for e in await store.read_audit(incident_id="INC-1")] == ["U1", "U3"]


async def test_partial_view_never_auto_resolves(store: IncidentStore) -> None:
    await store.open_or_update(make_alert(fp="a1", truncated_alerts=3))
    partial = await store.open_or_update(make_alert(fp="a1", status=AlertStatus.RESOLVED, truncated_alerts=3))
    assert partial.incident is not None and partial.incident.status is Status.TRIGGERED
    full = await store.open_or_update(make_alert(fp="a2", status=AlertStatus.RESOLVED))
    assert full.incident is not None and full.incident.status is Status.RESOLVED


async def test_find_by_group(store: IncidentStore) -> None:
    assert await store.find_by_group("g1") is None
    await store.open_or_update(make_alert(group="g1"))
    found = await store.find_by_group("g1")
    assert found is not None and found.id == "INC-1"


async def test_delete_matching_removes_only_the_pattern(redis: Redis, keys: Keys) -> None:
    for n in range(1200):
        await redis.set(f"{keys.prefix}:a:{n}", "1")
    await redis.set(f"{keys.prefix}:b:keep", "1")
    assert await delete_matching(redis, f"{keys.prefix}:a:*") == 1200
    assert [k async for k in redis.scan_iter(match=keys.pattern())] == [f"{keys.prefix}:b:keep"]

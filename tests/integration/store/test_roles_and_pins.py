"""Roles and pins against a real Redis: one holder per role under racing claims, each pin and unpin applied once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.connections import Redis
from bot.incidents.models import EventType
from bot.incidents.pins import PinnedMessage, TimelineCapture, live_pins
from bot.incidents.roles import RoleTaken, assign_role, holder
from bot.incidents.store import IncidentStore
from bot.keys import Keys

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return AT


@pytest.fixture
def store(redis: Redis, keys: Keys) -> IncidentStore:
    return IncidentStore(redis, keys, clock=clock)


async def test_racing_claims_leave_one_holder_and_one_timeline_entry(store: IncidentStore) -> None:
    incident = await store.create_incident("db down")
    people = [f"U{i:09d}" for i in range(12)]

    async def claim(user: str) -> str | None:
        try:
            await assign_role(store, incident.id, "scribe", user, user, claim=True, clock=clock)
        except RoleTaken:
            return None
        return user

    winners = [w for w in await asyncio.gather(*(claim(p) for p in people)) if w]
    assert len(winners) == 1
    fresh = await store.get_incident_or_raise(incident.id)
    assert holder(fresh, "scribe") == winners[0]
    roles = [e for e in await store.read_timeline(incident.id) if e.type is EventType.ROLE]
    assert [(e.data["new"], e.data["old"], e.data["how"], e.at) for e in roles] == [(winners[0], None, "claimed", AT)]


async def test_assigning_replaces_records_the_previous_holder_and_commander_fields(store: IncidentStore) -> None:
    incident = await store.create_incident("db down")
    first = await assign_role(store, incident.id, "commander", "U0ALICE", "U0ADMIN", clock=clock)
    assert first.changed and first.previous is None
    assert (first.incident.commander, first.incident.commander_set_by, first.incident.commander_set_at) == (
        "U0ALICE",
        "U0ADMIN",
        AT,
    )
    assert first.incident.roles == {}  # the commander lives in its own field
    again = await assign_role(store, incident.id, "commander", "U0ALICE", "U0ALICE", clock=clock)
    assert not again.changed and again.incident.commander_set_by == "U0ADMIN"
    with pytest.raises(RoleTaken):
        await assign_role(store, incident.id, "commander", "U0BOB", "U0BOB", claim=True, clock=clock)
    handed = await assign_role(store, incident.id, "commander", "U0BOB", "U0ALICE", clock=clock)
    assert handed.previous == "U0ALICE" and handed.incident.commander == "U0BOB"
    events = [e for e in await store.read_timeline(incident.id) if e.type is EventType.ROLE]
    assert [(e.data["old"], e.data["new"], e.data["by"]) for e in events] == [
        (None, "U0ALICE", "U0ADMIN"),
        ("U0ALICE", "U0BOB", "U0ALICE"),
    ]


def message(ts: str = "1700000000.000100") -> PinnedMessage:
    return PinnedMessage("C1", ts, "U0CAROL", "restarted $(db) <!here>", "https://x.slack.com/archives/C1/p1")


async def test_pins_are_written_once_and_marked_removed_with_the_last_pin(store: IncidentStore) -> None:
    incident = await store.create_incident("db down")
    capture = TimelineCapture(store, clock)
    first = await capture.pin(incident.id, message(), "U0ALICE", "Ev1")
    assert first is not None
    assert await capture.pin(incident.id, message(), "U0ALICE", "Ev1") is None  # a retry
    assert await capture.pin(incident.id, message(), "U0ALICE", "Ev2") is None  # the same person again
    assert await capture.pin(incident.id, message(), "U0BOB", "Ev3") is None  # a second pinner
    events = await store.read_timeline(incident.id)
    pins = [e for e in events if e.type is EventType.PIN]
    assert len(pins) == 1 and pins[0].data["text"] == "restarted $(db) <!here>" and pins[0].data["author"] == "U0CAROL"
    assert await capture.unpin(incident.id, message().ts, "U0ALICE", "Ev4") is None  # bob still pins it
    assert await capture.unpin(incident.id, message().ts, "U0BOB", "Ev5") == first
    assert await capture.unpin(incident.id, message().ts, "U0BOB", "Ev5") is None
    events = await store.read_timeline(incident.id)
    assert [e.data["removed"] for e in events if e.type is EventType.UNPIN] == [first]
    assert live_pins(events) == []
    repinned = await capture.pin(incident.id, message(), "U0CAROL", "Ev6")
    assert repinned is not None and repinned != first
    assert [e.stream_id for e in live_pins(await store.read_timeline(incident.id))] == [repinned]


async def test_concurrent_pins_of_one_message_make_one_entry(store: IncidentStore) -> None:
    incident = await store.create_incident("db down")
    capture = TimelineCapture(store, clock)
    results = await asyncio.gather(*(capture.pin(incident.id, message(), f"U{i:05d}", f"Ev{i}") for i in range(20)))
    assert len([r for r in results if r]) == 1
    assert len([e for e in await store.read_timeline(incident.id) if e.type is EventType.PIN]) == 1


async def test_a_note_is_kept_as_written(store: IncidentStore) -> None:
    incident = await store.create_incident("db down")
    capture = TimelineCapture(store, clock)
    await capture.note(incident.id, "it's `id` {{ x }}", "U0ALICE")
    notes = [e for e in await store.read_timeline(incident.id) if e.type is EventType.NOTE]
    assert [(n.summary, n.actor, n.at) for n in notes] == [("it's `id` {{ x }}", "U0ALICE", AT)]

"""Who held which role when, rebuilt from the timeline for the post-mortem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.models import EventType, TimelineEvent
from bot.incidents.roles import RoleSpan, role_event, role_spans

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_spans_follow_assignments_claims_and_the_commander_command() -> None:
    events = [
        TimelineEvent(EventType.OPENED, "INC-1", "opened: db down", at=at(0)),
        role_event("INC-1", "scribe", "U0CAROL", None, "U0CAROL", "claimed", at(2)),
        role_event("INC-1", "communications", "U0BOB", None, "U0ALICE", "assigned", at(3)),
        TimelineEvent(
            EventType.FIELD, "INC-1", "commander → <@U0DAVE>", "U0ALICE", {"old": "U0ALICE", "new": "U0DAVE"}, at(5)
        ),
        TimelineEvent(EventType.NOTE, "INC-1", "commander → not a role change", "U0BOB", {"text": "x"}, at(6)),
        role_event("INC-1", "scribe", "U0BOB", "U0CAROL", "U0DAVE", "assigned", at(9)),
    ]
    spans = role_spans(events, first_commander=("U0ALICE", at(0)))
    assert spans == [
        RoleSpan("commander", "U0ALICE", at(0), at(5), "U0ALICE"),
        RoleSpan("scribe", "U0CAROL", at(2), at(9), "U0CAROL"),
        RoleSpan("communications", "U0BOB", at(3), None, "U0ALICE"),
        RoleSpan("commander", "U0DAVE", at(5), None, "U0ALICE"),
        RoleSpan("scribe", "U0BOB", at(9), None, "U0DAVE"),
    ]


def test_no_role_events_no_spans() -> None:
    assert role_spans([TimelineEvent(EventType.OPENED, "INC-1", "opened", at=T0)]) == []

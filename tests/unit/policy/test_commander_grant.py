"""role:commander does not count for a commander who set themselves at or after the approval request."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.incidents.models import Incident
from bot.policy.approvers import ApproverPolicy, self_granted_commander

ALICE, BOB = "U0ALICE001", "U0BOB00001"
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
REQUESTED = T0.timestamp() + 60


async def no_groups(group: str) -> frozenset[str]:
    return frozenset()


def incident(commander: str | None, set_by: str | None, set_after_s: float | None) -> Incident:
    set_at = datetime.fromtimestamp(T0.timestamp() + set_after_s, UTC) if set_after_s is not None else None
    return Incident(
        id="INC-2",
        number=2,
        title="t",
        triggered_at=T0,
        commander=commander,
        commander_set_by=set_by,
        commander_set_at=set_at,
    )


async def test_self_set_after_the_request_grants_nothing() -> None:
    policy = ApproverPolicy.from_strings(["role:commander"])
    made = incident(ALICE, ALICE, 120)
    assert self_granted_commander(made, ALICE, REQUESTED)
    assert not await policy.allows(ALICE, made, no_groups, REQUESTED)
    assert not await policy.allows(ALICE, incident(ALICE, ALICE, 60), no_groups, REQUESTED)  # same instant


async def test_set_by_someone_else_or_before_the_request_counts() -> None:
    policy = ApproverPolicy.from_strings(["role:commander"])
    assert await policy.allows(ALICE, incident(ALICE, BOB, 120), no_groups, REQUESTED)
    assert await policy.allows(ALICE, incident(ALICE, ALICE, 10), no_groups, REQUESTED)
    # Declared with the incident (no record of who set it): set when it was triggered, before any request.
    assert await policy.allows(ALICE, incident(ALICE, None, None), no_groups, REQUESTED)


async def test_without_a_request_time_a_self_made_commander_fails_closed() -> None:
    policy = ApproverPolicy.from_strings(["role:commander"])
    assert not await policy.allows(ALICE, incident(ALICE, ALICE, 10), no_groups, None)
    assert not await policy.allows(BOB, incident(ALICE, BOB, 10), no_groups, REQUESTED)

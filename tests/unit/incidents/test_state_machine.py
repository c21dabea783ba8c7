"""The incident state machine refuses every illegal move and stamps the right times."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bot.errors import IllegalTransition
from bot.incidents.models import ALLOWED_MOVES, Incident, Status


def fresh() -> Incident:
    return Incident(id="INC-1", number=1, title="t")


def test_happy_path_stamps_times() -> None:
    incident = fresh()
    for target in (Status.ACKNOWLEDGED, Status.MITIGATING, Status.RESOLVED, Status.CLOSED):
        incident.transition(target, actor="U1")
    assert incident.acknowledged_by == "U1"
    assert incident.acknowledged_at and incident.resolved_at and incident.closed_at


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_every_pair_follows_the_table(current: Status, target: Status) -> None:
    incident = fresh()
    incident.status = current
    if target in ALLOWED_MOVES[current]:
        incident.transition(target)
        assert incident.status is target
    else:
        with pytest.raises(IllegalTransition):
            incident.transition(target)
        assert incident.status is current


class IncidentMachine(RuleBasedStateMachine):
    """Random moves against a model of the table; the record never leaves it."""

    def __init__(self) -> None:
        super().__init__()
        self.incident = fresh()
        self.expected = Status.TRIGGERED
        self.reopens = 0

    @rule(to=st.sampled_from(list(Status)))
    def move(self, to: Status) -> None:
        target = to
        allowed = target in ALLOWED_MOVES[self.expected]
        try:
            self.incident.transition(target)
        except IllegalTransition:
            assert not allowed
            return
        assert allowed
        if target is Status.TRIGGERED:
            self.reopens += 1
        self.expected = target

    @invariant()
    def matches_model(self) -> None:
        assert self.incident.status is self.expected
        assert self.incident.reopened_count == self.reopens
        if self.expected in (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.MITIGATING):
            assert self.incident.resolved_at is None and self.incident.closed_at is None
        if self.expected is Status.CLOSED:
            assert self.incident.closed_at is not None


TestIncidentMachine = IncidentMachine.TestCase

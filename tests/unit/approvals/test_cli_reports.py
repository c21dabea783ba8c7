"""runbookctl audit's --since and `report overrides` over audit events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cli.commands.audit import parse_since
from bot.cli.commands.report import overrides
from bot.errors import InvalidInput
from bot.incidents.models import AuditEvent


def event(action: str, outcome: str, step: str, approval: str, actor: str = "U1") -> AuditEvent:
    data = {"runbook": "rb", "environment": "prod", "approval": approval}
    return AuditEvent(action=action, actor=actor, outcome=outcome, incident_id="INC-1", step=step, data=data)


def test_since_accepts_durations_and_iso_times() -> None:
    now = datetime(2026, 1, 2, 12, tzinfo=UTC)
    assert parse_since("2h", now) == datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert parse_since("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_since("yesterday")


def test_overrides_rank_the_steps_people_approved_most() -> None:
    events = [
        event("approval.approved", "approved", "restart", "a1"),
        event("approval.approved", "approved", "restart", "a2"),
        event("approval.approved", "waiting", "restart", "a3"),
        event("approval.refused", "not_approver", "restart", "a2"),
        event("approval.approved", "approved", "flush", "a4"),
        event("step.execution", "started", "warm", "a5", actor="bot"),
    ]
    rows = overrides(events)
    assert [(r.action, r.human_approvals, r.automatic_runs, r.refusals) for r in rows] == [
        ("rb/restart", 2, 0, 1),
        ("rb/flush", 1, 0, 0),
        ("rb/warm", 0, 1, 0),
    ]
    assert rows[0].human_share == 1.0 and rows[2].human_share == 0.0

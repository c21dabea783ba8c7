"""Policy evaluation with an explicit clock, the service map, and loading the shipped example files."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.alerts import Severity
from bot.errors import RunbookError
from bot.escalation.loader import load_escalation
from bot.escalation.policy import (
    PageTarget,
    Policy,
    PolicyBook,
    TargetKind,
    escalation_steps,
    plan_escalation,
    resolve_targets,
)
from bot.escalation.schedule import Rotation, Schedule

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 3, 30, 6, 58, tzinfo=UTC)  # 08:58 CEST, two minutes before a Monday hand-off
BERLIN = ZoneInfo("Europe/Berlin")

POLICY = Policy.model_validate(
    {
        "levels": [
            {"targets": [{"schedule": "primary"}], "wait_minutes": 5, "repeat": 1},
            {"targets": [{"schedule": "secondary"}, {"pager": "pagerduty"}], "wait_minutes": 10},
            {"targets": [{"user": "U06MIA"}, {"usergroup": "S01LEADS"}], "wait_minutes": 15},
        ],
        "severity_rules": [
            {"severity": "P1", "also_page": [{"user": "U06MIA"}], "immediately": True},
            {"severity": "P2", "also_page": [{"user": "U06MIA"}], "immediately": False, "after_minutes": 12},
        ],
    }
)
SCHEDULES = {
    "primary": Schedule("primary", BERLIN, (Rotation("w", ("U01A", "U02B"), date(2026, 3, 23), time(9), BERLIN, 7),)),
    "secondary": Schedule(
        "secondary", BERLIN, (Rotation("w", ("U02B", "U01A"), date(2026, 3, 23), time(9), BERLIN, 7),)
    ),
    "empty": Schedule("empty", BERLIN, ()),
}


def test_levels_repeat_then_escalate_in_order() -> None:
    steps = plan_escalation(POLICY, Severity.P3, T0)
    assert [(s.level, s.round, s.due_at - T0) for s in steps] == [
        (1, 0, timedelta(0)),
        (1, 1, timedelta(minutes=5)),
        (2, 0, timedelta(minutes=10)),
        (3, 0, timedelta(minutes=20)),
    ]
    assert [s.seq for s in steps] == [0, 1, 2, 3]


def test_p1_pages_the_manager_at_once() -> None:
    steps = plan_escalation(POLICY, Severity.P1, T0)
    first = [s for s in steps if s.due_at == T0]
    assert {s.level for s in first} == {0, 1}
    assert steps[0].level == 0 and steps[0].targets[0].model_dump() == {"user": "U06MIA"}


def test_p2_rule_pages_after_its_delay_and_p3_has_no_rule() -> None:
    p2 = [s for s in plan_escalation(POLICY, Severity.P2, T0) if s.level == 0]
    assert [s.due_at - T0 for s in p2] == [timedelta(minutes=12)]
    assert all(s.level != 0 for s in plan_escalation(POLICY, Severity.P3, T0))


def test_loops_run_the_ladder_again() -> None:
    looped = POLICY.model_copy(update={"loops": 1})
    steps = plan_escalation(looped, Severity.P3, T0)
    assert len(steps) == 8
    assert steps[4].level == 1 and steps[4].due_at - T0 == timedelta(minutes=35)


def test_targets_resolve_through_schedules_at_each_due_time() -> None:
    steps = escalation_steps(POLICY, Severity.P3, T0, SCHEDULES, T0)
    # Week 1 (from 23 March): A primary, B secondary; the Monday hand-off at 07:00 UTC swaps them.
    assert steps[0].targets == (PageTarget(TargetKind.USER, "U01A", via="primary"),)
    assert steps[1].targets == (PageTarget(TargetKind.USER, "U02B", via="primary"),)
    assert steps[2].targets == (
        PageTarget(TargetKind.USER, "U01A", via="secondary"),
        PageTarget(TargetKind.PAGER, "pagerduty"),
    )
    # A step already due is resolved at `now`, not at its (past) due time.
    late = escalation_steps(POLICY, Severity.P3, T0, SCHEDULES, T0 + timedelta(minutes=3))
    assert late[0].targets == (PageTarget(TargetKind.USER, "U02B", via="primary"),)


def test_unstaffed_schedule_is_reported_not_dropped_silently() -> None:
    targets = Policy.model_validate({"levels": [{"targets": [{"schedule": "empty"}, {"user": "U06MIA"}]}]})
    resolved, unstaffed = resolve_targets(targets.levels[0].targets, SCHEDULES, T0)
    assert resolved == (PageTarget(TargetKind.USER, "U06MIA"),)
    assert unstaffed == ("empty",)


def test_service_map_and_default() -> None:
    book = PolicyBook.model_validate(
        {
            "policies": {"payments": POLICY.model_dump(), "default": POLICY.model_dump()},
            "services": {"payment-service": "payments"},
            "default": "default",
        }
    )
    assert book.policy_name_for("payment-service") == "payments"
    assert book.policy_name_for("search") == "default"
    with pytest.raises(ValidationError):
        PolicyBook.model_validate({"policies": {"a": POLICY.model_dump()}, "default": "missing"})


def test_targets_are_validated() -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate({"levels": [{"targets": [{"user": "alice"}]}]})
    with pytest.raises(ValidationError):
        Policy.model_validate({"levels": [{"targets": [{"pager": "pigeon"}]}]})


def test_shipped_examples_load_and_page_the_payments_manager_on_p1() -> None:
    cfg = load_escalation(ROOT / "runbooks" / "escalation")
    assert cfg.book.policy_name_for("payment-service") == "payments"
    assert cfg.book.policy_name_for("unknown-service") == "default"
    now = datetime(2026, 3, 4, 12, tzinfo=UTC)
    steps = escalation_steps(cfg.policy_for("payment-service"), Severity.P1, now, cfg.schedules, now)
    at_once = {t.id for s in steps if s.step.due_at == now for t in s.targets}
    assert at_once == {"U06MIA", "U01ALICE"}


def test_policy_naming_an_unknown_schedule_is_a_runbook_error(tmp_path: Path) -> None:
    (tmp_path / "policies.yaml").write_text(
        "default: d\npolicies:\n  d:\n    levels:\n      - targets: [{schedule: nowhere}]\n"
    )
    with pytest.raises(RunbookError, match="nowhere"):
        load_escalation(tmp_path)
    (tmp_path / "policies.yaml").write_text("default: [unclosed\n")
    with pytest.raises(RunbookError):
        load_escalation(tmp_path)

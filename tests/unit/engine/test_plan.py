"""The planner: decisions in order, steps once, stop, fail closed, environments; diagnostics prepared as data."""

from __future__ import annotations

import pytest

from bot.alerts import Alert
from bot.engine.plan import PlanContext, plan, prepare_diagnostics, to_diagnostic_plans
from bot.engine.types import DiagnosticResult, HookOutput, Verdict
from bot.errors import RunbookError
from bot.runbooks.loader import load_text
from bot.runbooks.schema import Runbook

RUNBOOK = """
id: t
name: T
owner: "@t"
service: pay
environments: [prod, staging]
triggers: [{alert: A}]
diagnostics:
  - id: db
    name: DB
    type: prometheus_query
    config: {query: 'up{ns="${alert.labels.ns}"}'}
    interpret: {critical: value > 0.9}
  - id: pods
    name: Pods
    type: stand_in_unknown_hook
    config: {namespace: "${alert.labels.ns}", replicas: 3}
decisions:
  - {id: pool, when: "diagnostics.db.status == 'critical'", offer: [kill, restart]}
  - {id: broken, when: "diagnostics.db.value > 'x'", offer: [nope]}
  - {id: unknown_diag, when: "diagnostics.missing.status == 'critical'", offer: [nope]}
  - {id: pods_bad, when: "diagnostics.pods.status == 'critical'", offer: [restart, staging_only], stop: true}
  - {id: always, when: "true", offer: [page]}
remediations:
  - {id: kill, name: Kill, kind: automated,
     action: {type: kill_idle_connections, config: {database: m, idle_minutes: 5}},
     safety: {approvers: ["@dba"], irreversible: true, max_per_hour: 2}}
  - {id: restart, name: Restart, kind: manual, instructions: do it}
  - {id: staging_only, name: S, kind: manual, instructions: x, safety: {environments: [staging]}}
  - {id: nope, name: Nope, kind: manual, instructions: never}
  - {id: page, name: Page, kind: escalate, action: {type: page, config: {provider: pagerduty, summary: s}},
     safety: {requires_approval: false}}
"""


@pytest.fixture
def runbook() -> Runbook:
    loaded, problems = load_text(RUNBOOK)
    assert loaded is not None, problems
    return loaded.runbook


def result(step_id: str, status: Verdict, value: object = None) -> DiagnosticResult:
    return DiagnosticResult(step_id, step_id, status, value)


def alert(**labels: str) -> Alert:
    return Alert(source="t", name="A", group_key="g", fingerprint="f", title="A", service="pay", labels=labels)


def test_steps_in_decision_order_offered_once_with_reasons_and_guards(runbook: Runbook) -> None:
    results = {"db": result("db", Verdict.CRITICAL, 0.97), "pods": result("pods", Verdict.HEALTHY, 1.0)}
    planned = plan(runbook, results, PlanContext(alert(ns="p")))
    assert planned.step_ids() == ["kill", "restart", "page"]
    kill = planned.steps[0]
    assert (kill.decision_id, kill.condition) == ("pool", "diagnostics.db.status == 'critical'")
    assert kill.guards == ("approval by @dba", "irreversible", "at most 2 per hour")
    assert [t.decision_id for t in planned.decisions if t.fired] == ["pool", "always"]


def test_condition_errors_fail_closed_and_are_recorded(runbook: Runbook) -> None:
    results = {"db": result("db", Verdict.HEALTHY, 0.1), "pods": result("pods", Verdict.HEALTHY)}
    planned = plan(runbook, results, PlanContext())
    assert "nope" not in planned.step_ids()
    errors = {t.decision_id: t.error for t in planned.errors}
    assert set(errors) == {"broken", "unknown_diag"}
    assert "overload" in (errors["broken"] or "") and "missing" in (errors["unknown_diag"] or "")


def test_missing_result_fails_closed(runbook: Runbook) -> None:
    planned = plan(runbook, {}, PlanContext())
    assert planned.step_ids() == ["page"]
    assert {t.decision_id for t in planned.errors} >= {"pool", "pods_bad"}


def test_stop_ends_the_walk_and_environment_filters_steps(runbook: Runbook) -> None:
    results = {"db": result("db", Verdict.HEALTHY, 0.1), "pods": result("pods", Verdict.CRITICAL)}
    planned = plan(runbook, results, PlanContext(environment="prod"))
    assert planned.step_ids() == ["restart"]  # "always" is never reached after stop
    assert [(s.step_id, s.reason) for s in planned.skipped] == [("staging_only", "not allowed in prod")]
    assert plan(runbook, results, PlanContext(environment="staging")).step_ids() == ["restart", "staging_only"]


def test_to_diagnostic_plans_resolves_references_as_data(runbook: Runbook) -> None:
    plans = to_diagnostic_plans(runbook, PlanContext(alert(ns="payments")))
    by_id = {p.id: p for p in plans}
    query = by_id["db"].config
    assert getattr(query, "query", None) == 'up{ns="payments"}' or query == {"query": 'up{ns="payments"}'}
    assert by_id["pods"].config == {"namespace": "payments", "replicas": 3}  # unknown hook: plain dict
    interpret = by_id["db"].interpret
    assert interpret is not None and interpret(HookOutput(0.95)) == (Verdict.CRITICAL, None)


def test_unresolvable_reference_becomes_an_error_result(runbook: Runbook) -> None:
    prepared = prepare_diagnostics(runbook, PlanContext(alert()))
    assert [r.id for r in prepared.failed] == ["db", "pods"]
    assert all(r.status is Verdict.ERROR and "ns" in (r.error or "") for r in prepared.failed)
    with pytest.raises(RunbookError):
        to_diagnostic_plans(runbook, PlanContext(alert()))


def test_hostile_label_cannot_break_out_of_a_query(runbook: Runbook) -> None:
    prepared = prepare_diagnostics(runbook, PlanContext(alert(ns='p"} or vector(1)')))
    assert "db" in [r.id for r in prepared.failed]

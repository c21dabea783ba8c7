"""The planner: from diagnostic results, walk a runbook's decisions in order and list the steps to offer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.alerts import Alert
from bot.engine.types import DiagnosticPlan, DiagnosticResult, Verdict
from bot.errors import RunbookError
from bot.runbooks.catalog import alert_binding
from bot.runbooks.fieldcheck import resolve_checked
from bot.runbooks.interpret import build_interpreter
from bot.runbooks.refs import RefContext
from bot.runbooks.schema import Remediation, Runbook
from hooks import registry
from hooks.urlguard import HostPolicy


@dataclass(frozen=True)
class PlanContext:
    """Where the plan is made: the alert, the environment and the incident."""

    alert: Alert | None = None
    environment: str = "prod"
    incident_id: str | None = None
    # HTTP_ALLOWED_HOSTS: where URLs built from alert data may point.
    http_allowed_hosts: tuple[str, ...] = ()

    def refs(self, runbook: Runbook | None = None) -> RefContext:
        """The context `${…}` references resolve against, with the runbook's allow-lists."""
        return ref_context(self.alert, {"id": self.incident_id} if self.incident_id else {}, self, runbook)


def ref_context(
    alert: Alert | None, incident: Mapping[str, str], context: PlanContext, runbook: Runbook | None
) -> RefContext:
    """A RefContext whose allow-lists are HTTP_ALLOWED_HOSTS narrowed by the runbook's own."""
    narrowed = tuple(runbook.allowed_hosts) if runbook and runbook.allowed_hosts is not None else None
    namespaces = tuple(runbook.allowed_namespaces) if runbook and runbook.allowed_namespaces is not None else None
    hosts = HostPolicy(context.http_allowed_hosts, narrowed)
    return RefContext(alert, incident, hosts=hosts, namespaces=namespaces)


@dataclass(frozen=True)
class PlannedStep:
    """A remediation to offer, the decision and condition that chose it, and its guards in words."""

    remediation: Remediation
    decision_id: str
    condition: str
    guards: tuple[str, ...]

    @property
    def step_id(self) -> str:
        """The remediation's id."""
        return self.remediation.id


@dataclass(frozen=True)
class DecisionTrace:
    """How one decision evaluated; `error` is set when its condition failed (and so counted as false)."""

    decision_id: str
    condition: str
    fired: bool
    error: str | None = None
    where: str = ""


@dataclass(frozen=True)
class SkippedStep:
    """A step a decision named that is not offered here, and why."""

    step_id: str
    decision_id: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """The ordered steps to offer plus the trace of every decision evaluated."""

    runbook_id: str
    steps: tuple[PlannedStep, ...] = ()
    decisions: tuple[DecisionTrace, ...] = ()
    skipped: tuple[SkippedStep, ...] = ()

    @property
    def errors(self) -> list[DecisionTrace]:
        """Decisions whose condition errored (recorded, never offered)."""
        return [d for d in self.decisions if d.error]

    def step_ids(self) -> list[str]:
        """Ids of the offered steps, in order."""
        return [s.step_id for s in self.steps]


def guards(remediation: Remediation) -> tuple[str, ...]:
    """The safety rules of a step, as short phrases for people."""
    safety = remediation.safety
    out = []
    if remediation.kind == "manual":
        out.append("manual: a person does it")
    if safety.requires_approval:
        out.append("approval by " + ", ".join(safety.approvers) if safety.approvers else "approval required")
    if safety.four_eyes:
        out.append("four-eyes: the requester cannot approve")
    if safety.irreversible:
        out.append("irreversible")
    if safety.max_per_hour:
        out.append(f"at most {safety.max_per_hour} per hour")
    if safety.environments:
        out.append("only in " + ", ".join(safety.environments))
    if remediation.rollback is not None:
        out.append(f"rollback: {remediation.rollback.type}")
    return tuple(out)


def decision_bindings(results: Mapping[str, DiagnosticResult], context: PlanContext) -> dict[str, Any]:
    """What decision conditions see: `diagnostics.<id>` and `alert`."""
    alert = alert_binding(context.alert) if context.alert is not None else {}
    return {"diagnostics": {key: result.binding() for key, result in results.items()}, "alert": alert}


def _allowed_here(runbook: Runbook, remediation: Remediation, environment: str) -> bool:
    where = remediation.safety.environments or runbook.environments
    return not where or environment in where


def plan(runbook: Runbook, results: Mapping[str, DiagnosticResult], context: PlanContext) -> Plan:
    """Evaluate decisions in order; each fired decision offers its steps once, a `stop` decision ends the walk."""
    bindings = decision_bindings(results, context)
    steps: list[PlannedStep] = []
    traces: list[DecisionTrace] = []
    skipped: list[SkippedStep] = []
    offered: set[str] = set()
    for decision in runbook.decisions:
        outcome = decision.when.evaluate(bindings)
        traces.append(
            DecisionTrace(decision.id, decision.when.text, outcome.matched, outcome.error, decision.when.where)
        )
        if not outcome.matched:
            continue
        for step_id in decision.offer:
            remediation = runbook.remediation(step_id)
            if remediation is None:
                skipped.append(SkippedStep(step_id, decision.id, "no such remediation"))
            elif not _allowed_here(runbook, remediation, context.environment):
                skipped.append(SkippedStep(step_id, decision.id, f"not allowed in {context.environment}"))
            elif step_id not in offered:
                offered.add(step_id)
                steps.append(PlannedStep(remediation, decision.id, decision.when.text, guards(remediation)))
        if decision.stop:
            break
    return Plan(runbook.id, tuple(steps), tuple(traces), tuple(skipped))


@dataclass
class PreparedDiagnostics:
    """Diagnostics ready to run, and those that could not be prepared, as ERROR results."""

    plans: list[DiagnosticPlan] = field(default_factory=list)
    failed: list[DiagnosticResult] = field(default_factory=list)


def prepare_diagnostics(runbook: Runbook, context: PlanContext) -> PreparedDiagnostics:
    """Resolve references and validate configs; a diagnostic that cannot be prepared becomes an ERROR result."""
    prepared = PreparedDiagnostics()
    for diagnostic in runbook.diagnostics:
        try:
            config = resolve_checked(diagnostic.type, diagnostic.config, context.refs(runbook))
        except RunbookError as exc:
            prepared.failed.append(DiagnosticResult(diagnostic.id, diagnostic.name, Verdict.ERROR, error=str(exc)))
            continue
        model: Any = config
        if registry.get_hook(diagnostic.type) is not None:
            model, problems = registry.validate_config(diagnostic.type, config)
            if model is None:
                error = f"invalid {diagnostic.type} config: {'; '.join(problems)}"
                prepared.failed.append(DiagnosticResult(diagnostic.id, diagnostic.name, Verdict.ERROR, error=error))
                continue
        interpreter = build_interpreter(diagnostic.interpret)
        prepared.plans.append(
            DiagnosticPlan(diagnostic.id, diagnostic.name, diagnostic.type, model, diagnostic.timeout, interpreter)
        )
    return prepared


def to_diagnostic_plans(runbook: Runbook, context: PlanContext) -> list[DiagnosticPlan]:
    """Every diagnostic ready to run; raises RunbookError naming each one that cannot be prepared."""
    prepared = prepare_diagnostics(runbook, context)
    if prepared.failed:
        detail = "; ".join(f"{r.id}: {r.error}" for r in prepared.failed)
        raise RunbookError(f"runbook {runbook.id!r}: {detail}", fields=[r.id for r in prepared.failed])
    return prepared.plans

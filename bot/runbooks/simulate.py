"""Dry runs: match an alert, interpret recorded diagnostic values, and show the plan. No hook runs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.alerts import Alert, Severity
from bot.engine.plan import Plan, PlanContext, plan, prepare_diagnostics
from bot.engine.types import DiagnosticResult, HookOutput, Verdict
from bot.errors import InvalidInput
from bot.runbooks.catalog import Catalog
from bot.runbooks.interpret import build_interpreter
from bot.runbooks.schema import Runbook

_AM_SEVERITY = {"critical": Severity.P1, "page": Severity.P1, "high": Severity.P2, "error": Severity.P2}
_AM_SEVERITY |= {"warning": Severity.P3, "info": Severity.P4}


class Recorded(BaseModel):
    """A diagnostic's recorded output in a scenario; `error: timeout` stands for a hook that timed out."""

    model_config = ConfigDict(extra="forbid")

    value: Any = None
    data: dict[str, Any] = Field(default_factory=dict)
    no_data: bool = False
    error: str | None = None


class Expectation(BaseModel):
    """What a scenario expects: the runbook, each diagnostic's verdict and the steps offered, in order."""

    model_config = ConfigDict(extra="forbid")

    runbook: str | None = None
    verdicts: dict[str, Verdict] = Field(default_factory=dict)
    steps: list[str] | None = None


class Scenario(BaseModel):
    """A scenario file: an alert, recorded diagnostic outputs and what should follow."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    environment: str | None = None
    alert: dict[str, Any]
    diagnostics: dict[str, Recorded] = Field(default_factory=dict)
    expect: Expectation = Field(default_factory=Expectation)


@dataclass
class Simulation:
    """A matched runbook, its diagnostic results (from recordings), the plan, and what was left unknown."""

    alert: Alert
    runbook: Runbook | None
    results: dict[str, DiagnosticResult] = field(default_factory=dict)
    unrecorded: list[str] = field(default_factory=list)
    plan: Plan | None = None


def _generic_alert(data: dict[str, Any], source: str) -> Alert:
    name = str(data.get("name") or data.get("alertname") or "ManualAlert")
    labels = {str(k): str(v) for k, v in (data.get("labels") or {}).items()}
    key = hashlib.sha256(repr(sorted(labels.items())).encode() + name.encode()).hexdigest()[:16]
    fields = {k: v for k, v in data.items() if k in Alert.model_fields}
    fields.update(name=name, labels=labels, source=data.get("source", source))
    fields.setdefault("group_key", key)
    fields.setdefault("fingerprint", key)
    fields.setdefault("title", str(data.get("title") or name))
    return Alert.model_validate(fields)


def alert_from_payload(data: dict[str, Any]) -> Alert:
    """An Alert from an Alertmanager v4 webhook or a generic JSON alert (name, service, labels, annotations)."""
    # TODO: switch to the bot.intake parsers once they land; this local conversion only serves simulate.
    if not isinstance(data, dict):
        raise InvalidInput("an alert payload must be a JSON object")
    if isinstance(data.get("alerts"), list) and data["alerts"]:
        first = data["alerts"][0]
        labels = {**(data.get("commonLabels") or {}), **(first.get("labels") or {})}
        annotations = {**(data.get("commonAnnotations") or {}), **(first.get("annotations") or {})}
        generic = {
            "name": labels.get("alertname", "Alert"),
            "service": labels.get("service") or labels.get("app") or labels.get("job") or "unknown",
            "environment": labels.get("env") or labels.get("environment") or "prod",
            "severity": _AM_SEVERITY.get(labels.get("severity", ""), Severity.P3),
            "labels": labels,
            "annotations": annotations,
            "description": annotations.get("description", ""),
            "title": annotations.get("summary") or labels.get("alertname", "Alert"),
            "group_key": data.get("groupKey") or first.get("fingerprint") or "am",
            "fingerprint": first.get("fingerprint") or data.get("groupKey") or "am",
        }
        return _generic_alert(generic, "alertmanager")
    return _generic_alert(data, "json")


def recorded_results(runbook: Runbook, recorded: dict[str, Recorded]) -> dict[str, DiagnosticResult]:
    """Diagnostic results from recorded outputs, read through each diagnostic's interpret block."""
    results = {}
    for diagnostic in runbook.diagnostics:
        output = recorded.get(diagnostic.id)
        if output is None:
            continue
        if output.error is not None:
            status = Verdict.TIMEOUT if output.error == "timeout" else Verdict.ERROR
            results[diagnostic.id] = DiagnosticResult(diagnostic.id, diagnostic.name, status, error=output.error)
            continue
        hook_output = HookOutput(output.value, data=output.data, no_data=output.no_data)
        verdict, note = build_interpreter(diagnostic.interpret)(hook_output)
        results[diagnostic.id] = DiagnosticResult(
            diagnostic.id, diagnostic.name, verdict, output.value, error=note, data=output.data
        )
    return results


def simulate(
    catalog: Catalog, alert: Alert, recorded: dict[str, Recorded] | None = None, runbook: Runbook | None = None
) -> Simulation:
    """Match (unless a runbook is given), interpret the recordings and plan; touches nothing outside."""
    chosen = runbook or catalog.match(alert)
    simulation = Simulation(alert, chosen)
    if chosen is None:
        return simulation
    context = PlanContext(alert=alert, environment=alert.environment)
    prepared = prepare_diagnostics(chosen, context)
    simulation.results = {r.id: r for r in prepared.failed}
    if recorded is not None:
        simulation.results |= recorded_results(chosen, recorded)
    simulation.unrecorded = [d.id for d in chosen.diagnostics if d.id not in simulation.results]
    simulation.plan = plan(chosen, simulation.results, context)
    return simulation


def load_scenario(path: Path) -> Scenario:
    """Read a scenario YAML file."""
    try:
        return Scenario.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise InvalidInput(f"scenario {path}: {exc}") from exc


def scenario_alert(scenario: Scenario) -> Alert:
    """The scenario's alert, with its environment override applied."""
    data = dict(scenario.alert)
    if scenario.environment:
        data["environment"] = scenario.environment
    return alert_from_payload(data)


def mismatches(simulation: Simulation, expect: Expectation) -> list[str]:
    """How the simulation differs from what the scenario expects; empty when it matches."""
    found = []
    matched = simulation.runbook.id if simulation.runbook else None
    if expect.runbook and expect.runbook != matched:
        found.append(f"runbook: expected {expect.runbook}, got {matched}")
    for step_id, verdict in expect.verdicts.items():
        result = simulation.results.get(step_id)
        got = result.status.value if result else "not run"
        if got != verdict.value:
            found.append(f"verdict of {step_id}: expected {verdict.value}, got {got}")
    steps = simulation.plan.step_ids() if simulation.plan else []
    if expect.steps is not None and steps != expect.steps:
        found.append(f"steps: expected {expect.steps}, got {steps}")
    return found

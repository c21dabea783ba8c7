"""Dry runs: match an alert, interpret recorded diagnostic values, and show the plan. No hook runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.alerts import Alert
from bot.engine.plan import Plan, PlanContext, plan, prepare_diagnostics
from bot.engine.types import DiagnosticResult, HookOutput, Verdict
from bot.errors import InvalidInput
from bot.intake.sources import get_source
from bot.runbooks.catalog import Catalog
from bot.runbooks.interpret import build_interpreter
from bot.runbooks.schema import Runbook


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


def detect_source(data: dict[str, Any]) -> str:
    """Which intake source a webhook body looks like: alertmanager, grafana, pagerduty, opsgenie, else generic."""
    if isinstance(data.get("alerts"), list) and "groupKey" in data:
        return "grafana" if "state" in data or "orgId" in data else "alertmanager"
    if isinstance(data.get("event"), dict):
        return "pagerduty"
    if "action" in data and isinstance(data.get("alert"), dict):
        return "opsgenie"
    return "generic"


def alert_from_payload(data: dict[str, Any], source: str | None = None) -> Alert:
    """The first alert of a webhook body, parsed by the same intake parser the bot uses.

    A plain alert object (name, service, labels, annotations …) is read as a generic webhook of one alert.
    """
    if not isinstance(data, dict):
        raise InvalidInput("an alert payload must be a JSON object")
    name = source or detect_source(data)
    found = get_source(name)
    if found is None:
        raise InvalidInput(f"unknown alert source {name!r}", fields=["source"])
    body = data if name != "generic" or isinstance(data.get("alerts"), list) else {"alerts": [data]}
    batch = found.parse(body)
    if not batch.alerts:
        raise InvalidInput(f"the {name} payload carries no alert (only {', '.join(batch.ignored) or 'nothing'})")
    return batch.alerts[0]


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
    catalog: Catalog,
    alert: Alert,
    recorded: dict[str, Recorded] | None = None,
    runbook: Runbook | None = None,
    http_allowed_hosts: tuple[str, ...] = (),
) -> Simulation:
    """Match (unless a runbook is given), interpret the recordings and plan; touches nothing outside."""
    chosen = runbook or catalog.match(alert)
    simulation = Simulation(alert, chosen)
    if chosen is None:
        return simulation
    # HTTP_ALLOWED_HOSTS decides whether URLs from the alert pass, as it would for the bot.
    context = PlanContext(alert=alert, environment=alert.environment, http_allowed_hosts=http_allowed_hosts)
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

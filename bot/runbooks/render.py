"""Plain-text reports of a simulation, for the terminal."""

from __future__ import annotations

from collections.abc import Callable

from bot.policy.offering import describe_offer
from bot.policy.trust import DEFAULT_LEVEL, TrustLevel
from bot.runbooks.simulate import Simulation

# (runbook id, step id, environment) → trust level; the CLI passes the deployment's trust file.
LevelOf = Callable[[str, str, str], TrustLevel]


def _default_level(runbook_id: str, step_id: str, environment: str) -> TrustLevel:
    return DEFAULT_LEVEL


def _value(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def render_simulation(simulation: Simulation, level_of: LevelOf = _default_level) -> str:
    """The matched runbook, each diagnostic's verdict, the decisions and why, the steps and their guards."""
    alert, runbook = simulation.alert, simulation.runbook
    lines = [f"alert     {alert.name}  service={alert.service}  env={alert.environment}  severity={alert.severity}"]
    if runbook is None:
        lines.append("runbook   no runbook matches this alert")
        return "\n".join(lines)
    lines.append(f"runbook   {runbook.id} v{runbook.version}: {runbook.name}  (owner {runbook.owner})")
    lines += ["", "diagnostics"]
    for diagnostic in runbook.diagnostics:
        result = simulation.results.get(diagnostic.id)
        if result is None:
            lines.append(f"  {diagnostic.id:<26} {'unknown':<9} no recorded value ({diagnostic.type} not run)")
            continue
        note = f"  ({result.error})" if result.error else ""
        lines.append(f"  {diagnostic.id:<26} {result.status.value:<9} value={_value(result.value)}{note}")
    lines += ["", "decisions (in order)"]
    for trace in simulation.plan.decisions if simulation.plan else ():
        mark = "FIRED" if trace.fired else ("ERROR" if trace.error else "no")
        lines.append(f"  {mark:<6} {trace.decision_id:<24} when {trace.condition.strip()}")
        if trace.error:
            lines.append(f"         failed closed: {trace.error}")
    lines += ["", "steps offered"]
    steps = simulation.plan.steps if simulation.plan else ()
    for number, step in enumerate(steps, 1):
        remediation = step.remediation
        action = f" -> {remediation.action.type}" if remediation.action else ""
        lines.append(f"  {number}. {step.step_id} [{remediation.kind}{action}] {remediation.name}")
        # The same evaluation the live bot makes when it offers the step (trust level included).
        offer = describe_offer(remediation, level_of(runbook.id, step.step_id, alert.environment))
        others = [g for g in step.guards if not g.startswith(("approval ", "manual:"))]
        lines.append(f"     because {step.decision_id}; {offer}" + (f"; guards: {', '.join(others)}" if others else ""))
    if not steps:
        lines.append("  none")
    for skipped in simulation.plan.skipped if simulation.plan else ():
        lines.append(f"  skipped {skipped.step_id} (from {skipped.decision_id}): {skipped.reason}")
    if simulation.unrecorded:
        lines += ["", f"not recorded: {', '.join(simulation.unrecorded)} (conditions reading them fail closed)"]
    return "\n".join(lines)

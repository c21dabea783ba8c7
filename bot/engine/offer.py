"""What the bot offers a human for one planned step: a neutral record the Slack renderer shows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OfferedStep:
    """One step the plan offers: what it is, exactly what would run, why, and its guards."""

    id: str
    name: str
    kind: str
    description: str
    what_runs: str
    reason: str
    guards: list[str] = field(default_factory=list)
    instructions: str = ""
    irreversible: bool = False


@dataclass(frozen=True)
class PlanOutcome:
    """The planner's answer for one incident: steps to offer plus notes (e.g. recorded condition errors)."""

    runbook_id: str
    runbook_name: str
    steps: list[OfferedStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

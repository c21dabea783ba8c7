"""Records shared by the diagnostics runner, the planner and the runbook interpreter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Verdict(StrEnum):
    """Outcome of one diagnostic step."""

    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"
    ERROR = "error"
    TIMEOUT = "timeout"

    @property
    def rank(self) -> int:
        """Higher is worse; used to pick the overall verdict."""
        return {"healthy": 0, "warning": 1, "error": 2, "timeout": 2, "critical": 3}[self.value]


@dataclass(frozen=True)
class HookOutput:
    """What a diagnostic hook returns: `value` and `data` are bound in CEL as `value` and `result`."""

    value: Any
    evidence: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    no_data: bool = False


# Turns a hook's output into a verdict plus an optional note (for example a CEL error, recorded).
Interpreter = Callable[[HookOutput], tuple[Verdict, str | None]]


@dataclass(frozen=True)
class DiagnosticPlan:
    """One diagnostic ready to run: hook name, validated config and how to read its output."""

    id: str
    name: str
    hook: str
    config: BaseModel | dict[str, Any]
    timeout_s: float = 10.0
    interpret: Interpreter | None = None


@dataclass(frozen=True)
class DiagnosticResult:
    """One diagnostic's outcome, as posted to Slack and bound in decision conditions."""

    id: str
    name: str
    status: Verdict
    value: Any = None
    evidence: str = ""
    duration_ms: float = 0.0
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def binding(self) -> dict[str, Any]:
        """What decision conditions see as `diagnostics.<id>`."""
        return {
            "status": self.status.value,
            "value": self.value,
            "result": self.data,
            "error": self.error or "",
            "duration_ms": self.duration_ms,
        }


def overall_verdict(results: list[DiagnosticResult]) -> Verdict:
    """The worst verdict among the results (healthy when there are none)."""
    worst = Verdict.HEALTHY
    for result in results:
        if result.status.rank > worst.rank:
            worst = result.status
    return worst

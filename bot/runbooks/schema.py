"""The runbook format: pydantic models for `runbooks/*.yaml`; unknown fields are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator

from bot.alerts import Severity
from bot.runbooks.conditions import Condition

# Shipped runbooks point editors at this file, kept in sync by a test; `runbookctl schema` prints it.
SCHEMA_FILE = "runbook.schema.json"

StepId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
RunbookId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]
HookType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
Verdicts = Literal["healthy", "warning", "critical"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> Any:
    """Seconds from a number or a string like `30s`, `5m`, `1h`, `250ms`; other input passes to validation."""
    if isinstance(value, str):
        found = _DURATION.match(value)
        if not found:
            raise ValueError(f"invalid duration {value!r}: use seconds or a string like 30s, 5m, 1h")
        return float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(gt=0, le=3600),
    WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 3600}, {"type": "string"}]}),
]


class Model(BaseModel):
    """Base of every runbook model: unknown fields are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class Trigger(Model):
    """When a runbook applies: alert name, label matchers and a CEL filter over `alert`, all of which must hold."""

    alert: str | None = Field(None, description="Alert name, exactly as the source sends it.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels that must equal these values.")
    filter: Condition | None = Field(None, description="CEL over `alert`; an error counts as no match.")
    manual: bool = Field(False, description="Can be started by hand with /incident run.")

    @model_validator(mode="after")
    def _says_something(self) -> Trigger:
        if not (self.alert or self.labels or self.filter or self.manual):
            raise ValueError("a trigger needs at least one of alert, labels, filter or manual")
        return self

    def specificity(self) -> int:
        """How many things this trigger checks; the most specific matching trigger wins."""
        return int(self.alert is not None) + len(self.labels) + int(self.filter is not None)


class Interpret(Model):
    """CEL over `value`, `result` and `no_data`; checked critical, then warning, then healthy."""

    critical: Condition | None = None
    warning: Condition | None = None
    healthy: Condition | None = None
    no_data: Verdicts | None = Field(None, description="Verdict when the hook returned no data (default warning).")


class Diagnostic(Model):
    """One read-only check run by a diagnostic hook."""

    id: StepId
    name: str = Field(min_length=1)
    description: str = ""
    type: HookType = Field(description="Diagnostic hook name, e.g. prometheus_query.")
    config: dict[str, Any] = Field(default_factory=dict)
    timeout: Duration = 10.0
    interpret: Interpret | None = None


class Decision(Model):
    """A CEL condition over `diagnostics.<id>` and `alert`, and the steps to offer when it holds."""

    id: StepId
    description: str = ""
    when: Condition
    offer: list[StepId] = Field(min_length=1)
    stop: bool = Field(False, description="When this decision fires, evaluate no later decisions.")


class Action(Model):
    """An action hook and its config."""

    type: HookType
    config: dict[str, Any] = Field(default_factory=dict)


class Safety(Model):
    """Guards on a remediation; approval is required unless turned off explicitly."""

    requires_approval: bool = True
    approvers: list[str] = Field(default_factory=list, description="Slack user groups or users who may approve.")
    environments: list[str] = Field(default_factory=list, description="Where it may run (empty: the runbook's).")
    four_eyes: bool = Field(False, description="Two different people: the requester cannot approve.")
    irreversible: bool = False
    max_per_hour: int | None = Field(None, ge=1)


class Expect(Model):
    """What the action's output must show for the step to count as done."""

    patterns: list[str] = Field(default_factory=list, description="Regular expressions that must all match.")
    allow_failure: bool = False

    @model_validator(mode="after")
    def _patterns_compile(self) -> Expect:
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return self


class Remediation(Model):
    """A step a decision can offer: manual instructions, an automated action or an escalation."""

    id: StepId
    name: str = Field(min_length=1)
    description: str = ""
    kind: Literal["manual", "automated", "escalate"]
    action: Action | None = None
    instructions: str | None = None
    safety: Safety = Field(default_factory=Safety)
    expect: Expect | None = None
    rollback: Action | None = None
    timeout: Duration = 300.0

    @model_validator(mode="after")
    def _kind_fits(self) -> Remediation:
        if self.kind == "manual" and not self.instructions:
            raise ValueError("a manual remediation needs instructions")
        if self.kind != "manual" and self.action is None:
            raise ValueError(f"an {self.kind} remediation needs an action")
        return self


class Links(Model):
    """Where to look: a dashboard and the docs."""

    dashboard: Url | None = None
    docs: Url | None = None


class Runbook(Model):
    """One runbook file."""

    id: RunbookId
    name: str = Field(min_length=1)
    description: str = ""
    version: int = Field(1, ge=1)
    owner: str = Field(min_length=1, description="Owning team, e.g. @payments-oncall.")
    service: str = Field(min_length=1, description="Service it is for, or * for any service.")
    severity: Severity = Severity.P3
    environments: list[str] = Field(default_factory=list, description="Where it applies (empty: everywhere).")
    triggers: list[Trigger] = Field(min_length=1)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    remediations: list[Remediation] = Field(default_factory=list)
    escalation: str | None = Field(None, description="Escalation policy name under runbooks/escalation/.")
    links: Links = Field(default_factory=Links)
    allowed_hosts: list[str] | None = Field(
        None, description="Host globs URLs built from alert data may reach; narrows HTTP_ALLOWED_HOSTS."
    )
    allowed_namespaces: list[str] | None = Field(
        None, description="Namespace globs Kubernetes names from alert data may reach."
    )

    def diagnostic(self, step_id: str) -> Diagnostic | None:
        """The diagnostic with this id, if any."""
        return next((d for d in self.diagnostics if d.id == step_id), None)

    def remediation(self, step_id: str) -> Remediation | None:
        """The remediation with this id, if any."""
        return next((r for r in self.remediations if r.id == step_id), None)


Loc = tuple[str | int, ...]


def iter_conditions(runbook: Runbook) -> Iterator[tuple[Loc, Condition, frozenset[str]]]:
    """Every condition with its path in the file and the variables it may read."""
    for i, trigger in enumerate(runbook.triggers):
        if trigger.filter:
            yield ("triggers", i, "filter"), trigger.filter, frozenset({"alert"})
    for i, diagnostic in enumerate(runbook.diagnostics):
        block = diagnostic.interpret
        for name in ("critical", "warning", "healthy"):
            condition = getattr(block, name) if block else None
            if condition is not None:
                yield ("diagnostics", i, "interpret", name), condition, frozenset({"value", "result", "no_data"})
    for i, decision in enumerate(runbook.decisions):
        yield ("decisions", i, "when"), decision.when, frozenset({"diagnostics", "alert"})


def dump_runbook(runbook: Runbook) -> dict[str, Any]:
    """Plain data that loads back into an equal runbook (durations in seconds, conditions as text)."""
    return runbook.model_dump(mode="json", exclude_defaults=True)

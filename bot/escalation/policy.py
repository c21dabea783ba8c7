"""Escalation policies (runbooks/escalation/policies.yaml) and the pure plan of who is paged when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.alerts import Severity
from bot.errors import InvalidInput
from bot.escalation.schedule import Schedule, on_call


class UserTarget(BaseModel):
    """Page one Slack user."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str = Field(pattern=r"^[UW][A-Z0-9]{2,}$")


class UserGroupTarget(BaseModel):
    """Page a Slack user group (mention it in the channel)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    usergroup: str = Field(pattern=r"^S[A-Z0-9]{2,}$")


class ScheduleTarget(BaseModel):
    """Page whoever an on-call schedule names at the moment of paging."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schedule: str


class PagerTarget(BaseModel):
    """Page through an outside pager (the `page` hook)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    pager: Literal["pagerduty", "opsgenie"]


Target = UserTarget | UserGroupTarget | ScheduleTarget | PagerTarget


class Level(BaseModel):
    """One escalation level: page `targets`, wait for an ack, page them again `repeat` times, move on."""

    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(min_length=1)
    wait_minutes: float = Field(5, ge=0)
    repeat: int = Field(0, ge=0, le=10)


class SeverityRule(BaseModel):
    """Extra targets for one severity, paged at once or after a delay."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity
    also_page: list[Target] = Field(min_length=1)
    immediately: bool = True
    after_minutes: float = Field(0, ge=0)

    def delay(self) -> timedelta:
        """Time after the trigger at which these targets are paged."""
        return timedelta(0) if self.immediately else timedelta(minutes=self.after_minutes)


class Policy(BaseModel):
    """Ordered levels plus severity rules; `loops` runs the whole ladder again that many times."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    levels: list[Level] = Field(min_length=1)
    severity_rules: list[SeverityRule] = Field(default_factory=list)
    loops: int = Field(0, ge=0, le=5)


class PolicyBook(BaseModel):
    """Every policy, the service → policy map and the default policy."""

    model_config = ConfigDict(extra="forbid")

    policies: dict[str, Policy] = Field(min_length=1)
    services: dict[str, str] = Field(default_factory=dict)
    default: str

    @model_validator(mode="after")
    def _known_policies(self) -> PolicyBook:
        for name in [self.default, *self.services.values()]:
            if name not in self.policies:
                raise ValueError(f"unknown policy {name!r}")
        return self

    def policy_name_for(self, service: str) -> str:
        """Name of the policy for `service`, else the default."""
        return self.services.get(service, self.default)

    def policy_for(self, service: str) -> Policy:
        """The policy for `service`, else the default."""
        return self.policies[self.policy_name_for(service)]

    def schedule_names(self) -> set[str]:
        """Every schedule a policy refers to."""
        found: set[str] = set()
        for policy in self.policies.values():
            for targets in [lv.targets for lv in policy.levels] + [r.also_page for r in policy.severity_rules]:
                found.update(t.schedule for t in targets if isinstance(t, ScheduleTarget))
        return found


class TargetKind(StrEnum):
    """What a resolved page target is."""

    USER = "user"
    USERGROUP = "usergroup"
    PAGER = "pager"


@dataclass(frozen=True)
class PageTarget:
    """A target resolved for one page: a user (maybe via a schedule), a user group or a pager."""

    kind: TargetKind
    id: str
    via: str | None = None


@dataclass(frozen=True)
class Step:
    """One planned page: level 0 is a severity rule; `round` counts repeats of a level."""

    seq: int
    level: int
    round: int
    targets: tuple[Target, ...]
    due_at: datetime
    reason: str


@dataclass(frozen=True)
class ResolvedStep:
    """A step with its targets resolved; `unstaffed` names schedules with nobody on call."""

    step: Step
    targets: tuple[PageTarget, ...]
    unstaffed: tuple[str, ...]


def plan_escalation(policy: Policy, severity: Severity, triggered_at: datetime) -> list[Step]:
    """Every page the policy makes if nobody acknowledges, in due order."""
    steps: list[tuple[datetime, int, int, tuple[Target, ...], str]] = []
    for rule in policy.severity_rules:
        if rule.severity is severity:
            reason = f"{severity.value}: severity rule"
            steps.append((triggered_at + rule.delay(), 0, 0, tuple(rule.also_page), reason))
    at = triggered_at
    for loop in range(policy.loops + 1):
        for number, level in enumerate(policy.levels, start=1):
            for rnd in range(level.repeat + 1):
                reason = _reason(number, rnd, loop)
                steps.append((at, number, rnd + loop * (level.repeat + 1), tuple(level.targets), reason))
                at += timedelta(minutes=level.wait_minutes)
    steps.sort(key=lambda s: (s[0], s[1]))
    return [Step(i, lv, rnd, tg, due, why) for i, (due, lv, rnd, tg, why) in enumerate(steps)]


def _reason(level: int, rnd: int, loop: int) -> str:
    if level == 1 and rnd == 0 and loop == 0:
        return "new incident"
    if rnd == 0 and loop == 0:
        return f"no ack: escalating to level {level}"
    return f"no ack: paging level {level} again"


def resolve_targets(
    targets: Sequence[Target], schedules: Mapping[str, Schedule], at: datetime
) -> tuple[tuple[PageTarget, ...], tuple[str, ...]]:
    """Targets as pageable ids at `at` (schedules looked up then), plus schedules with nobody on call."""
    out: list[PageTarget] = []
    unstaffed: list[str] = []
    for target in targets:
        if isinstance(target, UserTarget):
            out.append(PageTarget(TargetKind.USER, target.user))
        elif isinstance(target, UserGroupTarget):
            out.append(PageTarget(TargetKind.USERGROUP, target.usergroup))
        elif isinstance(target, PagerTarget):
            out.append(PageTarget(TargetKind.PAGER, target.pager))
        else:
            if target.schedule not in schedules:
                raise InvalidInput(f"unknown schedule {target.schedule!r}", fields=["schedule"])
            user = on_call(schedules[target.schedule], at)
            if user is None:
                unstaffed.append(target.schedule)
            else:
                out.append(PageTarget(TargetKind.USER, user, via=target.schedule))
    return tuple(dict.fromkeys(out)), tuple(unstaffed)


def escalation_steps(
    policy: Policy, severity: Severity, triggered_at: datetime, schedules: Mapping[str, Schedule], now: datetime
) -> list[ResolvedStep]:
    """The plan with targets resolved at each step's due time (or `now`, for steps already due)."""
    resolved = []
    for step in plan_escalation(policy, severity, triggered_at):
        targets, unstaffed = resolve_targets(step.targets, schedules, max(step.due_at, now))
        resolved.append(ResolvedStep(step, targets, unstaffed))
    return resolved

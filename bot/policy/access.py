"""Who may do what to an incident: roles, the access policy and the one pure `decide` every door asks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class AccessRole(StrEnum):
    """Roles resolved at the moment of an action (see docs/security.md)."""

    ANYONE = "anyone"
    RESPONDER = "responder"
    COMMANDER = "commander"
    INCIDENT_ADMIN = "incident-admin"
    ONCALL = "on-call"


R = AccessRole
DECLARE = "declare"
DECLARE_PROTECTED = "declare-protected"
COMMANDER_SELF = "commander-self"
COMMANDER_OTHER = "commander"
# Roles other than commander: taking one yourself, or giving it to someone else.
ROLE_SELF = "role-self"
ROLE_OTHER = "role"
# Actions the edge asks about that are not `/incident` subcommand names.
ACK_BUTTON = "ack"
DEFAULT_ACTION = "default"
DEFAULT_PROTECTED = ("prod", "production")
_RESPONDERS = (R.RESPONDER, R.COMMANDER, R.INCIDENT_ADMIN)
_LEADS = (R.COMMANDER, R.INCIDENT_ADMIN)


class AccessRule(BaseModel):
    """Who may take one action: `roles` once the incident has a commander, `without_commander` before."""

    model_config = ConfigDict(extra="forbid")

    roles: list[AccessRole] = Field(min_length=1)
    without_commander: list[AccessRole] | None = Field(
        default=None, description="roles while the incident has no commander (default: the same as roles)"
    )

    def allowed(self, has_commander: bool) -> tuple[AccessRole, ...]:
        """The roles that may act in this incident state."""
        if has_commander or self.without_commander is None:
            return tuple(self.roles)
        return tuple(self.without_commander)


def _rule(roles: tuple[AccessRole, ...], without: tuple[AccessRole, ...] | None = None) -> AccessRule:
    return AccessRule(roles=list(roles), without_commander=list(without) if without is not None else None)


# The defaults; docs/security.md has the same table and a test checks the two agree.
DEFAULT_RULES: dict[str, AccessRule] = {
    DECLARE: _rule((R.ANYONE,)),
    DECLARE_PROTECTED: _rule((R.INCIDENT_ADMIN, R.ONCALL)),
    **{name: _rule((R.ANYONE,)) for name in ("help", "status", "timeline", "list", "oncall")},
    **{name: _rule(_RESPONDERS) for name in ("ack", "update", "note", "mitigating", "request", "postmortem")},
    "followup": _rule(_RESPONDERS),
    **{
        name: _rule(_LEADS, (R.RESPONDER, R.COMMANDER, R.INCIDENT_ADMIN))
        for name in ("resolve", "close", "reopen", "severity", "pause", "resume")
    },
    COMMANDER_SELF: _rule(_LEADS, (R.RESPONDER, R.INCIDENT_ADMIN)),
    COMMANDER_OTHER: _rule(_LEADS, (R.INCIDENT_ADMIN,)),
    ROLE_SELF: _rule(_RESPONDERS),
    ROLE_OTHER: _rule(_LEADS, _RESPONDERS),
    # A subcommand the policy does not name yet is for responders: closed rather than open.
    DEFAULT_ACTION: _rule(_RESPONDERS),
}


class AccessPolicy(BaseModel):
    """The contents of runbooks/policy/access.yaml; every field is optional and defaults as documented."""

    model_config = ConfigDict(extra="forbid")

    incident_admins: list[str] = Field(
        default_factory=list, description="Slack user ids (U…/W…), user group ids (S…) or group @handles"
    )
    protected_environments: list[str] = Field(default_factory=lambda: list(DEFAULT_PROTECTED))
    rules: dict[str, AccessRule] = Field(
        default_factory=dict, description="per-action overrides of the default rules, by action name"
    )

    def rule_for(self, action: str) -> tuple[str, AccessRule]:
        """The rule's name and the rule that governs `action` (the file's, else the default, else `default`)."""
        for name in (action, DEFAULT_ACTION):
            if name in self.rules:
                return name, self.rules[name]
            if name in DEFAULT_RULES:
                return name, DEFAULT_RULES[name]
        raise AssertionError("the default rule is always defined")

    def is_protected(self, environment: str) -> bool:
        """Whether declaring an incident in `environment` needs an incident admin or the on-call."""
        return environment.lower() in {e.lower() for e in self.protected_environments}


class IncidentFacts(Protocol):
    """What a decision reads of an incident (an Incident, or a draft for `declare`)."""

    @property
    def commander(self) -> str | None: ...


@dataclass(frozen=True)
class Actor:
    """The person acting and the roles they hold right now for this incident."""

    user: str
    roles: frozenset[AccessRole]


@dataclass(frozen=True)
class Allow:
    """The action may go ahead."""

    rule: str


@dataclass(frozen=True)
class Refusal:
    """The action is refused by `rule`; `allowed` are the roles that may take it."""

    rule: str
    action: str
    allowed: tuple[AccessRole, ...]

    def text(self) -> str:
        """One sentence for the refused person: what, which rule, who may."""
        return (
            f"you may not run `{self.action}` here: access rule `{self.rule}` allows "
            f"{describe_roles(self.allowed)} (runbooks/policy/access.yaml; see docs/security.md)"
        )


Decision = Allow | Refusal

ROLE_WORDS = {
    R.ANYONE: "anyone",
    R.RESPONDER: "a responder (incident channel member, paged, on call or in the responder group)",
    R.COMMANDER: "the incident's commander",
    R.INCIDENT_ADMIN: "an incident admin",
    R.ONCALL: "the on-call for the service",
}


def describe_roles(roles: tuple[AccessRole, ...]) -> str:
    """Roles in words, joined with 'or'."""
    words = [ROLE_WORDS[r] for r in roles]
    return " or ".join(words) if words else "nobody"


def allowed_roles(
    action: str, incident: IncidentFacts | None, policy: AccessPolicy
) -> tuple[str, tuple[AccessRole, ...]]:
    """The governing rule's name and the roles it allows in the incident's current state."""
    name, rule = policy.rule_for(action)
    has_commander = incident is not None and incident.commander is not None
    return name, rule.allowed(has_commander)


def decide(actor: Actor, action: str, incident: IncidentFacts | None, policy: AccessPolicy | None = None) -> Decision:
    """Allow the action when the actor holds one of the roles its rule allows now; else the refusal naming the rule."""
    name, roles = allowed_roles(action, incident, policy or AccessPolicy())
    # The commander role is a fact about the incident, not a claim: held exactly by its commander.
    held = set(actor.roles) - {R.COMMANDER}
    if incident is not None and incident.commander == actor.user:
        held.add(R.COMMANDER)
    if R.ANYONE in roles or held & set(roles):
        return Allow(name)
    return Refusal(name, action, roles)


def commander_action(actor: str, target: str) -> str:
    """`commander-self` when the actor names themselves, else `commander`."""
    return COMMANDER_SELF if actor == target else COMMANDER_OTHER


def role_action(role: str, actor: str, target: str) -> str:
    """The rule for giving `role` to `target`: the commander rules for commander, else `role-self` or `role`."""
    if role == COMMANDER_OTHER:
        return commander_action(actor, target)
    return ROLE_SELF if actor == target else ROLE_OTHER

"""Status-page records: public statuses, components, the config that maps services to components."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from bot.alerts import Severity


class PageStatus(StrEnum):
    """What a stakeholder update says about the incident (Statuspage's incident statuses)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class ComponentStatus(StrEnum):
    """A component's public status (Statuspage's component statuses)."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded_performance"
    PARTIAL = "partial_outage"
    MAJOR = "major_outage"


# Worse first: the page shows a component at the worst status of its open incidents.
COMPONENT_ORDER = [
    ComponentStatus.MAJOR,
    ComponentStatus.PARTIAL,
    ComponentStatus.DEGRADED,
    ComponentStatus.OPERATIONAL,
]
STATUS_BY_SEVERITY = {
    Severity.P1: ComponentStatus.MAJOR,
    Severity.P2: ComponentStatus.PARTIAL,
    Severity.P3: ComponentStatus.DEGRADED,
    Severity.P4: ComponentStatus.DEGRADED,
}


class Impact(StrEnum):
    """An incident's public impact (Statuspage's `impact_override` values)."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


# The same steps as the component statuses: an outage of everything is critical, a degradation minor.
IMPACT_BY_SEVERITY = {
    Severity.P1: Impact.CRITICAL,
    Severity.P2: Impact.MAJOR,
    Severity.P3: Impact.MINOR,
    Severity.P4: Impact.MINOR,
}


class Component(BaseModel):
    """One component shown on the page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=100)
    statuspage_id: str | None = Field(default=None, description="the component's id on Atlassian Statuspage")


class StatusPageConfig(BaseModel):
    """runbooks/policy/statuspage.yaml: the components, which services they cover, what publishes itself."""

    model_config = ConfigDict(extra="forbid")

    title: str = "Service status"
    components: list[Component] = Field(default_factory=list)
    services: dict[str, list[str]] = Field(default_factory=dict, description="incident service → component ids")
    publish_automatically: list[Severity] = Field(
        default_factory=lambda: [Severity.P1], description="severities whose incidents appear on the page at once"
    )
    opening_message: str = "We are investigating a problem affecting this service."
    resolved_message: str = "This incident has been resolved."

    def components_for(self, service: str) -> tuple[Component, ...]:
        """The components an incident of `service` affects."""
        wanted = set(self.services.get(service, []))
        return tuple(c for c in self.components if c.id in wanted)

    def problems(self) -> list[str]:
        """Semantic problems: duplicate component ids, services naming unknown components."""
        found: list[str] = []
        ids = [c.id for c in self.components]
        found += [f"component id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
        for service, names in sorted(self.services.items()):
            found += [f"service {service!r} names unknown component {n!r}" for n in names if n not in ids]
        return found


@dataclass(frozen=True)
class PageUpdate:
    """One published update: its id (the idempotency key), status, public text and time."""

    update_id: str
    status: PageStatus
    body: str
    at: datetime


@dataclass(frozen=True)
class PageIncident:
    """What the page shows of an incident."""

    incident_id: str
    title: str
    severity: Severity
    components: tuple[Component, ...]
    started_at: datetime

    @property
    def component_status(self) -> ComponentStatus:
        """The status its components take while it is open."""
        return STATUS_BY_SEVERITY[self.severity]

    @property
    def impact(self) -> Impact:
        """Its public impact while it is open."""
        return IMPACT_BY_SEVERITY[self.severity]

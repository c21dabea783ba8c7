"""The normalised alert every intake source is translated into."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class AlertStatus(StrEnum):
    """Whether the alert is firing or has resolved."""

    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """Incident severity, P1 the worst."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 for P1 ... 4 for P4; lower is worse."""
        return int(self.value[1])


class AlertLinks(BaseModel):
    """Links an alert source offers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dashboard: str | None = None
    runbook: str | None = None
    silence: str | None = None
    source: str | None = None


class Alert(BaseModel):
    """One alert from any source, normalised; frozen, as one parsed body's alerts serve its re-deliveries too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    name: str
    status: AlertStatus = AlertStatus.FIRING
    group_key: str
    fingerprint: str
    title: str
    description: str = ""
    service: str = "unknown"
    environment: str = "prod"
    severity: Severity = Severity.P3
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    value: float | None = None
    links: AlertLinks = Field(default_factory=AlertLinks)
    # Alerts of the same group message the source left out (Alertmanager/Grafana `truncatedAlerts`).
    truncated_alerts: int = Field(default=0, ge=0)

    def delivery_id(self) -> str:
        """Identity of this alert state; a re-delivery of the same state has the same id."""
        stamp = (self.ends_at if self.status is AlertStatus.RESOLVED else self.starts_at) or ""
        return _delivery_id(self.source, self.fingerprint, self.status.value, str(stamp))


# Every re-delivery of an alert asks for the id of the same four strings again: remember the recent ones.
@lru_cache(maxsize=4096)
def _delivery_id(source: str, fingerprint: str, status: str, stamp: str) -> str:
    raw = json.dumps([source, fingerprint, status, stamp])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)

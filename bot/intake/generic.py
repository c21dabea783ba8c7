"""runbook-bot's own JSON format, for scripts and tools without a dedicated source → Alert.

`{"group_key"?: str, "alerts": [{"name", "status"?, "title"?, "severity"?, "labels"?, ...}]}`, or one alert
alone: `{"name", "status"?, "title"?, ...}`.
Unknown fields are refused (the format is ours, so a typo should not pass silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.alerts import Alert, AlertLinks, AlertStatus
from bot.errors import InvalidInput
from bot.intake.batch import IntakeBatch
from bot.intake.common import as_utc, decode_json, environment_from, load_payload, map_severity, service_from, stable_id

SOURCE = "generic"
MAX_ALERTS = 1000


class GenericAlert(BaseModel):
    """One alert in the generic format."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    status: AlertStatus = AlertStatus.FIRING
    title: str = ""
    description: str = ""
    group_key: str = ""
    fingerprint: str = ""
    service: str = ""
    environment: str = ""
    severity: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    value: float | None = None
    links: AlertLinks = Field(default_factory=AlertLinks)


class GenericPayload(BaseModel):
    """A generic webhook body."""

    model_config = ConfigDict(extra="forbid")

    group_key: str = ""
    alerts: list[GenericAlert] = Field(min_length=1, max_length=MAX_ALERTS)


def single_alert_as_list(body: bytes | Mapping[str, Any]) -> bytes | Mapping[str, Any]:
    """One alert object (it has `name` and no `alerts`) becomes `{"alerts": [it]}`; anything else is left as is."""
    decoded: Any = body
    if isinstance(body, bytes | bytearray):
        try:
            decoded = decode_json(bytes(body))
        except InvalidInput:
            return body  # load_payload reports it, with its code (encoding, syntax, nesting)
    if isinstance(decoded, Mapping) and "name" in decoded and "alerts" not in decoded:
        return {"alerts": [dict(decoded)]}
    return body


def parse_generic(body: bytes | Mapping[str, Any]) -> IntakeBatch:
    """Parse a generic webhook body; the group key defaults to name, service and environment."""
    payload = load_payload(GenericPayload, single_alert_as_list(body))
    return IntakeBatch(source=SOURCE, alerts=[_to_alert(payload.group_key, item) for item in payload.alerts])


def _to_alert(batch_group: str, item: GenericAlert) -> Alert:
    service = item.service or service_from(item.labels)
    environment = item.environment or environment_from(item.labels)
    group = item.group_key or batch_group or f"{item.name}/{service}/{environment}"
    resolved = item.status is AlertStatus.RESOLVED
    return Alert(
        source=SOURCE,
        name=item.name,
        status=item.status,
        group_key=f"{SOURCE}:{group}",
        fingerprint=item.fingerprint or stable_id(item.name, sorted(item.labels.items())),
        title=item.title or item.name,
        description=item.description,
        service=service,
        environment=environment,
        severity=map_severity(item.severity or item.labels.get("severity")),
        labels=item.labels,
        annotations=item.annotations,
        starts_at=as_utc(item.starts_at),
        ends_at=as_utc(item.ends_at) if resolved else None,
        value=item.value,
        links=item.links,
    )

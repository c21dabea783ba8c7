"""Opsgenie outgoing Webhook integration (`action` Create / Acknowledge / Close) → Alert or Acknowledgement.

The alert's `alias` (Opsgenie's de-duplication key) names the group, falling back to `alertId`.
Tags of the form `key:value` and `details` become labels. `createdAt` is epoch milliseconds,
`updatedAt` epoch nanoseconds. Other actions (AddNote, Snooze, ...) are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.alerts import Alert, AlertStatus
from bot.intake.batch import Acknowledgement, IntakeBatch
from bot.intake.common import environment_from, from_epoch, load_payload, map_severity, parse_tags, service_from

SOURCE = "opsgenie"

ACTIONS_FIRING = frozenset({"Create"})
ACTIONS_RESOLVED = frozenset({"Close"})
ACTIONS_ACK = frozenset({"Acknowledge"})


class OpsgenieAlert(BaseModel):
    """The alert an Opsgenie webhook is about."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    alert_id: str = Field(alias="alertId", min_length=1)
    message: str = ""
    description: str = ""
    alias: str = ""
    tiny_id: str = Field(default="", alias="tinyId")
    entity: str = ""
    source: str = ""
    tags: list[str] = Field(default_factory=list)
    details: dict[str, str] = Field(default_factory=dict)
    priority: str = ""
    username: str = ""
    created_at: int | None = Field(default=None, alias="createdAt")
    updated_at: int | None = Field(default=None, alias="updatedAt")

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_number(cls, value: object) -> object:
        # Older integrations send the priority as the bare number 3 instead of "P3".
        if isinstance(value, int) and not isinstance(value, bool):
            return f"P{value}"
        return value

    @field_validator("created_at", "updated_at")
    @classmethod
    def _in_range(cls, value: int | None) -> int | None:
        from_epoch(value)  # raises ValueError naming the field when no date can hold it
        return value


class OpsgenieSource(BaseModel):
    """Who or what performed the action."""

    model_config = ConfigDict(extra="ignore")

    name: str = ""
    type: str = ""


class OpsgeniePayload(BaseModel):
    """An Opsgenie webhook body."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    action: str = Field(min_length=1)
    alert: OpsgenieAlert
    source: OpsgenieSource = Field(default_factory=OpsgenieSource)
    integration_name: str = Field(default="", alias="integrationName")


def parse_opsgenie(body: bytes | Mapping[str, Any]) -> IntakeBatch:
    """Parse an Opsgenie webhook: Create fires, Close resolves, Acknowledge acknowledges."""
    payload = load_payload(OpsgeniePayload, body)
    item = payload.alert
    group_key = f"{SOURCE}:{item.alias or item.alert_id}"
    if payload.action in ACTIONS_ACK:
        actor = item.username or payload.source.name or None
        ack = Acknowledgement(SOURCE, group_key, actor, from_epoch(item.updated_at))
        return IntakeBatch(source=SOURCE, acknowledgements=[ack])
    if payload.action not in ACTIONS_FIRING | ACTIONS_RESOLVED:
        return IntakeBatch(source=SOURCE, ignored=[payload.action])
    return IntakeBatch(source=SOURCE, alerts=[_to_alert(payload.action, item, group_key)])


def _to_alert(action: str, item: OpsgenieAlert, group_key: str) -> Alert:
    firing = action in ACTIONS_FIRING
    labels = {**parse_tags(item.tags), **item.details}
    title = item.message or f"Opsgenie alert {item.tiny_id or item.alert_id}"
    return Alert(
        source=SOURCE,
        name=item.alias or title,
        status=AlertStatus.FIRING if firing else AlertStatus.RESOLVED,
        group_key=group_key,
        fingerprint=item.alert_id,
        title=title,
        description=item.description,
        service=service_from(labels, default=item.entity or "unknown"),
        environment=environment_from(labels),
        severity=map_severity(item.priority),
        labels=labels,
        starts_at=from_epoch(item.created_at),
        ends_at=None if firing else from_epoch(item.updated_at),
    )

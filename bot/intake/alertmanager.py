"""Prometheus Alertmanager webhook (`webhook_config`, payload version "4") → Alert.

One message is one alert group: `groupKey` names the group (one incident), and every alert
in it carries its own firing/resolved status. Alertmanager sends the zero time
`0001-01-01T00:00:00Z` as `endsAt` of firing alerts; `truncatedAlerts` counts alerts left
out when the receiver's `max_alerts` cut the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from bot.alerts import Alert, AlertLinks, AlertStatus
from bot.intake.batch import IntakeBatch
from bot.intake.common import as_utc, environment_from, load_payload, map_severity, service_from, stable_id

SOURCE = "alertmanager"

DASHBOARD_ANNOTATIONS = ("dashboard", "dashboard_url", "grafana_url")
RUNBOOK_ANNOTATIONS = ("runbook_url", "runbook")


class GroupAlert(BaseModel):
    """One alert of an Alertmanager group message."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class GroupMessage(BaseModel):
    """Fields Alertmanager and Grafana group messages share."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    group_key: str = Field(alias="groupKey", min_length=1)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")


class AlertmanagerPayload(GroupMessage):
    """An Alertmanager webhook body, version 4."""

    version: Literal["4"]
    alerts: list[GroupAlert] = Field(min_length=1)


def parse_alertmanager(body: bytes | Mapping[str, Any]) -> IntakeBatch:
    """Parse an Alertmanager webhook body into one alert per entry of its group."""
    payload = load_payload(AlertmanagerPayload, body)
    alerts = [
        group_alert_to_alert(SOURCE, payload, item, AlertLinks(silence=silence_url(payload.external_url, item.labels)))
        for item in payload.alerts
    ]
    return IntakeBatch(source=SOURCE, alerts=alerts)


def group_alert_to_alert(source: str, message: GroupMessage, item: GroupAlert, links: AlertLinks) -> Alert:
    """Normalise one alert of a group message (shared with Grafana)."""
    labels = item.labels
    annotations = item.annotations
    name = labels.get("alertname") or message.group_labels.get("alertname") or "alert"
    status = AlertStatus(item.status)
    return Alert(
        source=source,
        name=name,
        status=status,
        group_key=f"{source}:{message.group_key}",
        fingerprint=item.fingerprint or stable_id(sorted(labels.items())),
        title=annotations.get("summary") or annotations.get("title") or name,
        description=annotations.get("description") or annotations.get("message") or "",
        service=service_from(labels),
        environment=environment_from(labels),
        severity=map_severity(labels.get("severity") or labels.get("priority")),
        labels=dict(labels),
        annotations=dict(annotations),
        starts_at=as_utc(item.starts_at),
        # Alertmanager zeroes endsAt of firing alerts; a firing alert has no end yet.
        ends_at=as_utc(item.ends_at) if status is AlertStatus.RESOLVED else None,
        links=AlertLinks(
            dashboard=links.dashboard or _first(annotations, DASHBOARD_ANNOTATIONS),
            runbook=links.runbook or _first(annotations, RUNBOOK_ANNOTATIONS),
            silence=links.silence,
            source=links.source or item.generator_url or None,
        ),
        truncated_alerts=message.truncated_alerts,
    )


def silence_url(external_url: str, labels: Mapping[str, str]) -> str | None:
    """A link to Alertmanager's new-silence form pre-filled with the alert's labels."""
    if not external_url:
        return None
    matchers = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{external_url.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}"


def _first(values: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((values[n] for n in names if values.get(n)), None)

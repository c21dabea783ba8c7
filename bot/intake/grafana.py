"""Grafana unified-alerting webhook contact point (payload version "1") → Alert.

Grafana's message is an Alertmanager group message plus `orgId`, `state`, `title`,
`message`, and per alert `values`, `silenceURL`, `dashboardURL` and `panelURL`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from bot.alerts import AlertLinks
from bot.intake.alertmanager import GroupAlert, GroupMessage, group_alert_to_alert
from bot.intake.batch import IntakeBatch
from bot.intake.common import load_payload

SOURCE = "grafana"


class GrafanaAlert(GroupAlert):
    """One alert of a Grafana notification."""

    silence_url: str | None = Field(default=None, alias="silenceURL")
    dashboard_url: str | None = Field(default=None, alias="dashboardURL")
    panel_url: str | None = Field(default=None, alias="panelURL")
    image_url: str | None = Field(default=None, alias="imageURL")
    values: dict[str, float | None] | None = None
    value_string: str = Field(default="", alias="valueString")


class GrafanaPayload(GroupMessage):
    """A Grafana webhook body, version 1."""

    version: Literal["1"]
    alerts: list[GrafanaAlert] = Field(min_length=1)
    state: str = ""
    title: str = ""
    message: str = ""
    org_id: int | None = Field(default=None, alias="orgId")


def parse_grafana(body: bytes | Mapping[str, Any]) -> IntakeBatch:
    """Parse a Grafana webhook body into one alert per entry of its group."""
    payload = load_payload(GrafanaPayload, body)
    alerts = []
    for item in payload.alerts:
        links = AlertLinks(dashboard=item.dashboard_url or item.panel_url or None, silence=item.silence_url or None)
        alert = group_alert_to_alert(SOURCE, payload, item, links)
        alerts.append(alert.model_copy(update={"value": _first_value(item.values)}))
    return IntakeBatch(source=SOURCE, alerts=alerts)


def _first_value(values: Mapping[str, float | None] | None) -> float | None:
    # Grafana lists the query (usually ref A) before reduce/threshold expressions.
    return next((v for v in (values or {}).values() if v is not None), None)

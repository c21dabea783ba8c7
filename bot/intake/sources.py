"""The registry of alert sources: URL name → parser and authentication scheme."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.intake.alertmanager import parse_alertmanager
from bot.intake.batch import IntakeBatch
from bot.intake.datadog import parse_datadog
from bot.intake.generic import parse_generic
from bot.intake.grafana import parse_grafana
from bot.intake.opsgenie import parse_opsgenie
from bot.intake.pagerduty import parse_pagerduty

Parser = Callable[[bytes | Mapping[str, Any]], IntakeBatch]
SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class AuthScheme(StrEnum):
    """How a source proves who it is."""

    BEARER = "bearer"  # Authorization: Bearer WEBHOOK_TOKEN
    PAGERDUTY_SIGNATURE = "pagerduty-signature"  # X-PagerDuty-Signature v1 HMAC, or the bearer token
    GRAFANA_SIGNATURE = "grafana-signature"  # X-Grafana-Alerting-Signature HMAC, or the bearer token


@dataclass(frozen=True)
class Source:
    """One alert source: its URL name, parser, authentication scheme and a one-line help text."""

    name: str
    parse: Parser
    auth: AuthScheme
    help: str

    @property
    def path(self) -> str:
        """The URL path the source posts to."""
        return f"/alerts/{self.name}"


_SOURCES: dict[str, Source] = {}


def register_source(name: str, parse: Parser, auth: AuthScheme, help: str) -> Source:
    """Add a source; refuses a bad or duplicate name and a coroutine parser (parsing is pure and sync)."""
    if not SOURCE_NAME.match(name):
        raise ValueError(f"bad source name {name!r}")
    if name in _SOURCES:
        raise ValueError(f"source {name!r} is already registered")
    if not callable(parse) or inspect.iscoroutinefunction(parse):
        raise TypeError(f"source {name!r}: the parser must be a plain function")
    source = Source(name, parse, auth, help)
    _SOURCES[name] = source
    return source


def get_source(name: str) -> Source | None:
    """The source registered under `name`, or None."""
    return _SOURCES.get(name)


def list_sources() -> list[Source]:
    """Every registered source, in registration order."""
    return list(_SOURCES.values())


register_source("alertmanager", parse_alertmanager, AuthScheme.BEARER, "Prometheus Alertmanager webhook_config (v4)")
register_source(
    "grafana", parse_grafana, AuthScheme.GRAFANA_SIGNATURE, "Grafana unified alerting webhook contact point (v1)"
)
register_source("pagerduty", parse_pagerduty, AuthScheme.PAGERDUTY_SIGNATURE, "PagerDuty Webhooks v3, incident events")
register_source("opsgenie", parse_opsgenie, AuthScheme.BEARER, "Opsgenie outgoing Webhook integration")
register_source(
    "datadog", parse_datadog, AuthScheme.BEARER, "Datadog Webhooks integration, default payload or runbook-bot template"
)
register_source("generic", parse_generic, AuthScheme.BEARER, "runbook-bot generic JSON alerts")

"""Declaring an incident by hand: the checked form, the alert it stands for, and the runbook it points to.

A declared incident carries a synthetic first alert (source `slack`), so runbook matching, diagnostics and the
provisioning safety timer treat it exactly as they treat an incident an alert opened.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from bot.alerts import Alert, Severity, utcnow
from bot.errors import StoreError
from bot.incidents.models import EventType, Incident, TimelineEvent
from bot.runbooks.catalog import Catalog, words

if TYPE_CHECKING:
    from bot.incidents.flows import IncidentFlows
    from bot.incidents.store import IncidentStore

MAX_TITLE = 150
MAX_DESCRIPTION = 3000
DECLARED_SOURCE = "slack"
# The alert name of a declared incident no runbook claims by its symptom.
MANUAL_ALERT = "ManualIncident"
# How long a declare request is remembered against redelivery.
DECLARATION_MEMORY_S = 86_400
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class QuotedMessage:
    """The message a "Declare incident from this message" shortcut started from."""

    channel: str
    ts: str
    author: str
    text: str
    permalink: str | None = None


@dataclass(frozen=True)
class Declaration:
    """A checked declare form."""

    title: str
    severity: Severity
    service: str
    environment: str
    description: str = ""
    commander: str | None = None
    private: bool | None = None


def check_declaration(form: Mapping[str, str | None]) -> tuple[Declaration | None, dict[str, str]]:
    """The declaration, or the problems keyed by field (title, severity, service, environment, description, …)."""
    errors: dict[str, str] = {}
    title = (form.get("title") or "").strip()
    if not title:
        errors["title"] = "Give the incident a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"At most {MAX_TITLE} characters, not {len(title)}."
    severity = (form.get("severity") or "").strip().upper()
    if severity not in Severity.__members__:
        errors["severity"] = "Choose P1, P2, P3 or P4."
    service = (form.get("service") or "").strip()
    if not _NAME.match(service):
        errors["service"] = "Choose a service (letters, digits, . _ -; at most 63 characters)."
    environment = (form.get("environment") or "").strip()
    if not _NAME.match(environment):
        errors["environment"] = "Name the environment (letters, digits, . _ -; at most 63 characters)."
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"At most {MAX_DESCRIPTION} characters, not {len(description)}."
    commander = (form.get("commander") or "").strip() or None
    if commander is not None and not _USER.match(commander):
        errors["commander"] = "Choose a person."
    visibility = (form.get("visibility") or "").strip()
    if visibility not in ("", "private", "public"):
        errors["visibility"] = "Choose private or public."
    if errors:
        return None, errors
    private = None if not visibility else visibility == "private"
    return Declaration(title, Severity(severity), service, environment, description, commander, private), {}


def symptom_alert_name(catalog: Catalog, service: str, symptom: str) -> str | None:
    """The alert name of the best runbook that may start by hand for this service and symptom, if words match."""
    if not words(symptom):
        return None
    for runbook in catalog.match_symptom(service, symptom):
        if not any(t.manual for t in runbook.triggers):
            continue
        for trigger in runbook.triggers:
            if trigger.alert and not trigger.labels and trigger.filter is None:
                return trigger.alert
    return None


def declared_alert(declaration: Declaration, alert_name: str | None, now: datetime) -> Alert:
    """The alert a declared incident stands for: one of its own group, never merged with real alerts."""
    name = alert_name or MANUAL_ALERT
    key = uuid.uuid4().hex
    labels = {
        "alertname": name,
        "service": declaration.service,
        "severity": declaration.severity.value,
        "environment": declaration.environment,
    }
    return Alert(
        source=DECLARED_SOURCE,
        name=name,
        group_key=f"declared:{key}",
        fingerprint=f"declared-{key[:16]}",
        title=declaration.title,
        description=declaration.description,
        service=declaration.service,
        environment=declaration.environment,
        severity=declaration.severity,
        labels=labels,
        starts_at=now,
    )


def service_choices(catalog: Catalog | None, mapped: Mapping[str, str] | None) -> list[str]:
    """Services a declarer may pick: those runbooks name and those the escalation map names, sorted."""
    names = {r.service for r in catalog.runbooks.values()} if catalog is not None else set()
    names |= set(mapped or {})
    return sorted(n for n in names if n != "*" and _NAME.match(n))


async def declare_incident_flow(
    store: IncidentStore,
    flows: IncidentFlows,
    catalog: Catalog | None,
    declaration: Declaration,
    actor: str,
    quote: QuotedMessage | None = None,
    now: datetime | None = None,
    request_id: str | None = None,
) -> Incident | None:
    """Open a declared incident: record it with its synthetic alert, then provision it as an alert-opened one.

    With a `request_id` (the submitted form's id) a second delivery of the same request opens nothing and
    returns None: at most one incident per request, even if this replica dies half-way.
    """
    now = now or utcnow()
    if request_id is not None and not await _claim_request(store, request_id):
        return None
    symptom = f"{declaration.title} {declaration.description}"
    name = symptom_alert_name(catalog, declaration.service, symptom) if catalog is not None else None
    alert = declared_alert(declaration, name, now)
    incident = await store.create_incident(
        declaration.title,
        service=declaration.service,
        severity=declaration.severity,
        environment=declaration.environment,
        commander=declaration.commander,
        commander_set_by=actor if declaration.commander else None,
        commander_set_at=now if declaration.commander else None,
        source=DECLARED_SOURCE,
        labels=dict(alert.labels),
        first_alert=alert.model_dump(mode="json"),
        private_channel=declaration.private,
    )
    for event in declaration_events(incident.id, declaration, actor, quote, now):
        await store.append_timeline(event)
    if request_id is not None:
        await _remember(store, request_id, incident.id)
    await flows.open_manual_incident(incident)
    return incident


async def _claim_request(store: IncidentStore, request_id: str) -> bool:
    try:
        claimed = await store.redis.set(store.keys.declaration(request_id), "pending", nx=True, ex=DECLARATION_MEMORY_S)
    except RedisError as exc:
        raise StoreError(f"cannot record the declaration: {exc}") from exc
    return bool(claimed)


async def _remember(store: IncidentStore, request_id: str, incident_id: str) -> None:
    try:
        await store.redis.set(store.keys.declaration(request_id), incident_id, ex=DECLARATION_MEMORY_S)
    except RedisError as exc:
        raise StoreError(f"cannot record the declaration: {exc}") from exc


def declaration_events(
    incident_id: str, declaration: Declaration, actor: str, quote: QuotedMessage | None, now: datetime
) -> list[TimelineEvent]:
    """Timeline entries of a declaration: who declared it, its description and the quoted message."""
    events = [
        TimelineEvent(
            EventType.FIELD,
            incident_id,
            f"declared by <@{actor}>: {declaration.severity.value}, {declaration.service}, {declaration.environment}",
            actor,
            {"kind": "declared", "commander": declaration.commander, "private": declaration.private},
            now,
        )
    ]
    if declaration.description:
        events.append(
            TimelineEvent(EventType.NOTE, incident_id, declaration.description, actor, {"kind": "description"}, now)
        )
    if quote is not None:
        data = {"kind": "quoted_message", "channel": quote.channel, "ts": quote.ts, "author": quote.author}
        data["permalink"] = quote.permalink or ""
        summary = f"quoted message from <@{quote.author}>: {quote.text}"
        events.append(TimelineEvent(EventType.MESSAGE, incident_id, summary, actor, data, now))
    return events

"""Pure rules for how an alert changes an incident (no Redis, no Slack)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts import Alert, AlertStatus
from bot.incidents.models import EventType, Incident, Status, TimelineEvent


def new_incident(number: int, alert: Alert, at: datetime) -> Incident:
    """An incident opened by its first alert."""
    incident = Incident(
        id=f"INC-{number}",
        number=number,
        title=alert.title,
        service=alert.service,
        environment=alert.environment,
        severity=alert.severity,
        labels=dict(alert.labels),
        source=alert.source,
        group_key=alert.group_key,
        links={k: v for k, v in alert.links.model_dump().items() if v},
        first_alert=alert.model_dump(mode="json"),
        triggered_at=at,
    )
    incident.alert_states[alert.fingerprint] = alert.status
    incident.recount_alerts()
    return incident


def first_alert_of(incident: Incident) -> Alert | None:
    """The alert that opened the incident, when there was one."""
    return Alert.model_validate(incident.first_alert) if incident.first_alert else None


def can_reopen(incident: Incident, now: datetime, window: timedelta) -> bool:
    """A resolved incident reopens when its group fires again within the window."""
    if incident.status is not Status.RESOLVED or incident.resolved_at is None:
        return False
    return now - incident.resolved_at <= window


def apply_alert(incident: Incident, alert: Alert, now: datetime, reopen: bool = False) -> list[TimelineEvent]:
    """Fold one alert into the incident; returns the timeline events it caused."""
    events = [
        TimelineEvent(
            type=EventType.ALERT,
            incident_id=incident.id,
            summary=f"{alert.status.value}: {alert.name}",
            actor=alert.source,
            at=now,
            data={
                "fingerprint": alert.fingerprint,
                "status": alert.status.value,
                "delivery": alert.delivery_id(),
            },
        )
    ]
    incident.alert_states[alert.fingerprint] = alert.status
    incident.recount_alerts()
    if alert.severity.rank < incident.severity.rank and alert.status is AlertStatus.FIRING:
        events.append(_field_event(incident, "severity", incident.severity.value, alert.severity.value, now))
        incident.severity = alert.severity
    if reopen:
        incident.transition(Status.TRIGGERED, actor=alert.source, at=now)
        events.append(TimelineEvent(EventType.REOPENED, incident.id, f"reopened by {alert.name}", alert.source, at=now))
    elif incident.is_active and incident.alerts_firing == 0 and alert.truncated_alerts == 0:
        # With truncated alerts the sender left some out: they may still fire, so never auto-resolve on a partial view.
        incident.transition(Status.RESOLVED, actor=alert.source, at=now)
        events.append(
            TimelineEvent(
                EventType.STATUS,
                incident.id,
                "resolved: every alert of the group resolved",
                alert.source,
                data={"status": Status.RESOLVED.value},
                at=now,
            )
        )
    return events


def _field_event(incident: Incident, name: str, old: str, new: str, at: datetime) -> TimelineEvent:
    return TimelineEvent(
        EventType.FIELD,
        incident.id,
        f"{name}: {old} → {new}",
        data={"field": name, "old": old, "new": new},
        at=at,
    )


def reopen_window(minutes: int) -> timedelta:
    """The reopen window as a timedelta."""
    return timedelta(minutes=minutes)

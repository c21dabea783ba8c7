"""Lifecycle timings for metrics: time to acknowledge, mitigate and resolve, and open incidents by severity."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bot import metrics
from bot.alerts import Severity
from bot.incidents.models import ACTIVE_STATUSES, Incident, Status
from bot.incidents.store import IncidentStore

_HISTOGRAMS = {
    Status.ACKNOWLEDGED: metrics.TIME_TO_ACKNOWLEDGE,
    Status.MITIGATING: metrics.TIME_TO_MITIGATE,
    Status.RESOLVED: metrics.TIME_TO_RESOLVE,
}


def lifecycle_seconds(before: Status, after: Incident, at: datetime) -> tuple[Status, float] | None:
    """The timing a move from `before` to the incident's status completes (status reached, seconds), if any."""
    if after.status is before or after.status not in _HISTOGRAMS:
        return None
    stamps = {
        Status.ACKNOWLEDGED: after.acknowledged_at,
        # Mitigating carries no timestamp of its own: the move happens at `at`.
        Status.MITIGATING: at,
        Status.RESOLVED: after.resolved_at,
    }
    reached = stamps[after.status] or at
    return after.status, max(0.0, (reached - after.triggered_at).total_seconds())


def observe_move(before: Status, after: Incident, at: datetime) -> None:
    """Record the move's timing in its histogram, by service and severity."""
    timing = lifecycle_seconds(before, after, at)
    if timing is not None:
        status, seconds = timing
        _HISTOGRAMS[status].labels(after.service, after.severity.value).observe(seconds)


def open_by_severity(incidents: list[Incident]) -> dict[str, int]:
    """How many incidents are active at each severity (every severity present, zero included)."""
    counts = Counter(i.severity.value for i in incidents if i.status in ACTIVE_STATUSES)
    return {s.value: counts.get(s.value, 0) for s in Severity}


async def refresh_open_gauge(store: IncidentStore) -> None:
    """Set the open-incidents gauge from the shared store (called when /metrics is scraped)."""
    for severity, count in open_by_severity(await store.list_open_incidents()).items():
        metrics.INCIDENTS_OPEN.labels(severity).set(count)

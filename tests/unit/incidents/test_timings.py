"""Lifecycle timings: which move completes which timing, and open incidents by severity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.models import Incident, Status
from bot.incidents.timings import lifecycle_seconds, open_by_severity

T0 = datetime(2026, 11, 27, 12, tzinfo=UTC)


def incident(**kw: object) -> Incident:
    return Incident.model_validate({"id": "INC-1", "number": 1, "title": "t", "triggered_at": T0, **kw})


def test_each_move_completes_its_timing() -> None:
    acked = incident(status="acknowledged", acknowledged_at=T0 + timedelta(minutes=4))
    assert lifecycle_seconds(Status.TRIGGERED, acked, T0 + timedelta(hours=1)) == (Status.ACKNOWLEDGED, 240.0)
    mitigating = incident(status="mitigating")
    assert lifecycle_seconds(Status.ACKNOWLEDGED, mitigating, T0 + timedelta(minutes=9)) == (Status.MITIGATING, 540.0)
    resolved = incident(status="resolved", resolved_at=T0 + timedelta(minutes=30))
    assert lifecycle_seconds(Status.MITIGATING, resolved, T0) == (Status.RESOLVED, 1800.0)
    assert lifecycle_seconds(Status.RESOLVED, incident(status="closed"), T0) is None
    assert lifecycle_seconds(Status.ACKNOWLEDGED, acked, T0) is None  # no move


def test_open_by_severity_counts_only_active_incidents() -> None:
    found = [
        incident(severity="P1"),
        incident(severity="P1", status="mitigating"),
        incident(severity="P2", status="resolved"),
        incident(severity="P4", status="acknowledged"),
    ]
    assert open_by_severity(found) == {"P1": 2, "P2": 0, "P3": 0, "P4": 1}

"""The post-mortem draft tells the bot's facts: durations, timeline, steps, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.models import AuditEvent, EventType, Incident, Status, TimelineEvent
from bot.incidents.postmortem import draft_postmortem, duration

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_duration_formats() -> None:
    assert duration(T0, T0 + timedelta(seconds=42)) == "42 s"
    assert duration(T0, T0 + timedelta(minutes=4, seconds=10)) == "4 min 10 s"
    assert duration(T0, T0 + timedelta(hours=1, minutes=5)) == "1 h 05 min"
    assert duration(T0, None) == "n/a"


def test_draft_has_summary_timeline_steps_and_pages() -> None:
    incident = Incident(
        id="INC-7",
        number=7,
        title="checkout | slow",
        service="checkout",
        status=Status.RESOLVED,
        triggered_at=T0,
        acknowledged_at=T0 + timedelta(minutes=3),
        acknowledged_by="U0ALICE001",
        resolved_at=T0 + timedelta(minutes=47),
        runbook_id="demo",
    )
    timeline = [
        TimelineEvent(EventType.OPENED, "INC-7", "opened: checkout slow", "alertmanager", at=T0),
        TimelineEvent(EventType.ALERT, "INC-7", "firing: X", "alertmanager", at=T0),
        TimelineEvent(EventType.ALERT, "INC-7", "firing: Y", "alertmanager", at=T0),
        TimelineEvent(EventType.DIAGNOSTIC, "INC-7", "diagnostics: critical", at=T0 + timedelta(seconds=5)),
        TimelineEvent(
            EventType.STATUS, "INC-7", "triggered → acknowledged", "U0ALICE001", at=T0 + timedelta(minutes=3)
        ),
    ]
    audit = [
        AuditEvent("escalation.page", "bot", "paged", "INC-7", step="level-1", at=T0 + timedelta(seconds=2)),
        AuditEvent("step.execution", "U0BOB00001", "succeeded", "INC-7", step="restart", at=T0 + timedelta(minutes=9)),
    ]
    draft = draft_postmortem(incident, timeline, audit)
    assert "# Post-mortem draft: INC-7 checkout | slow" in draft
    assert "| Time to acknowledge | 3 min 00 s (by U0ALICE001) |" in draft
    assert "| Time to resolve | 47 min 00 s |" in draft
    assert "| 14:00:05 | diagnostic: diagnostics: critical | bot |" in draft
    assert "2 alert notification(s)" in draft and "firing: X" not in draft
    assert "- 14:09:00 step.execution `restart` by U0BOB00001: succeeded" in draft
    assert "- 14:00:02 level-1: paged" in draft


def test_draft_of_a_quiet_incident_says_nothing_ran() -> None:
    incident = Incident(id="INC-1", number=1, title="t", triggered_at=T0)
    draft = draft_postmortem(incident, [], [])
    assert "No remediation step was proposed" in draft and "Nobody was paged" in draft
    assert "| Time to resolve | n/a |" in draft

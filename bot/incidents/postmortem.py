"""A post-mortem draft written from the bot's own record: what happened, when, what was tried, what it did."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.incidents.models import AuditEvent, EventType, Incident, TimelineEvent

# Timeline kinds worth a line in the draft's timeline; alert re-deliveries and field edits are summarised instead.
_TIMELINE_KINDS = frozenset(
    {
        EventType.OPENED,
        EventType.STATUS,
        EventType.REOPENED,
        EventType.DIAGNOSTIC,
        EventType.DECISION,
        EventType.APPROVAL,
        EventType.ACTION,
        EventType.ESCALATION,
        EventType.NOTE,
    }
)


def duration(start: datetime | None, end: datetime | None) -> str:
    """'1 h 05 min', '4 min 10 s', or 'n/a' when either end is missing."""
    if start is None or end is None:
        return "n/a"
    seconds = max(0, round((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(incident: Incident) -> list[str]:
    return [
        f"# Post-mortem draft: {incident.id} {incident.title}",
        "",
        "_Drafted by runbook-bot from its own timeline and audit log. Edit freely: the facts below are what the bot "
        "saw; the causes and lessons are yours to write._",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Service | {_cell(incident.service)} ({_cell(incident.environment)}) |",
        f"| Severity | {incident.severity.value} |",
        f"| Status | {incident.status.value} |",
        f"| Commander | {incident.commander or 'unassigned'} |",
        f"| Triggered | {incident.triggered_at:%Y-%m-%d %H:%M:%S} UTC |",
        f"| Time to acknowledge | {duration(incident.triggered_at, incident.acknowledged_at)} "
        f"(by {incident.acknowledged_by or 'n/a'}) |",
        f"| Time to resolve | {duration(incident.triggered_at, incident.resolved_at)} |",
        f"| Alerts | {incident.alerts_firing} firing, {incident.alerts_resolved} resolved |",
        f"| Reopened | {incident.reopened_count} time(s) |",
        f"| Runbook | {incident.runbook_id or 'none matched'} |",
        "",
    ]


def _timeline(events: Sequence[TimelineEvent]) -> list[str]:
    lines = ["## Timeline (UTC)", "", "| time | what | who |", "|---|---|---|"]
    alerts = [e for e in events if e.type is EventType.ALERT]
    for event in events:
        if event.type in _TIMELINE_KINDS:
            lines.append(f"| {event.at:%H:%M:%S} | {_cell(event.headline())} | {_cell(event.actor)} |")
    lines += ["", f"{len(alerts)} alert notification(s) were recorded for this incident.", ""]
    return lines


def _actions(audit: Sequence[AuditEvent]) -> list[str]:
    steps = [e for e in audit if e.action.startswith("step.")]
    pages = [e for e in audit if e.action == "escalation.page"]
    lines = ["## What the bot offered and ran", ""]
    if not steps:
        lines.append("No remediation step was proposed, approved or run.")
    for event in steps:
        step = f" `{event.step}`" if event.step else ""
        lines.append(f"- {event.at:%H:%M:%S} {event.action}{step} by {event.actor}: {event.outcome}")
    lines += ["", "## Paging", ""]
    if not pages:
        lines.append("Nobody was paged by the bot.")
    for event in pages:
        lines.append(f"- {event.at:%H:%M:%S} {event.step or ''}: {event.outcome}")
    return [*lines, ""]


def _questions() -> list[str]:
    return [
        "## To write",
        "",
        "- **Impact**: who noticed what, for how long?",
        "- **Root cause**: why did it happen, and why then?",
        "- **What went well / what did not**: detection, diagnosis, paging, the runbook.",
        "- **Runbook changes**: diagnostics that were missing, steps that should be offered or promoted.",
        "- **Action items**: owner and due date each.",
        "",
    ]


def draft_postmortem(incident: Incident, timeline: Sequence[TimelineEvent], audit: Sequence[AuditEvent]) -> str:
    """The Markdown draft."""
    return "\n".join([*_summary(incident), *_timeline(timeline), *_actions(audit), *_questions()])

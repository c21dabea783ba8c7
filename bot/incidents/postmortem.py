"""A post-mortem draft written from the bot's own record: what happened, when, who did what, what it did.

Pure: it reads the incident, its timeline, its audit events and its follow-ups, and names people
through a `Namer` (display names for Markdown, mentions for a Slack canvas, ids when nothing is
known). Text that came from outside (titles, alert names, update text) is escaped for Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.followups.models import FollowUp
from bot.incidents.models import AuditEvent, EventType, Incident, TimelineEvent
from bot.incidents.postmortem_timeline import (
    MENTION,
    Namer,
    first_at,
    merged_rows,
    mitigated_at,
    name_actor,
    plain_namer,
)

TIMELINE_HEADING = "## Timeline (UTC)"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|!#~])")


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


def md(text: str) -> str:
    """Outside text made inert in Markdown: special characters escaped, one line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def md_named(text: str, name: Namer) -> str:
    """Outside text escaped for Markdown, its `<@U…>` mentions replaced by the namer's (trusted) output."""
    parts, pos = [], 0
    for found in MENTION.finditer(text):
        parts += [md(text[pos : found.start()]), name(found.group(1))]
        pos = found.end()
    return "".join([*parts, md(text[pos:])])


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at else "n/a"


def _who(user: str | None, name: Namer) -> str:
    return name_actor(user, name) if user else "unassigned"


def _summary(incident: Incident, timeline: Sequence[TimelineEvent], name: Namer) -> list[str]:
    first_alert = first_at(timeline, lambda e: e.type is EventType.ALERT) or incident.triggered_at
    ack = incident.acknowledged_at
    mitigated = mitigated_at(timeline)
    return [
        f"# Post-mortem draft: {incident.id} {md(incident.title)}",
        "",
        "_Drafted by runbook-bot from its own timeline and audit log. The facts below are what the bot recorded; "
        "the causes and lessons are yours to write._",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Service | {md(incident.service)} ({md(incident.environment)}) |",
        f"| Severity | {incident.severity.value} |",
        f"| Status | {incident.status.value} |",
        f"| Commander | {_who(incident.commander, name)} |",
        f"| Impact window | {_when(first_alert)} → {_when(incident.resolved_at)} "
        f"({duration(first_alert, incident.resolved_at)}) |",
        f"| Time to acknowledge | {duration(incident.triggered_at, ack)} (by {_who(incident.acknowledged_by, name)}) |",
        f"| Time to mitigate | {duration(incident.triggered_at, mitigated)} |",
        f"| Time to resolve | {duration(incident.triggered_at, incident.resolved_at)} |",
        f"| Alerts | {incident.alerts_firing} firing, {incident.alerts_resolved} resolved |",
        f"| Reopened | {incident.reopened_count} time(s) |",
        f"| Runbook | {md(incident.runbook_id or 'none matched')} |",
        "",
    ]


def _changes(timeline: Sequence[TimelineEvent], name: Namer) -> list[str]:
    """Severity changes and who held which role when: every FIELD event, whatever field it names."""
    lines = ["## Severity, roles and other changes", ""]
    fields = [e for e in timeline if e.type is EventType.FIELD]
    if not fields:
        lines.append("No severity, role or other field changed.")
    for event in fields:
        who = name_actor(event.actor, name)
        lines.append(f"- {event.at:%H:%M:%S} {md_named(event.summary, name)} (by {who})")
    return [*lines, ""]


def _timeline(timeline: Sequence[TimelineEvent], audit: Sequence[AuditEvent], name: Namer) -> list[str]:
    rows = merged_rows(timeline, audit)
    lines = [
        TIMELINE_HEADING,
        "",
        f"Every event the bot recorded: {len(timeline)} timeline and {len(audit)} audit event(s).",
        "",
        "| time | what | event | who | ref |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        text = md_named(row.text, name)
        lines.append(f"| {row.at:%H:%M:%S} | {row.label} | {text} | {name_actor(row.actor, name)} | {row.ref} |")
    return [*lines, ""]


def _followups(items: Sequence[FollowUp], name: Namer) -> list[str]:
    lines = ["## Follow-ups", ""]
    if not items:
        lines.append("None recorded yet: `/incident followup <text> @owner`.")
    for item in items:
        owner = f" ({_who(item.owner, name)})" if item.owner else ""
        link = f" [{md(item.tracker_key or 'issue')}]({item.tracker_url})" if item.tracker_url else ""
        lines.append(f"- `{item.id}` {item.status.value}{owner}: {md(item.text)}{link}")
    return [*lines, ""]


def _questions() -> list[str]:
    return [
        "## To write",
        "",
        "- **Impact**: who noticed what, for how long?",
        "- **Root cause**: why did it happen, and why then?",
        "- **What went well / what did not**: detection, diagnosis, paging, the runbook.",
        "- **Runbook changes**: diagnostics that were missing, steps that should be offered or promoted.",
        "",
    ]


def draft_postmortem(
    incident: Incident,
    timeline: Sequence[TimelineEvent],
    audit: Sequence[AuditEvent],
    followups: Sequence[FollowUp] = (),
    name: Namer = plain_namer,
) -> str:
    """The Markdown draft; `name` turns a Slack user id into what the reader should see."""
    return "\n".join(
        [
            *_summary(incident, timeline, name),
            *_changes(timeline, name),
            *_timeline(timeline, audit, name),
            *_followups(followups, name),
            *_questions(),
        ]
    )


def timeline_refs(draft: str) -> list[str]:
    """The event references listed in a draft's timeline section, in order (`T-…` and `A-…`)."""
    section = draft.split(TIMELINE_HEADING, 1)[-1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]  # the first is the header
    return [row.rsplit("|", 2)[-2].strip() for row in rows]

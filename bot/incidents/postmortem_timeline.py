"""The post-mortem's merged UTC timeline: one row per timeline event and per audit event, nothing dropped.

Each row carries a reference to the stored event (`T-<stream id>` for the incident's timeline,
`A-<stream id>` for the audit stream), so a reader (and a test) can check the section lists every
recorded event exactly once. Kinds the draft does not know by name (role events, new audit actions)
still get a row, labelled with their own type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.incidents.models import AuditEvent, EventType, TimelineEvent

Namer = Callable[[str], str]

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
# Audit actions by what they mean to a reader; anything else is labelled with its own name.
_AUDIT_LABELS = (
    ("access.", "access refused"),
    ("escalation.ack", "acknowledged"),
    ("escalation.", "paging"),
    ("step.", "approval"),
)
_TIMELINE_LABELS = {
    EventType.OPENED: "opened",
    EventType.ALERT: "alert",
    EventType.STATUS: "status",
    EventType.REOPENED: "reopened",
    EventType.FIELD: "change",
    EventType.DIAGNOSTIC: "evidence",
    EventType.DECISION: "decision",
    EventType.APPROVAL: "approval",
    EventType.ACTION: "execution",
    EventType.ESCALATION: "paging",
    EventType.MESSAGE: "message",
    EventType.NOTE: "note",
}


@dataclass(frozen=True)
class Row:
    """One line of the merged timeline."""

    at: datetime
    ref: str
    label: str
    text: str
    actor: str


def plain_namer(user_id: str) -> str:
    """The identity namer: ids stay ids."""
    return user_id


def name_actor(actor: str, name: Namer) -> str:
    """A Slack user id through the namer; 'bot', sources and other words unchanged."""
    return name(actor) if _USER_ID.match(actor) else actor


def user_ids_in(timeline: Sequence[TimelineEvent], audit: Sequence[AuditEvent]) -> set[str]:
    """Every Slack user id an actor or a mention names: what a namer must know."""
    found: set[str] = set()
    for text in [e.actor for e in timeline] + [e.actor for e in audit]:
        if _USER_ID.match(text):
            found.add(text)
    for text in [e.summary for e in timeline] + [e.outcome for e in audit]:
        found.update(m.group(1) for m in MENTION.finditer(text))
    for event in timeline:
        if event.type is EventType.FIELD:
            found.update(str(v) for k, v in event.data.items() if k in ("old", "new") and _USER_ID.match(str(v)))
    return found


def audit_label(action: str) -> str:
    """What an audit action is, for a reader."""
    for prefix, label in _AUDIT_LABELS:
        if action.startswith(prefix):
            return label
    return action


def _timeline_text(event: TimelineEvent) -> str:
    text = event.summary
    kind = event.data.get("kind")
    if kind == "status_update":
        published = "published" if event.data.get("published") else "not published"
        return f"update ({event.data.get('status') or 'no status'}, {published}): {event.summary}"
    if event.type is EventType.DIAGNOSTIC and event.data:
        verdicts = ", ".join(f"{k} {v.get('status')}" for k, v in sorted(event.data.items()) if isinstance(v, dict))
        return f"{text} ({verdicts})" if verdicts else text
    return text


def _audit_text(event: AuditEvent) -> str:
    step = f" {event.step}" if event.step else ""
    # Refusals carry their reason as the outcome and any detail in data; other records may name a reason.
    reason = event.data.get("reason") or event.data.get("detail")
    why = f" (why: {reason})" if reason else ""
    return f"{event.action}{step}: {event.outcome}{why}"


def merged_rows(timeline: Sequence[TimelineEvent], audit: Sequence[AuditEvent]) -> list[Row]:
    """One row per stored event, oldest first; timeline before audit at the same instant."""
    rows = [
        Row(e.at, f"T-{e.stream_id or i}", _TIMELINE_LABELS.get(e.type, e.type.value), _timeline_text(e), e.actor)
        for i, e in enumerate(timeline)
    ]
    rows += [
        Row(e.at, f"A-{e.stream_id or i}", audit_label(e.action), _audit_text(e), e.actor) for i, e in enumerate(audit)
    ]
    # sorted() is stable: events of one stream keep their stored order when times tie.
    return sorted(rows, key=lambda r: r.at)


def first_at(events: Sequence[TimelineEvent], match: Callable[[TimelineEvent], bool]) -> datetime | None:
    """When the first event that matches happened, or None."""
    return next((e.at for e in events if match(e)), None)


def mitigated_at(events: Sequence[TimelineEvent]) -> datetime | None:
    """The first sign of mitigation: the status moving to mitigating, or a step that ran successfully."""

    def mitigating(e: TimelineEvent) -> bool:
        if e.type is EventType.STATUS and e.data.get("status") == "mitigating":
            return True
        # A step's result reads "<step>: succeeded (<verdict>)" (bot/approvals/execute.py).
        return e.type is EventType.ACTION and ": succeeded" in e.summary

    return first_at(events, mitigating)

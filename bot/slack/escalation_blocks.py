"""Block Kit for escalation: the page, the countdown, reminders and /oncall. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from bot.escalation.engine import PendingPage
from bot.escalation.policy import PageTarget, TargetKind
from bot.incidents.models import Incident
from bot.slack.blocks import Block, header_text, section
from bot.slack.escape import escape_text


class EscalationAction(StrEnum):
    """Action ids of escalation buttons."""

    ACK = "escalation_ack"


def mention(target: PageTarget) -> str:
    """How a target is named in Slack: a user or group mention, or the pager by name."""
    if target.kind is TargetKind.USER:
        return f"<@{target.id}>"
    if target.kind is TargetKind.USERGROUP:
        return f"<!subteam^{target.id}>"
    return f"{target.id} pager"


def ack_button(incident_id: str) -> Block:
    """The Acknowledge button; its value is only the incident id."""
    return {
        "type": "actions",
        "block_id": "escalation",
        "elements": [
            {
                "type": "button",
                "action_id": EscalationAction.ACK.value,
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "style": "primary",
                "value": incident_id,
            }
        ],
    }


def page_message(incident: Incident, level: int, targets: Sequence[PageTarget], reason: str) -> list[Block]:
    """The page posted in the incident channel and sent by DM."""
    who = ", ".join(mention(t) for t in targets) or "nobody (no one is on call)"
    where = f" in <#{incident.channel_id}>" if incident.channel_id else ""
    level_text = "severity rule" if level == 0 else f"level {level}"
    text = f":rotating_light: *Paging* {who} for *{header_text(incident)}*{where} — {level_text}"
    return [section(text + f"\n_{escape_text(reason)}_"), ack_button(incident.id)]


def countdown(incident: Incident, pending: Sequence[PendingPage], now: datetime) -> list[Block]:
    """The escalation status line, edited in place: who is paged next and when, or who acknowledged."""
    if incident.acknowledged_by:
        at = incident.acknowledged_at.strftime("%H:%M UTC") if incident.acknowledged_at else ""
        text = f":white_check_mark: Acknowledged by <@{incident.acknowledged_by}> at {at}; escalation stopped."
        return [section(text)]
    # A page already due is being sent right now (its timer is held while it runs): show what comes after it.
    pending = [p for p in pending if p.due_at > now]
    if not pending:
        return [section(":bell: Escalation: no further pages planned.")]
    upcoming = pending[0]
    who = ", ".join(mention(t) for t in upcoming.targets) or "nobody on call"
    minutes = max(0, round((upcoming.due_at - now).total_seconds() / 60))
    text = f":hourglass_flowing_sand: No ack yet: paging {who} at {upcoming.due_at:%H:%M} UTC (in {minutes} min)"
    if len(pending) > 1:
        text += f"; {len(pending) - 1} more page(s) after that"
    return [section(text), ack_button(incident.id)]


def reminder(incident: Incident, reason: str) -> list[Block]:
    """A nudge in the incident channel."""
    return [section(f":alarm_clock: {escape_text(reason)} — {incident.id}")]

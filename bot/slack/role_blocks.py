"""Pure Block Kit for incident roles: who holds each on the header, claim buttons for the empty ones, the topic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.incidents.models import Incident
from bot.incidents.roles import holder
from bot.policy.roles_file import DEFAULT_ROLES, RoleDef
from bot.slack.escape import escape_text, truncate

CLAIM_ACTION = "incident_role_claim"
TOPIC_CHARS = 250
MAX_BUTTONS = 5  # Slack's limit per actions block is 25; a header keeps it short


def claim_value(incident_id: str, role: str) -> str:
    """The button value a claim carries: the incident and the role."""
    return f"{incident_id}|{role}"


def parse_claim_value(value: str) -> tuple[str, str]:
    """(incident id, role) from a claim button's value."""
    incident_id, _, role = value.partition("|")
    return incident_id, role


def _who(user: str | None) -> str:
    return f"<@{user}>" if user else "_unclaimed_"


def role_blocks(incident: Incident, roles: Sequence[RoleDef] = DEFAULT_ROLES) -> list[dict[str, Any]]:
    """A context line with every role's holder and, while the incident is active, a claim button per empty role."""
    line = " · ".join(f"*{escape_text(r.title)}* {_who(holder(incident, r.name))}" for r in roles)
    blocks: list[dict[str, Any]] = [
        {"type": "context", "block_id": "roles", "elements": [{"type": "mrkdwn", "text": truncate(line, 3000)}]}
    ]
    empty = [r for r in roles if holder(incident, r.name) is None]
    if incident.is_active and empty:
        buttons = [
            {
                "type": "button",
                "action_id": f"{CLAIM_ACTION}:{r.name}",
                "text": {"type": "plain_text", "text": truncate(f"Claim {r.title.lower()}", 75), "emoji": True},
                "value": claim_value(incident.id, r.name),
            }
            for r in empty[:MAX_BUTTONS]
        ]
        blocks.append({"type": "actions", "block_id": "role_claims", "elements": buttons})
    return blocks


def with_roles(topic: str, incident: Incident, roles: Sequence[RoleDef] = DEFAULT_ROLES) -> str:
    """The channel topic and ` · communications: <@U…>` for each filled role but commander, whole parts only."""
    for role in roles:
        who = holder(incident, role.name)
        part = f" · {role.name}: <@{who}>"
        if role.name != "commander" and who and len(topic) + len(part) <= TOPIC_CHARS:
            topic += part
    return topic

"""The "Add follow-up" button on the message announcing a post-mortem draft."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class FollowupAction(StrEnum):
    """Action ids of the follow-up surfaces."""

    ADD = "postmortem_add_followup"


def add_followup_button(incident_id: str) -> dict[str, Any]:
    """The button; its value is the incident id, checked against the channel it is clicked in."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Add follow-up"},
        "action_id": FollowupAction.ADD.value,
        "value": incident_id,
    }


def draft_blocks(text: str, incident_id: str) -> list[dict[str, Any]]:
    """The message announcing a draft: its link (`text`, mrkdwn), and the button."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [add_followup_button(incident_id)]},
    ]

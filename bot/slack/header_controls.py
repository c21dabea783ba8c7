"""The incident header's menus: severity and communication status (pure Block Kit)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from bot.alerts import Severity
from bot.incidents.models import CommStatus, Incident, Status

CONTROLS_BLOCK = "incident_controls"
SEPARATOR = "|"


class HeaderAction(StrEnum):
    """Action ids of the header's menus; each option's value is `<incident id>|<choice>`."""

    SEVERITY = "incident_severity"
    COMM_STATUS = "incident_comm_status"


def _option(incident_id: str, label: str, choice: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": f"{incident_id}{SEPARATOR}{choice}"}


def _select(action: HeaderAction, placeholder: str, options: list[dict[str, Any]], current: int) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": action.value,
        "placeholder": {"type": "plain_text", "text": placeholder},
        "options": options,
        "initial_option": options[current],
    }


def header_controls(incident: Incident) -> dict[str, Any] | None:
    """The actions block with both menus; none once the incident is closed."""
    if incident.status is Status.CLOSED:
        return None
    severities = list(Severity)
    statuses = list(CommStatus)
    severity = [_option(incident.id, f"Severity {s.value}", s.value) for s in severities]
    comms = [_option(incident.id, f"Status: {s.value}", s.value) for s in statuses]
    return {
        "type": "actions",
        "block_id": CONTROLS_BLOCK,
        "elements": [
            _select(HeaderAction.SEVERITY, "Severity", severity, severities.index(incident.severity)),
            _select(HeaderAction.COMM_STATUS, "Status", comms, statuses.index(incident.comm_status)),
        ],
    }


def read_choice(value: str) -> tuple[str, str]:
    """(incident id, choice) from an option value; ('', '') when malformed."""
    incident_id, sep, choice = value.partition(SEPARATOR)
    return (incident_id, choice) if sep and incident_id and choice else ("", "")

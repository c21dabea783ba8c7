"""The communication status in Slack: `/incident status <word>` and the header menu share `apply_comm_status`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.incidents.changes import change_comm_status_flow
from bot.incidents.models import CommStatus, Incident

if TYPE_CHECKING:
    from bot.services import BotServices

# Setting the status tells stakeholders something: the access policy's `update` rule governs it.
COMM_STATUS_ACTION = "update"


def pop_comm_word(args: list[str]) -> CommStatus | None:
    """Remove and return the first argument that names a communication status, if any."""
    for index, word in enumerate(args):
        if word.lower() in CommStatus.__members__.values():
            args.pop(index)
            return CommStatus(word.lower())
    return None


async def apply_comm_status(services: BotServices, incident: Incident, status: CommStatus, actor: str) -> str:
    """Set the status, refresh the header, and say what happened."""
    change = await change_comm_status_flow(services.store, incident.id, status, actor)
    if not change.changed:
        return f"{incident.id} is already {status.value}."
    services.tasks.spawn(services.notifier.incident_updated(change.incident), "header", incident.id)
    return f"{incident.id} status {change.old} → {status.value} by <@{actor}>."

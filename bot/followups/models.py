"""A follow-up (action item) and the tracker issue it became."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from bot.incidents.models import Incident


class FollowUpStatus(StrEnum):
    """Where an action item stands."""

    OUTSTANDING = "outstanding"
    DONE = "done"
    WONT_DO = "wont-do"


class FollowUp(BaseModel):
    """One action item of an incident."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str
    incident_id: str
    text: str
    owner: str | None = None
    status: FollowUpStatus = FollowUpStatus.OUTSTANDING
    created_by: str
    created_at: datetime
    tracker: str | None = None
    tracker_key: str | None = None
    tracker_url: str | None = None

    @property
    def label(self) -> str:
        """A tracker label unique to this follow-up: how a retried export finds an issue it already made."""
        return "rb-" + self.id.lower()


@dataclass(frozen=True)
class TrackerIssue:
    """An issue created on a tracker."""

    key: str
    url: str


class TrackerExporter(Protocol):
    """Creates follow-ups as tracker issues: GitHub, Jira or Linear."""

    name: str

    async def create(self, item: FollowUp, incident: Incident, retrying: bool) -> TrackerIssue:
        """Create the issue; when `retrying`, first return the one an earlier attempt made, if any."""
        ...


def issue_title(item: FollowUp) -> str:
    """The tracker issue's title."""
    return item.text if len(item.text) <= 200 else item.text[:197] + "..."


def issue_lines(item: FollowUp, incident: Incident) -> list[str]:
    """The plain-text lines of the issue's description."""
    lines = [item.text, "", f"Follow-up {item.id} of incident {incident.id}: {incident.title}"]
    if item.owner:
        lines.append(f"Owner (Slack): {item.owner}")
    lines.append(f"Recorded by {item.created_by} at {item.created_at:%Y-%m-%d %H:%M} UTC")
    return lines


def inert_markdown(text: str) -> str:
    """Markdown text that cannot mention anyone: a zero-width space after every @."""
    return text.replace("@", "@\u200b")

"""Stakeholder updates: recorded in the timeline, posted to chat, published to the status page on request.

`publish_update_flow` is the one entry point: `/incident update` calls it, and so can a modal.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.alerts import utcnow
from bot.errors import InvalidInput
from bot.incidents.changes import change_comm_status_flow
from bot.incidents.models import CommStatus, EventType, Incident, TimelineEvent
from bot.incidents.store import IncidentStore
from bot.statuspage.models import PageStatus

if TYPE_CHECKING:
    from bot.escalation.service import EscalationService
    from bot.statuspage.service import StatusPageService

STATUS_UPDATE = "status_update"
MAX_UPDATE_CHARS = 3000
_STATUS_PREFIX = re.compile(r"^\s*(investigating|identified|monitoring|resolved)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class StakeholderUpdate:
    """One update: who wrote what, with which communication status, and whether it was published."""

    update_id: str
    incident_id: str
    actor: str
    status: PageStatus
    text: str
    publish: bool
    at: datetime


class UpdatePoster(Protocol):
    """The chat side: the incident channel and, for published updates, the incidents channel thread."""

    async def post_update(self, incident: Incident, update: StakeholderUpdate) -> None:
        """Post the update where it belongs."""
        ...


def split_status(text: str) -> tuple[PageStatus | None, str]:
    """`identified: text` → (IDENTIFIED, 'text'); text without a status word → (None, text)."""
    found = _STATUS_PREFIX.match(text)
    if not found:
        return None, text.strip()
    return PageStatus(found.group(1).lower()), text[found.end() :].strip()


def parse_status(value: str | PageStatus | None) -> PageStatus | None:
    """A status word, checked; None stays None."""
    if value is None or isinstance(value, PageStatus):
        return value
    try:
        return PageStatus(value.strip().lower())
    except ValueError:
        words = ", ".join(s.value for s in PageStatus)
        raise InvalidInput(f"status must be one of {words}, not {value!r}", ["status"]) from None


class UpdateFlows:
    """Record, post and publish stakeholder updates."""

    def __init__(
        self,
        store: IncidentStore,
        poster: UpdatePoster,
        status_page: StatusPageService | None = None,
        escalation: EscalationService | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.poster = poster
        self.status_page = status_page
        self.escalation = escalation
        self.clock = clock

    async def publish_update_flow(
        self, incident_id: str, actor: str, status: str | PageStatus | None, text: str, publish: bool
    ) -> StakeholderUpdate:
        """Record the update in the timeline, post it, publish it when asked, and push the update reminder back."""
        text = text.strip()
        if not text:
            raise InvalidInput("write the update: `/incident update identified: rolled back --publish`", ["text"])
        if len(text) > MAX_UPDATE_CHARS:
            raise InvalidInput(f"an update has at most {MAX_UPDATE_CHARS} characters, not {len(text)}", ["text"])
        incident = await self.store.get_incident_or_raise(incident_id)
        # Without a word the update keeps the incident's communication status (the header's and /incident status').
        chosen = parse_status(status) or PageStatus(incident.comm_status.value)
        update = StakeholderUpdate(uuid.uuid4().hex[:12], incident.id, actor, chosen, text, publish, self.clock())
        # Recorded first: whatever fails after this, the update is in the timeline.
        data = {"kind": STATUS_UPDATE, "status": chosen.value, "published": publish, "update_id": update.update_id}
        await self.store.append_timeline(TimelineEvent(EventType.NOTE, incident.id, text, actor, data, update.at))
        await change_comm_status_flow(self.store, incident.id, CommStatus(chosen.value), actor)
        if publish and self.status_page is not None:
            await self.status_page.publish_update(incident, update.update_id, chosen, text)
        await self.poster.post_update(incident, update)
        if self.escalation is not None:
            await self.escalation.status_updated(incident.id)
        return update

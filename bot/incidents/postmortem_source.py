"""Everything a post-mortem draft is written from, read from the store in one place."""

from __future__ import annotations

from dataclasses import dataclass

from bot.followups.models import FollowUp
from bot.followups.store import FollowUpStore
from bot.incidents.models import AuditEvent, Incident, TimelineEvent
from bot.incidents.postmortem import draft_postmortem
from bot.incidents.postmortem_timeline import Namer, plain_namer, user_ids_in
from bot.incidents.store import IncidentStore


@dataclass(frozen=True)
class PostmortemRecord:
    """An incident with its timeline, audit events and follow-ups, as stored at one moment."""

    incident: Incident
    timeline: list[TimelineEvent]
    audit: list[AuditEvent]
    followups: list[FollowUp]

    def user_ids(self) -> set[str]:
        """Every person the draft names."""
        found = user_ids_in(self.timeline, self.audit)
        found.update(u for u in (self.incident.commander, self.incident.acknowledged_by) if u)
        found.update(f.owner for f in self.followups if f.owner)
        return {u for u in found if u[:1] in ("U", "W")}

    def draft(self, name: Namer = plain_namer) -> str:
        """The Markdown draft, people named by `name`."""
        return draft_postmortem(self.incident, self.timeline, self.audit, self.followups, name)


async def read_postmortem_record(store: IncidentStore, incident_id: str) -> PostmortemRecord:
    """Load what the draft needs; IncidentNotFound when there is no such incident."""
    incident = await store.get_incident_or_raise(incident_id)
    timeline = await store.read_timeline(incident_id)
    audit = await store.read_audit(incident_id=incident_id)
    followups = await FollowUpStore(store.redis, store.keys).list_incident(incident_id)
    return PostmortemRecord(incident, timeline, audit, followups)

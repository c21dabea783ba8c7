"""Follow-up flows: record an action item, change its status, export it to the tracker as a durable job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.alerts import utcnow
from bot.durable import DurableJobs, JobRun
from bot.errors import InvalidInput
from bot.escalation.scheduler import TimerScheduler
from bot.followups.models import FollowUp, FollowUpStatus, TrackerExporter
from bot.followups.store import FollowUpStore
from bot.incidents.models import EventType, TimelineEvent
from bot.incidents.store import IncidentStore

EXPORT_JOB = "followup-export"
MAX_TEXT = 1000


class FollowUpService:
    """Records follow-ups and exports each one once."""

    def __init__(
        self,
        followups: FollowUpStore,
        incidents: IncidentStore,
        jobs: DurableJobs | None = None,
        exporter: TrackerExporter | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.followups = followups
        self.incidents = incidents
        self.jobs = jobs
        self.exporter = exporter
        self.clock = clock

    def register(self, scheduler: TimerScheduler) -> None:
        """Run export jobs from this scheduler."""
        if self.jobs is not None:
            self.jobs.register(scheduler, EXPORT_JOB, self.run_export)

    async def record_followup_flow(self, incident_id: str, actor: str, text: str, owner: str | None) -> FollowUp:
        """Store the follow-up, note it in the timeline and queue its export."""
        text = " ".join(text.split())
        if not text:
            raise InvalidInput(
                "describe the follow-up: `/incident followup add a connection-pool alert @bob`", ["text"]
            )
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"a follow-up has at most {MAX_TEXT} characters, not {len(text)}", ["text"])
        incident = await self.incidents.get_incident_or_raise(incident_id)
        item = await self.followups.add(incident.id, text, owner, actor, self.clock())
        data = {"kind": "followup", "followup": item.id, "owner": owner, "status": item.status.value}
        await self.incidents.append_timeline(
            TimelineEvent(EventType.NOTE, incident.id, f"follow-up {item.id}: {text}", actor, data, self.clock())
        )
        if self.jobs is not None and self.exporter is not None:
            await self.jobs.submit(incident.id, f"fu-{item.id}", EXPORT_JOB, {"followup": item.id})
        return item

    async def set_status_flow(self, incident_id: str, followup_id: str, status: FollowUpStatus, actor: str) -> FollowUp:
        """Mark a follow-up outstanding, done or won't do; noted in the timeline."""

        def change(item: FollowUp) -> None:
            item.status = status

        item = await self.followups.update(incident_id, followup_id, change)
        data = {"kind": "followup_status", "followup": item.id, "status": status.value}
        summary = f"follow-up {item.id} → {status.value}"
        await self.incidents.append_timeline(
            TimelineEvent(EventType.NOTE, incident_id, summary, actor, data, self.clock())
        )
        return item

    async def run_export(self, run: JobRun) -> str:
        """Create the tracker issue (once) and write its link back to the follow-up and the timeline."""
        if self.exporter is None:
            return "no tracker configured"
        item = await self.followups.get_or_raise(run.incident_id, str(run.payload["followup"]))
        if item.tracker_url:
            return item.tracker_url
        incident = await self.incidents.get_incident_or_raise(run.incident_id)
        issue = await self.exporter.create(item, incident, run.retrying)
        name = self.exporter.name

        def link(found: FollowUp) -> None:
            found.tracker, found.tracker_key, found.tracker_url = name, issue.key, issue.url

        await self.followups.update(item.incident_id, item.id, link)
        data = {"kind": "followup_exported", "followup": item.id, "tracker": name, "key": issue.key, "url": issue.url}
        await self.incidents.append_timeline(
            TimelineEvent(
                EventType.NOTE, item.incident_id, f"follow-up {item.id} → {name} {issue.key}", "bot", data, self.clock()
            )
        )
        return issue.url

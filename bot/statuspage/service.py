"""The status-page service: which incident events reach the page, each write a durable idempotent job.

An incident appears when it opens with a severity the config publishes automatically, or with its first
published update; published updates follow; its resolve closes it on the page. A severity change of an
incident on the page re-sets its impact and components without a public update. Every write is one job per
backend keyed by incident and update id, chained to the previous job of the same backend, so updates
arrive in order and a retry never posts twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.alerts import Severity, utcnow
from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.durable import DONE, FAILED, DurableJobs, JobRun, NotYet, Permanent
from bot.escalation.scheduler import TimerScheduler
from bot.incidents.models import EventType, Incident, TimelineEvent
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.statuspage.models import PageIncident, PageStatus, PageUpdate, StatusPageConfig

JOB_KIND = "statuspage"
PUBLISHED_FIELD = "published"
# The status of the last update submitted: whether the page shows the incident open or resolved.
SHOWN_FIELD = "shown"
IMPACT_ACTION = "impact"
IMPACT_EVENT = "statuspage_impact"
IMPACT_SET_EVENT = "statuspage_impact_set"

# Returns the previous job id of this backend and records the new one (and any field pairs after it), in one step.
CHAIN = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return old or ''
"""


class StatusPageBackend(Protocol):
    """Somewhere published updates go: the built-in page, Atlassian Statuspage."""

    name: str

    async def publish(self, incident: PageIncident, update: PageUpdate, retrying: bool) -> str:
        """Show this update (creating the incident on the page if needed); idempotent when `retrying`."""
        ...

    async def set_impact(self, incident: PageIncident, retrying: bool) -> str:
        """Show the incident's current impact and component status, adding no update and creating nothing."""
        ...


class StatusPageService:
    """Turns incident events into status-page jobs and runs them."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        store: IncidentStore,
        jobs: DurableJobs,
        backends: Mapping[str, StatusPageBackend],
        config: StatusPageConfig,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.store = store
        self.jobs = jobs
        self.backends = dict(backends)
        self.config = config
        self._chain = redis.register_script(CHAIN)

    def register(self, scheduler: TimerScheduler) -> None:
        """Run status-page jobs from this scheduler."""
        self.jobs.register(scheduler, JOB_KIND, self.run_job)

    async def incident_opened(self, incident: Incident) -> None:
        """Show the incident at once when its severity publishes automatically."""
        if incident.severity in self.config.publish_automatically:
            await self.submit(incident, f"open-{incident.reopened_count}", PageStatus.INVESTIGATING, None)

    async def incident_ended(self, incident: Incident) -> None:
        """Resolve the incident on the page, if it was ever shown there."""
        if await self.is_published(incident.id):
            await self.submit(incident, f"resolved-{incident.reopened_count}", PageStatus.RESOLVED, None)

    async def publish_update(self, incident: Incident, update_id: str, status: PageStatus, text: str) -> None:
        """Publish a stakeholder update (shows the incident if it is not on the page yet)."""
        await self.submit(incident, update_id, status, text)

    async def is_published(self, incident_id: str) -> bool:
        """Whether any status-page job was submitted for the incident."""
        return bool(await _call(self.redis.hexists(self.keys.status_page(incident_id), PUBLISHED_FIELD)))

    async def submit(
        self, incident: Incident, update_id: str, status: PageStatus, text: str | None, at: datetime | None = None
    ) -> list[str]:
        """One job per backend for this update; returns the job ids (a repeated call creates nothing)."""
        body = text or (self.config.resolved_message if status is PageStatus.RESOLVED else self.config.opening_message)
        payload = {"update": update_id, "status": status.value, "body": body, "at": (at or utcnow()).isoformat()}
        marks = [PUBLISHED_FIELD, "1", SHOWN_FIELD, status.value]
        return [
            await self._enqueue(incident.id, name, f"sp-{name}-{update_id}", payload, marks)
            for name in sorted(self.backends)
        ]

    async def severity_changed(self, incident: Incident, old: Severity, actor: str) -> str:
        """Re-set the impact of an incident the page shows open (no public update); the timeline says what or why not.

        An incident never published stays off the page: its severity is not public until someone publishes.
        Returns a short note for the person who changed it.
        """
        why_not = await self._why_impact_stays(incident.id)
        shown = self.page_incident(incident)
        data: dict[str, Any] = {"kind": IMPACT_EVENT, "old": old.value, "new": incident.severity.value}
        if why_not:
            note = f"status page not changed: {why_not}"
            data |= {"sent": False, "reason": why_not}
        else:
            # The version names the change, so one change is one job per backend however often it is submitted.
            job = f"impact-v{incident.version}"
            payload = {"action": IMPACT_ACTION, "update": job, "severity": incident.severity.value}
            ids = [
                await self._enqueue(incident.id, name, f"sp-{name}-{job}", payload, [])
                for name in sorted(self.backends)
            ]
            note = f"status page: impact {shown.impact.value}, components {shown.component_status.value}"
            data |= {
                "sent": True,
                "impact": shown.impact.value,
                "components": shown.component_status.value,
                "jobs": ids,
            }
        await self.store.append_timeline(TimelineEvent(EventType.NOTE, incident.id, note, actor, data))
        return note

    async def run_job(self, run: JobRun) -> str:
        """Apply one update to one backend, once the previous update of that backend is done."""
        p: dict[str, Any] = run.payload
        backend = self.backends.get(str(p["backend"]))
        if backend is None:
            raise Permanent(f"status-page backend {p['backend']!r} is not configured")
        after = str(p.get("after") or "")
        if after and after != run.job_id:
            previous = await self.jobs.get(run.incident_id, after)
            if previous is not None and previous.state not in (DONE, FAILED):
                raise NotYet(f"waiting for {after}")
        incident = await self.store.get_incident_or_raise(run.incident_id)
        if p.get("action") == IMPACT_ACTION:
            return await self._run_impact(backend, incident, run.retrying)
        update = PageUpdate(str(p["update"]), PageStatus(p["status"]), str(p["body"]), datetime.fromisoformat(p["at"]))
        return await backend.publish(self.page_incident(incident), update, run.retrying)

    async def _run_impact(self, backend: StatusPageBackend, incident: Incident, retrying: bool) -> str:
        # Checked again when it runs: a resolve submitted meanwhile (and done before it, by the chain) must
        # leave the components operational. The severity is read now, so the latest change wins.
        why_not = await self._why_impact_stays(incident.id)
        result = (
            f"impact not set: {why_not}"
            if why_not
            else await backend.set_impact(self.page_incident(incident), retrying)
        )
        # What the page now shows, in the timeline beside the change (a crash right after this may note it twice).
        data = {
            "kind": IMPACT_SET_EVENT,
            "backend": backend.name,
            "severity": incident.severity.value,
            "result": result,
        }
        await self.store.append_timeline(
            TimelineEvent(EventType.NOTE, incident.id, f"status page: {result}", "bot", data)
        )
        return result

    async def _why_impact_stays(self, incident_id: str) -> str:
        """Empty when the page shows the incident open; otherwise why a severity change leaves the page alone."""
        # Named fields only: the built-in page keeps every update's text in the same hash.
        fields = [PUBLISHED_FIELD, SHOWN_FIELD, *(f"last:{name}" for name in sorted(self.backends))]
        published, shown, *last = await _call(self.redis.hmget(self.keys.status_page(incident_id), fields))
        if not published:
            return "never published"
        if not shown and any("-resolved-" in (job or "") for job in last):
            # A record written before the shown status was kept: a backend's last job being a resolve tells.
            shown = PageStatus.RESOLVED.value
        return "the status page shows it resolved" if shown == PageStatus.RESOLVED.value else ""

    async def _enqueue(
        self, incident_id: str, name: str, job_id: str, payload: dict[str, Any], marks: list[str]
    ) -> str:
        """Submit one backend's job chained after its previous one; a job id already known is left alone."""
        if await self.jobs.get(incident_id, job_id) is None:
            args = [f"last:{name}", job_id, *marks]
            after = await _call(self._chain(keys=[self.keys.status_page(incident_id)], args=args))
            await self.jobs.submit(incident_id, job_id, JOB_KIND, {**payload, "backend": name, "after": after})
        return job_id

    def page_incident(self, incident: Incident) -> PageIncident:
        """What the page shows of the incident."""
        components = self.config.components_for(incident.service)
        return PageIncident(incident.id, incident.title, incident.severity, components, incident.triggered_at)

"""The status-page service: which incident events reach the page, each write a durable idempotent job.

An incident appears when it opens with a severity the config publishes automatically, or with its first
published update; published updates follow; its resolve closes it on the page. Every write is one job per
backend keyed by incident and update id, chained to the previous job of the same backend, so updates
arrive in order and a retry never posts twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.alerts import utcnow
from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.durable import DONE, FAILED, DurableJobs, JobRun, NotYet, Permanent
from bot.escalation.scheduler import TimerScheduler
from bot.incidents.models import Incident
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.statuspage.models import PageIncident, PageStatus, PageUpdate, StatusPageConfig

JOB_KIND = "statuspage"
PUBLISHED_FIELD = "published"

# Returns the previous job id of this backend and records the new one, in one step.
CHAIN = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '1')
return old or ''
"""


class StatusPageBackend(Protocol):
    """Somewhere published updates go: the built-in page, Atlassian Statuspage."""

    name: str

    async def publish(self, incident: PageIncident, update: PageUpdate, retrying: bool) -> str:
        """Show this update (creating the incident on the page if needed); idempotent when `retrying`."""
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
        stamp = (at or utcnow()).isoformat()
        ids = []
        for name in sorted(self.backends):
            job_id = f"sp-{name}-{update_id}"
            ids.append(job_id)
            if await self.jobs.get(incident.id, job_id) is not None:
                continue
            after = await _call(
                self._chain(keys=[self.keys.status_page(incident.id)], args=[f"last:{name}", job_id, PUBLISHED_FIELD])
            )
            payload = {"backend": name, "update": update_id, "status": status.value, "body": body, "at": stamp}
            await self.jobs.submit(incident.id, job_id, JOB_KIND, {**payload, "after": after})
        return ids

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
        update = PageUpdate(str(p["update"]), PageStatus(p["status"]), str(p["body"]), datetime.fromisoformat(p["at"]))
        return await backend.publish(self.page_incident(incident), update, run.retrying)

    def page_incident(self, incident: Incident) -> PageIncident:
        """What the page shows of the incident."""
        components = self.config.components_for(incident.service)
        return PageIncident(incident.id, incident.title, incident.severity, components, incident.triggered_at)

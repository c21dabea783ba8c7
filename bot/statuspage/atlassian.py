"""The Atlassian Statuspage backend: one Statuspage incident per bot incident, one incident update per update.

The remote incident id is kept in the incident's status-page hash. A retried job first asks Statuspage
whether its earlier attempt got through (an unresolved incident carrying our metadata, or an update with
the same status and text), so a lost response never posts twice. A severity change re-sets the impact
and the components only: a PATCH without status or body, which adds no incident update and never creates
an incident.
"""

from __future__ import annotations

from typing import Any

from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.keys import Keys
from bot.statuspage.client import StatuspageClient
from bot.statuspage.models import ComponentStatus, PageIncident, PageStatus, PageUpdate

REMOTE_FIELD = "atlassian:incident"


class AtlassianStatuspage:
    """Publishes updates to a Statuspage page through its REST API."""

    name = "atlassian"

    def __init__(self, client: StatuspageClient, redis: Redis, keys: Keys) -> None:
        self.client = client
        self.redis = redis
        self.keys = keys

    async def publish(self, incident: PageIncident, update: PageUpdate, retrying: bool) -> str:
        """Create the Statuspage incident with this update, or add the update to it; then set its components."""
        remote = await self._remote_id(incident.incident_id)
        if remote is None and retrying:
            remote = await self._find_created(incident.incident_id)
            if remote is not None:
                await self._save_remote_id(incident.incident_id, remote)
                await self._set_components_after(incident, update)
                return f"statuspage incident {remote} (found after a retry)"
        if remote is None:
            created = await self.client.create_incident(self._create_fields(incident, update))
            remote = str(created["id"])
            await self._save_remote_id(incident.incident_id, remote)
            await self._set_components_after(incident, update)
            return f"statuspage incident {remote} created"
        if not (retrying and await self._has_update(remote, update)):
            # The impact rides along, so an update also mends an impact a lost severity change left behind.
            fields = {"status": update.status.value, "body": update.body, "impact_override": incident.impact.value}
            await self.client.update_incident(remote, fields)
        await self._set_components_after(incident, update)
        return f"statuspage incident {remote} updated ({update.status.value})"

    async def set_impact(self, incident: PageIncident, retrying: bool) -> str:
        """Set the Statuspage incident's impact and its components' status from the severity; no public update."""
        remote = await self._remote_id(incident.incident_id)
        if remote is None:
            # The creating job gave up, perhaps after Statuspage took it: look, but never create one here,
            # which would publish what nobody published.
            remote = await self._find_created(incident.incident_id)
            if remote is not None:
                await self._save_remote_id(incident.incident_id, remote)
        if remote is None:
            return "no statuspage incident: impact not set"
        # Setting a value is idempotent, so a retry simply sends it again; no status or body, so no update
        # (and nothing to notify subscribers of).
        fields = {"impact_override": incident.impact.value, "deliver_notifications": False}
        await self.client.update_incident(remote, fields)
        await self._set_components(incident, incident.component_status)
        return f"statuspage incident {remote} impact {incident.impact.value}"

    def _create_fields(self, incident: PageIncident, update: PageUpdate) -> dict[str, Any]:
        return {
            "name": incident.title,
            "status": update.status.value,
            "body": update.body,
            "impact_override": incident.impact.value,
            "component_ids": [c.statuspage_id for c in incident.components if c.statuspage_id],
            "metadata": {"runbook_bot": {"incident": incident.incident_id}},
        }

    async def _set_components_after(self, incident: PageIncident, update: PageUpdate) -> None:
        resolved = update.status is PageStatus.RESOLVED
        await self._set_components(incident, ComponentStatus.OPERATIONAL if resolved else incident.component_status)

    async def _set_components(self, incident: PageIncident, status: ComponentStatus) -> None:
        for component in incident.components:
            if component.statuspage_id:
                await self.client.set_component_status(component.statuspage_id, status.value)

    async def _find_created(self, incident_id: str) -> str | None:
        for found in await self.client.unresolved_incidents():
            meta = (found.get("metadata") or {}).get("runbook_bot") or {}
            if meta.get("incident") == incident_id:
                return str(found["id"])
        return None

    async def _has_update(self, remote: str, update: PageUpdate) -> bool:
        found = await self.client.get_incident(remote)
        return any(
            u.get("status") == update.status.value and u.get("body") == update.body
            for u in found.get("incident_updates") or []
        )

    async def _remote_id(self, incident_id: str) -> str | None:
        value = await _call(self.redis.hget(self.keys.status_page(incident_id), REMOTE_FIELD))
        return str(value) if value else None

    async def _save_remote_id(self, incident_id: str, remote: str) -> None:
        await _call(self.redis.hset(self.keys.status_page(incident_id), REMOTE_FIELD, remote))

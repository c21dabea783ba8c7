"""Recording a page: the incident check, its timeline event and its delivery jobs in one atomic write."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from bot.errors import ConflictError, IncidentNotFound, StoreError
from bot.incidents import scripts
from bot.incidents.models import Incident, TimelineEvent
from bot.incidents.store import IncidentStore
from bot.jobs.arming import arm_outside, arm_specs, inside

if TYPE_CHECKING:
    from bot.escalation.timers import ArmRequest

# Raise inside `check` to refuse the page (the incident no longer wants it); nothing is written.
PageCheck = Callable[[Incident], TimelineEvent]
MAX_ATTEMPTS = 200


class PageRecorder:
    """Writes pages so that a page and its deliveries exist together or not at all, and only once."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store
        self._record = store.redis.register_script(scripts.RECORD_PAGE)

    async def record_page(
        self,
        incident_id: str,
        page_id: str,
        check: PageCheck,
        paged_users: Sequence[str],
        timers: Sequence[ArmRequest],
    ) -> Incident | None:
        """Record the page and arm its deliveries; None when this page was already recorded (a re-run)."""
        k = self.store.keys
        for attempt in range(MAX_ATTEMPTS):
            incident = await self.store.get_incident_or_raise(incident_id)
            version = incident.version
            event = check(incident)
            # On a cluster the deliveries live in other slots: armed before the page is recorded, so a
            # recorded page never lacks them (a delivery that already went out sends nothing again).
            await _call(arm_outside(self.store.redis, k, timers))
            result = await _call(
                self._record(
                    keys=[
                        k.incident(incident_id),
                        k.timeline(incident_id),
                        k.pages_recorded(incident_id),
                        k.incident_paged(incident_id),
                    ],
                    args=[
                        version,
                        incident.model_dump_json(exclude={"version"}),
                        self.store.timeline_max_len,
                        json.dumps([event.to_fields()]),
                        page_id,
                        json.dumps(list(paged_users)),
                        arm_specs(k, inside(self.store.redis, timers)),
                    ],
                )
            )
            if result == 1:
                incident.version = version + 1
                return incident
            if result == -3:
                return None
            if result == -2:
                raise IncidentNotFound(f"no incident {incident_id}", incident=incident_id)
            await asyncio.sleep(min(0.05, 0.001 * (attempt + 1)) * random.uniform(0.5, 1.5))
        raise ConflictError(f"{incident_id}: too many concurrent writers", incident=incident_id)


async def _call(awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except RedisError as exc:
        raise StoreError(f"redis: {exc}") from exc

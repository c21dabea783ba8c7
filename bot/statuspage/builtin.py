"""The built-in public page's data: published updates in Redis, read back as a snapshot to render.

Each incident's page record lives in its status-page hash (`page:*` fields and one `update:<id>` field
per update, written with HSETNX, so a repeated job adds nothing); an index orders incidents by start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts import Severity
from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.keys import Keys
from bot.statuspage.models import (
    COMPONENT_ORDER,
    STATUS_BY_SEVERITY,
    Component,
    ComponentStatus,
    PageIncident,
    PageStatus,
    PageUpdate,
    StatusPageConfig,
)

HISTORY_DAYS = 90


@dataclass(frozen=True)
class ShownIncident:
    """One incident as the page shows it: updates newest first."""

    incident_id: str
    title: str
    severity: Severity
    status: PageStatus
    components: tuple[str, ...]
    started_at: datetime
    resolved_at: datetime | None
    updates: tuple[PageUpdate, ...]


@dataclass(frozen=True)
class PageSnapshot:
    """Everything the page renders."""

    title: str
    generated_at: datetime
    components: tuple[tuple[Component, ComponentStatus], ...]
    open_incidents: tuple[ShownIncident, ...]
    history: tuple[ShownIncident, ...]


class BuiltinStatusPage:
    """Writes published updates for the bot's own page and reads them back."""

    name = "builtin"

    def __init__(self, redis: Redis, keys: Keys, config: StatusPageConfig) -> None:
        self.redis = redis
        self.keys = keys
        self.config = config

    async def publish(self, incident: PageIncident, update: PageUpdate, retrying: bool) -> str:
        """Record the update (once) and the incident's current status."""
        key = self.keys.status_page(incident.incident_id)
        entry = json.dumps({"status": update.status.value, "body": update.body, "at": update.at.isoformat()})
        # The index lives in another Redis Cluster slot: listed first, as its own command (a listed incident
        # without a record is skipped when read); the record's fields are then written in one transaction.
        await _call(
            self.redis.zadd(self.keys.status_page_index(), {incident.incident_id: incident.started_at.timestamp()})
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, f"update:{update.update_id}", entry)
            pipe.hsetnx(key, "page:started", incident.started_at.isoformat())
            pipe.hset(
                key,
                mapping={
                    "page:title": incident.title,
                    "page:severity": incident.severity.value,
                    "page:components": json.dumps([c.id for c in incident.components]),
                    "page:status": update.status.value,
                    "page:resolved": update.at.isoformat() if update.status is PageStatus.RESOLVED else "",
                },
            )
            await _call(pipe.execute())
        return f"built-in page: {update.status.value}"

    async def set_impact(self, incident: PageIncident, retrying: bool) -> str:
        """Show the incident at its current severity: its impact and its components' status; no update added."""
        # The page derives both from `page:severity`; a record without `page:status` is not shown, so
        # writing to one that is not there yet shows nothing early, and its first publish writes it anyway.
        await _call(
            self.redis.hset(self.keys.status_page(incident.incident_id), "page:severity", incident.severity.value)
        )
        return f"built-in page: impact {incident.impact.value}"

    async def snapshot(self, now: datetime) -> PageSnapshot:
        """Components with their status, open incidents and the last 90 days' resolved ones."""
        since = (now - timedelta(days=HISTORY_DAYS)).timestamp()
        ids = await _call(self.redis.zrevrangebyscore(self.keys.status_page_index(), "+inf", since))
        shown = [s for s in [await self._read(i) for i in ids] if s is not None]
        open_ = tuple(s for s in shown if s.status is not PageStatus.RESOLVED)
        history = tuple(s for s in shown if s.status is PageStatus.RESOLVED)
        return PageSnapshot(self.config.title, now, self._components(open_), open_, history)

    def _components(self, open_: tuple[ShownIncident, ...]) -> tuple[tuple[Component, ComponentStatus], ...]:
        out = []
        for component in self.config.components:
            statuses = [STATUS_BY_SEVERITY[i.severity] for i in open_ if component.id in i.components]
            worst = min(statuses, key=COMPONENT_ORDER.index) if statuses else ComponentStatus.OPERATIONAL
            out.append((component, worst))
        return tuple(out)

    async def _read(self, incident_id: str) -> ShownIncident | None:
        raw: dict[str, str] = await _call(self.redis.hgetall(self.keys.status_page(incident_id)))
        if "page:status" not in raw:
            return None
        updates = [json.loads(v) for k, v in raw.items() if k.startswith("update:")]
        parsed = sorted(
            (PageUpdate("", PageStatus(u["status"]), u["body"], datetime.fromisoformat(u["at"])) for u in updates),
            key=lambda u: u.at,
            reverse=True,
        )
        resolved = raw.get("page:resolved") or ""
        return ShownIncident(
            incident_id=incident_id,
            title=raw.get("page:title", ""),
            severity=Severity(raw.get("page:severity", "P3")),
            status=PageStatus(raw["page:status"]),
            components=tuple(json.loads(raw.get("page:components", "[]"))),
            started_at=datetime.fromisoformat(raw["page:started"]),
            resolved_at=datetime.fromisoformat(resolved) if resolved else None,
            updates=tuple(parsed),
        )

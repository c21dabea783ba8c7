"""The dead-letter set: durable work that could not be done after its threshold, kept visible until it is.

An entry is added when a job crosses its failure threshold and removed when it finally succeeds
(the job keeps retrying while it still matters) or is given up with a timeline note. The gauge
`runbook_bot_dead_letters` and `/readyz` ("degraded") read the set, so nothing waits unseen.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from bot import metrics
from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.keys import Keys


@dataclass(frozen=True)
class DeadLetter:
    """One piece of work that is overdue: which job, for which incident, why, since when."""

    job_id: str
    incident_id: str
    kind: str
    reason: str
    since: str
    attempts: int


class DeadLetters:
    """Add, clear and list dead letters (one Redis hash: job id → JSON)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def add(self, job_id: str, incident_id: str, kind: str, reason: str, since: datetime, attempts: int) -> bool:
        """Record (or refresh) an entry; True when it is new."""
        entry = DeadLetter(job_id, incident_id, kind, reason[:500], since.isoformat(), attempts)
        key = self.keys.dead_letters()
        # HSETNX keeps the first `since`; the refresh below only updates reason and attempts.
        fresh = bool(await _call(self.redis.hsetnx(key, job_id, json.dumps(asdict(entry)))))
        if not fresh:
            old = await self.get(job_id)
            if old is not None:
                entry = DeadLetter(job_id, incident_id, kind, reason[:500], old.since, attempts)
            await _call(self.redis.hset(key, job_id, json.dumps(asdict(entry))))
        await self.count()
        return fresh

    async def remove(self, job_id: str) -> bool:
        """Clear an entry (delivered, or given up); True when there was one."""
        removed = bool(await _call(self.redis.hdel(self.keys.dead_letters(), job_id)))
        if removed:
            await self.count()
        return removed

    async def get(self, job_id: str) -> DeadLetter | None:
        """One entry, or None."""
        raw = await _call(self.redis.hget(self.keys.dead_letters(), job_id))
        return DeadLetter(**json.loads(raw)) if raw else None

    async def list(self) -> list[DeadLetter]:
        """Every entry, oldest first."""
        raw = await _call(self.redis.hgetall(self.keys.dead_letters()))
        return sorted((DeadLetter(**json.loads(v)) for v in raw.values()), key=lambda d: (d.since, d.job_id))

    async def count(self) -> int:
        """How many entries; also sets the `runbook_bot_dead_letters` gauge."""
        n = int(await _call(self.redis.hlen(self.keys.dead_letters())))
        metrics.DEAD_LETTERS.set(n)
        return n

    async def readiness(self) -> str | None:
        """None when the set is empty, else the reason /readyz reports as degraded."""
        entries = await self.list()
        metrics.DEAD_LETTERS.set(len(entries))  # every /readyz probe refreshes this replica's gauge
        if not entries:
            return None
        first = entries[0]
        return f"{len(entries)} undelivered job(s); oldest {first.job_id} since {first.since}: {first.reason}"

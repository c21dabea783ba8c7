"""The dead-letter set: durable work that could not be done after its threshold, kept visible until it is.

An entry is added when a job crosses its failure threshold and removed when it finally succeeds
(the job keeps retrying while it still matters) or is given up with a timeline note. The gauge
`runbook_bot_dead_letters` and `/readyz` ("degraded") read the set, so nothing waits unseen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

from bot import metrics
from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.keys import Keys

# Deletes an entry only while it still holds the value the caller read: a job that failed again
# meanwhile has refreshed it, and that newer failure must not be cleared unseen.
_REMOVE_IF_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


@dataclass(frozen=True)
class DeadLetter:
    """One piece of work that is overdue: which job, for which incident, why (the last error), since when."""

    job_id: str
    incident_id: str
    kind: str
    reason: str
    since: str  # the job's first failure (when known; else when it entered the set)
    attempts: int
    last: str = ""  # its latest failure, from the failure-time hash ("" for entries older than it)

    @property
    def last_failure(self) -> str:
        """When the job last failed (ISO time)."""
        return self.last or self.since


class DeadLetters:
    """Add, clear and list dead letters (one Redis hash: job id → JSON; a second one: job id → last failure)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def add(
        self,
        job_id: str,
        incident_id: str,
        kind: str,
        reason: str,
        failed_at: datetime,
        attempts: int,
        first_failed_at: datetime | None = None,
    ) -> bool:
        """Record (or refresh) an entry for a failure at `failed_at`; True when it is new."""
        first = (first_failed_at or failed_at).isoformat()
        entry = DeadLetter(job_id, incident_id, kind, reason[:500], first, attempts)
        key = self.keys.dead_letters()
        # HSETNX keeps the first `since`; the refresh below updates reason and attempts.
        fresh = bool(await _call(self.redis.hsetnx(key, job_id, _dump(entry))))
        if not fresh:
            old = await self.get(job_id)
            if old is not None:
                entry = replace(entry, since=min(old.since, first))
            await _call(self.redis.hset(key, job_id, _dump(entry)))
        await _call(self.redis.hset(self.keys.dead_letter_failures(), job_id, failed_at.isoformat()))
        await self.count()
        return fresh

    async def remove(self, job_id: str) -> bool:
        """Clear an entry (delivered, or given up); True when there was one."""
        removed = bool(await _call(self.redis.hdel(self.keys.dead_letters(), job_id)))
        await _call(self.redis.hdel(self.keys.dead_letter_failures(), job_id))
        if removed:
            await self.count()
        return removed

    async def get(self, job_id: str) -> DeadLetter | None:
        """One entry, or None."""
        raw = await self.get_raw(job_id)
        if not raw:
            return None
        last = await _call(self.redis.hget(self.keys.dead_letter_failures(), job_id))
        return parse_entry(raw, str(last) if last else "")

    async def get_raw(self, job_id: str) -> str | None:
        """One entry as stored (to clear it only if unchanged), or None."""
        raw = await _call(self.redis.hget(self.keys.dead_letters(), job_id))
        return str(raw) if raw else None

    async def remove_if_unchanged(self, job_id: str, raw: str) -> bool:
        """Clear an entry only while it is still exactly `raw`; False when it changed or is gone."""
        script = self.redis.register_script(_REMOVE_IF_UNCHANGED)
        removed = bool(await _call(script(keys=[self.keys.dead_letters()], args=[job_id, raw])))
        if removed:
            await _call(self.redis.hdel(self.keys.dead_letter_failures(), job_id))
            await self.count()
        return removed

    async def list(self) -> list[DeadLetter]:
        """Every entry, oldest first."""
        raw = await _call(self.redis.hgetall(self.keys.dead_letters()))
        lasts = await _call(self.redis.hgetall(self.keys.dead_letter_failures()))
        entries = (parse_entry(v, str(lasts.get(k, ""))) for k, v in raw.items())
        return sorted(entries, key=lambda d: (d.since, d.job_id))

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


# The entry's JSON keeps the fields every version reads: older replicas (a rolling upgrade, a rollback)
# build their record from all of them, so a new field there would break them. The last failure's time
# lives in its own hash instead.
_STORED = ("job_id", "incident_id", "kind", "reason", "since", "attempts")


def _dump(entry: DeadLetter) -> str:
    return json.dumps({name: getattr(entry, name) for name in _STORED})


def parse_entry(raw: str, last: str = "") -> DeadLetter:
    """An entry from its stored JSON (unknown fields ignored) and its last failure's time, if recorded."""
    stored = json.loads(raw)
    return DeadLetter(**{k: stored[k] for k in _STORED if k in stored}, last=last)

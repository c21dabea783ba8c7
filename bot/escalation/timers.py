"""Durable timers in Redis: a sorted set of due times, a hash per timer, leases claimed by one Lua script.

Delivery is at-least-once with idempotent completion: a claim moves a timer from the due set to the
leased set under a fresh token; `complete` marks the arming done and removes the timer only while that
token still holds it; a lease that runs out sends the timer back to the due set. See docs/escalation.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from bot.connections import Redis
from bot.errors import StoreError
from bot.keys import Keys

# Timer records are found by appending the id to a key prefix built in bot/keys.py; these scripts
# therefore touch keys they are not given (fine on one Redis or Valkey, not on Redis Cluster).
ARM = """
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'id', ARGV[1], 'due', ARGV[2], 'kind', ARGV[3], 'payload', ARGV[4],
  'incident', ARGV[5], 'generation', ARGV[6], 'token', '', 'attempts', 0, 'set', ARGV[7])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[7] ~= '' then redis.call('SADD', ARGV[7], ARGV[1]) end
return 1
"""

CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local rec = ARGV[5] .. id
  local gen = redis.call('HGET', rec, 'generation')
  if gen and redis.call('EXISTS', ARGV[6] .. id .. ':' .. gen) == 1 then
    -- This arming already ran (its claimant finished after losing the lease): finish it here.
    local set = redis.call('HGET', rec, 'set')
    redis.call('DEL', rec)
    if set and set ~= '' then redis.call('SREM', set, id) end
  elseif gen then
    local token = ARGV[4] .. ':' .. i
    local attempts = redis.call('HINCRBY', rec, 'attempts', 1)
    redis.call('HSET', rec, 'token', token)
    redis.call('ZADD', KEYS[2], ARGV[3], id)
    local f = redis.call('HMGET', rec, 'kind', 'due', 'payload', 'incident', 'generation')
    out[#out + 1] = {id, token, f[1], f[2], f[3], f[4], f[5], tostring(attempts)}
  end
end
return out
"""

REQUEUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local rec = ARGV[2] .. id
  local due = redis.call('HGET', rec, 'due')
  if due then
    redis.call('HSET', rec, 'token', '')
    redis.call('ZADD', KEYS[2], due, id)
  end
end
return #ids
"""

EXTEND = """
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1
"""

RETRY = """
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[3], 'token', '')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# The done marker is written even when the token no longer holds the timer: the handler did run,
# so whoever re-claimed this arming must skip it.
COMPLETE = """
redis.call('SET', KEYS[3], 'done', 'NX', 'PX', ARGV[3])
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[2] then return 0 end
local set = redis.call('HGET', KEYS[2], 'set')
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if set and set ~= '' then redis.call('SREM', set, ARGV[1]) end
return 1
"""

CANCEL = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local set = redis.call('HGET', KEYS[3], 'set')
if set and set ~= '' then redis.call('SREM', set, ARGV[1]) end
return redis.call('DEL', KEYS[3])
"""


@dataclass(frozen=True)
class ArmRequest:
    """One timer to arm with `arm_many`."""

    timer_id: str
    due_at: datetime
    kind: str
    payload: dict[str, Any]
    incident_id: str | None = None


@dataclass(frozen=True)
class TimerRecord:
    """One armed timer as stored."""

    id: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]
    incident_id: str | None
    generation: str
    attempts: int = 0


@dataclass(frozen=True)
class ClaimedTimer(TimerRecord):
    """A timer this process holds under `token` until its lease runs out."""

    token: str = ""


class TimerStore:
    """Arm, claim, renew, complete and cancel durable timers."""

    def __init__(self, redis: Redis, keys: Keys | None = None, marker_ttl_s: float = 7 * 86400) -> None:
        self.redis = redis
        self.keys = keys or Keys()
        self.marker_ttl_ms = int(marker_ttl_s * 1000)
        self._arm = redis.register_script(ARM)
        self._claim = redis.register_script(CLAIM)
        self._requeue = redis.register_script(REQUEUE)
        self._extend = redis.register_script(EXTEND)
        self._retry = redis.register_script(RETRY)
        self._complete = redis.register_script(COMPLETE)
        self._cancel = redis.register_script(CANCEL)

    async def arm(
        self, timer_id: str, due_at: datetime, kind: str, payload: dict[str, Any], incident_id: str | None = None
    ) -> str:
        """Arm (or re-arm, replacing) a timer; returns the new generation."""
        generation = uuid.uuid4().hex
        group = self.keys.incident_timers(incident_id) if incident_id else ""
        k = self.keys
        await _call(
            self._arm(
                keys=[k.timers_due(), k.timers_leased(), k.timer(timer_id)],
                args=[timer_id, _ts(due_at), kind, json.dumps(payload), incident_id or "", generation, group],
            )
        )
        return generation

    async def arm_many(self, timers: Sequence[ArmRequest]) -> list[str]:
        """Arm many timers in one pipelined round trip; returns their generations."""
        k = self.keys
        generations = [uuid.uuid4().hex for _ in timers]
        async with self.redis.pipeline(transaction=False) as pipe:
            for t, generation in zip(timers, generations, strict=True):
                group = k.incident_timers(t.incident_id) if t.incident_id else ""
                args: list[str | float] = [
                    t.timer_id,
                    _ts(t.due_at),
                    t.kind,
                    json.dumps(t.payload),
                    t.incident_id or "",
                    generation,
                    group,
                ]
                await self._arm(keys=[k.timers_due(), k.timers_leased(), k.timer(t.timer_id)], args=args, client=pipe)
            await _call(pipe.execute())
        return generations

    async def claim_due(self, now: datetime, limit: int, lease_s: float) -> list[ClaimedTimer]:
        """Atomically lease up to `limit` timers due at `now`, each under a unique token."""
        k = self.keys
        rows = await _call(
            self._claim(
                keys=[k.timers_due(), k.timers_leased()],
                args=[
                    _ts(now),
                    limit,
                    _ts(now) + lease_s,
                    uuid.uuid4().hex,
                    k.timer_record_prefix(),
                    k.timer_fired_prefix(),
                ],
            )
        )
        return [_claimed(row) for row in rows]

    async def requeue_expired_leases(self, now: datetime, limit: int = 1000) -> int:
        """Send timers whose lease ran out back to the due set at their original due time."""
        k = self.keys
        args: list[str | float] = [_ts(now), k.timer_record_prefix(), limit]
        return int(await _call(self._requeue(keys=[k.timers_leased(), k.timers_due()], args=args)))

    async def extend(self, timer_id: str, token: str, now: datetime, lease_s: float) -> bool:
        """Renew a lease still held under `token`."""
        keys = [self.keys.timers_leased(), self.keys.timer(timer_id)]
        return bool(await _call(self._extend(keys=keys, args=[timer_id, token, _ts(now) + lease_s])))

    async def retry(self, timer_id: str, token: str, at: datetime) -> bool:
        """Give a held timer back to the due set at `at` (after a failed handler)."""
        k = self.keys
        keys = [k.timers_due(), k.timers_leased(), k.timer(timer_id)]
        return bool(await _call(self._retry(keys=keys, args=[timer_id, token, _ts(at)])))

    async def complete(self, timer_id: str, claim_token: str, generation: str) -> bool:
        """Mark this arming fired and remove the timer if `claim_token` still holds it."""
        k = self.keys
        keys = [k.timers_leased(), k.timer(timer_id), k.timer_fired(timer_id, generation)]
        return bool(await _call(self._complete(keys=keys, args=[timer_id, claim_token, self.marker_ttl_ms])))

    async def complete_many(self, claims: Sequence[ClaimedTimer]) -> list[bool]:
        """`complete` for many claims in one pipelined round trip."""
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for c in claims:
                keys = [k.timers_leased(), k.timer(c.id), k.timer_fired(c.id, c.generation)]
                await self._complete(keys=keys, args=[c.id, c.token, self.marker_ttl_ms], client=pipe)
            return [bool(r) for r in await _call(pipe.execute())]

    async def already_fired(self, timer_id: str, generation: str) -> bool:
        """Whether this arming's handler has already run to completion somewhere."""
        return bool(await _call(self.redis.exists(self.keys.timer_fired(timer_id, generation))))

    async def cancel(self, timer_id: str) -> bool:
        """Disarm a timer whether due or leased; True if it existed."""
        k = self.keys
        keys = [k.timers_due(), k.timers_leased(), k.timer(timer_id)]
        return bool(await _call(self._cancel(keys=keys, args=[timer_id])))

    async def cancel_incident(self, incident_id: str, id_prefix: str = "") -> int:
        """Disarm every timer of one incident whose id starts with `id_prefix`; returns how many."""
        ids = await _call(self.redis.smembers(self.keys.incident_timers(incident_id)))
        cancelled = 0
        for timer_id in sorted(i for i in ids if i.startswith(id_prefix)):
            cancelled += int(await self.cancel(timer_id))
        return cancelled

    async def get(self, timer_id: str) -> TimerRecord | None:
        """The armed timer, or None."""
        raw = await _call(self.redis.hgetall(self.keys.timer(timer_id)))
        return _record(raw) if raw else None

    async def list_incident(self, incident_id: str) -> list[TimerRecord]:
        """The incident's armed timers, soonest first."""
        ids = await _call(self.redis.smembers(self.keys.incident_timers(incident_id)))
        found = [r for r in [await self.get(i) for i in ids] if r is not None]
        return sorted(found, key=lambda r: (r.due_at, r.id))

    async def next_due(self) -> datetime | None:
        """Due time of the soonest unclaimed timer."""
        rows = await _call(self.redis.zrange(self.keys.timers_due(), 0, 0, withscores=True))
        return datetime.fromtimestamp(rows[0][1], UTC) if rows else None

    async def counts(self) -> tuple[int, int]:
        """(due, leased) timer counts."""
        due = await _call(self.redis.zcard(self.keys.timers_due()))
        leased = await _call(self.redis.zcard(self.keys.timers_leased()))
        return int(due), int(leased)


def _ts(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("timer times must be timezone-aware")
    return at.timestamp()


def _record(raw: dict[str, str]) -> TimerRecord:
    return TimerRecord(
        id=raw["id"],
        kind=raw["kind"],
        due_at=datetime.fromtimestamp(float(raw["due"]), UTC),
        payload=json.loads(raw["payload"]),
        incident_id=raw.get("incident") or None,
        generation=raw["generation"],
        attempts=int(raw.get("attempts", 0)),
    )


def _claimed(row: list[str]) -> ClaimedTimer:
    timer_id, token, kind, due, payload, incident, generation, attempts = row
    return ClaimedTimer(
        id=timer_id,
        kind=kind,
        due_at=datetime.fromtimestamp(float(due), UTC),
        payload=json.loads(payload),
        incident_id=incident or None,
        generation=generation,
        attempts=int(attempts),
        token=token,
    )


async def _call(awaitable: Awaitable[Any]) -> Any:
    # redis-py types replies as bytes | str; the client decodes, so callers get Any.
    try:
        return await awaitable
    except RedisError as exc:
        raise StoreError(f"redis: {exc}") from exc

"""Durable timers in Redis: per shard a sorted set of due times, a hash per timer, leases claimed by one Lua script.

Delivery is at-least-once with idempotent completion: a claim moves a timer from the due set to the
leased set under a fresh token; `complete` marks the arming done and removes the timer only while that
token still holds it; a lease that runs out sends the timer back to the due set. Timers are spread over
`Keys.timer_shards` shards (hash tag `{timers:s}`, the shard derived from the id) so every script touches
one Redis Cluster slot; a claim takes from every shard in one pipelined round. An arming that becomes
its shard's soonest timer publishes its due time on `Keys.timers_wake` so sleeping schedulers wake for
it. See docs/escalation.md and docs/redis.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from bot.connections import Redis, queue_script
from bot.errors import StoreError
from bot.escalation.timer_scripts import ARM, CANCEL, CLAIM, COMPLETE, EXTEND, REQUEUE, RETRY
from bot.keys import Keys


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


@dataclass(frozen=True)
class Claim:
    """What one claim took, and what it saw left in the shards it asked (None: nothing there)."""

    timers: list[ClaimedTimer]
    next_due: datetime | None
    lease_end: datetime | None
    # Whether every shard answered, so next_due and lease_end cover the whole store.
    every_shard: bool


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
        self._rotation = 0

    async def arm(
        self, timer_id: str, due_at: datetime, kind: str, payload: dict[str, Any], incident_id: str | None = None
    ) -> str:
        """Arm (or re-arm, replacing) a timer; returns the new generation."""
        return (await self.arm_many([ArmRequest(timer_id, due_at, kind, payload, incident_id)]))[0]

    async def arm_many(self, timers: Sequence[ArmRequest]) -> list[str]:
        """Arm many timers in one pipelined round trip; returns their generations."""
        k = self.keys
        generations = [uuid.uuid4().hex for _ in timers]
        async with self.redis.pipeline(transaction=False) as pipe:
            for t, generation in zip(timers, generations, strict=True):
                group = k.incident_timers(t.incident_id) if t.incident_id else ""
                if group:
                    # Another slot than the timer's: listed first (a separate command), so a cancel finds it.
                    pipe.sadd(group, t.timer_id)
                args: list[str | float] = [
                    t.timer_id,
                    _ts(t.due_at),
                    t.kind,
                    json.dumps(t.payload),
                    t.incident_id or "",
                    generation,
                    group,
                    k.timers_wake(),
                ]
                shard = k.timer_shard(t.timer_id)
                keys = [k.timers_due(shard), k.timers_leased(shard), k.timer(t.timer_id)]
                await queue_script(pipe, self._arm, keys, args)
            await _call(pipe.execute())
        return generations

    async def claim_due(self, now: datetime, limit: int, lease_s: float) -> list[ClaimedTimer]:
        """Atomically lease up to `limit` timers due at `now`, each under a unique token, from every shard."""
        return (await self.claim(now, limit, lease_s)).timers

    async def claim(self, now: datetime, limit: int, lease_s: float) -> Claim:
        """`claim_due`, plus the soonest due time and lease expiry the shards reported after it.

        Each round gives every shard that may still hold due timers an equal share of what is left (one
        pipelined round trip); fewer than `limit` come back only when no shard has more due.
        """
        k = self.keys
        due_heads: dict[int, str] = {}
        lease_heads: dict[int, str] = {}
        base = uuid.uuid4().hex
        found: list[ClaimedTimer] = []
        # The first shard asked rotates, so a remainder share never always favours the same shard.
        self._rotation = (self._rotation + 1) % k.timer_shards
        open_shards = [(self._rotation + i) % k.timer_shards for i in range(k.timer_shards)]
        round_no = 0
        while open_shards and len(found) < limit:
            round_no += 1
            left = limit - len(found)
            share, extra = divmod(left, len(open_shards))
            shares = [(s, share + (1 if i < extra else 0)) for i, s in enumerate(open_shards)]
            asks = [(s, n) for s, n in shares if n > 0]
            # A share smaller than the shard count leaves some shards unasked this round; they stay open.
            unasked = [s for s, n in shares if n == 0]
            async with self.redis.pipeline(transaction=False) as pipe:
                for shard, n in asks:
                    args: list[str | float] = [
                        _ts(now),
                        n,
                        _ts(now) + lease_s,
                        f"{base}:{round_no}:{shard}",
                        k.timer_record_prefix(shard),
                        k.timer_fired_prefix(shard),
                    ]
                    await queue_script(pipe, self._claim, [k.timers_due(shard), k.timers_leased(shard)], args)
                replies = await _call(pipe.execute())
            for (shard, _), (_, due, leased) in zip(asks, replies, strict=True):
                due_heads[shard], lease_heads[shard] = due, leased
            # A shard that filled its share may hold more; one that did not is drained for this call.
            open_shards = [s for (s, n), (rows, *_) in zip(asks, replies, strict=True) if len(rows) >= n] + unasked
            found += [_claimed(row) for rows, *_ in replies for row in rows]
        return Claim(
            found, _earliest(due_heads.values()), _earliest(lease_heads.values()), len(due_heads) == k.timer_shards
        )

    async def requeue_expired_leases(self, now: datetime, limit: int = 1000) -> int:
        """Send timers whose lease ran out back to the due set at their original due time (every shard)."""
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(k.timer_shards):
                args: list[str | float] = [_ts(now), k.timer_record_prefix(shard), limit, k.timers_wake()]
                await queue_script(pipe, self._requeue, [k.timers_leased(shard), k.timers_due(shard)], args)
            return sum(int(n) for n in await _call(pipe.execute()))

    async def extend(self, timer_id: str, token: str, now: datetime, lease_s: float) -> bool:
        """Renew a lease still held under `token`."""
        shard = self.keys.timer_shard(timer_id)
        keys = [self.keys.timers_leased(shard), self.keys.timer(timer_id)]
        return bool(await _call(self._extend(keys=keys, args=[timer_id, token, _ts(now) + lease_s])))

    async def retry(self, timer_id: str, token: str, at: datetime) -> bool:
        """Give a held timer back to the due set at `at` (after a failed handler)."""
        k = self.keys
        shard = k.timer_shard(timer_id)
        keys = [k.timers_due(shard), k.timers_leased(shard), k.timer(timer_id)]
        return bool(await _call(self._retry(keys=keys, args=[timer_id, token, _ts(at), k.timers_wake()])))

    async def complete(self, timer_id: str, claim_token: str, generation: str) -> bool:
        """Mark this arming fired and remove the timer if `claim_token` still holds it."""
        k = self.keys
        keys = [k.timers_leased(k.timer_shard(timer_id)), k.timer(timer_id), k.timer_fired(timer_id, generation)]
        return bool(await _call(self._complete(keys=keys, args=[timer_id, claim_token, self.marker_ttl_ms])))

    async def complete_many(self, claims: Sequence[ClaimedTimer]) -> list[bool]:
        """`complete` for many claims in one pipelined round trip."""
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for c in claims:
                keys = [k.timers_leased(k.timer_shard(c.id)), k.timer(c.id), k.timer_fired(c.id, c.generation)]
                await queue_script(pipe, self._complete, keys, [c.id, c.token, self.marker_ttl_ms])
            return [bool(r) for r in await _call(pipe.execute())]

    async def already_fired(self, timer_id: str, generation: str) -> bool:
        """Whether this arming's handler has already run to completion somewhere."""
        return bool(await _call(self.redis.exists(self.keys.timer_fired(timer_id, generation))))

    async def cancel(self, timer_id: str) -> bool:
        """Disarm a timer whether due or leased; True if it existed."""
        k = self.keys
        shard = k.timer_shard(timer_id)
        keys = [k.timers_due(shard), k.timers_leased(shard), k.timer(timer_id)]
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
        """Due time of the soonest unclaimed timer, over every shard."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(self.keys.timer_shards):
                pipe.zrange(self.keys.timers_due(shard), 0, 0, withscores=True)
            return _soonest(await _call(pipe.execute()))

    async def next_wake(self) -> tuple[datetime | None, datetime | None]:
        """(soonest unclaimed due time, soonest lease expiry) over every shard, in one pipelined round."""
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(k.timer_shards):
                pipe.zrange(k.timers_due(shard), 0, 0, withscores=True)
                pipe.zrange(k.timers_leased(shard), 0, 0, withscores=True)
            replies = await _call(pipe.execute())
        return _soonest(replies[0::2]), _soonest(replies[1::2])

    async def counts(self) -> tuple[int, int]:
        """(due, leased) timer counts over every shard."""
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(k.timer_shards):
                pipe.zcard(k.timers_due(shard))
                pipe.zcard(k.timers_leased(shard))
            replies = await _call(pipe.execute())
        return sum(int(n) for n in replies[0::2]), sum(int(n) for n in replies[1::2])


def _ts(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("timer times must be timezone-aware")
    return at.timestamp()


def _earliest(scores: Iterable[str]) -> datetime | None:
    known = [float(s) for s in scores if s]
    return datetime.fromtimestamp(min(known), UTC) if known else None


def _soonest(replies: list[list[tuple[str, float]]]) -> datetime | None:
    scores = [rows[0][1] for rows in replies if rows]
    return datetime.fromtimestamp(min(scores), UTC) if scores else None


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

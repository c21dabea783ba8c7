"""Arm durable timers inside another atomic write (a Lua snippet), so work and its record never part.

The snippet writes the same record layout as `TimerStore.arm` (bot/escalation/timers.py): change
both together. Each timer's keys (its shard's due and leased sets, its record) travel in the spec, so
the snippet touches other slots than the script's own: fine on one node or behind Sentinel. On a Redis
Cluster the callers pass no timers to the script and arm them with `TimerStore.arm_many` in a second
round trip (`arm_outside`) (docs/redis.md, "Cluster").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from bot.connections import Redis, is_cluster
from bot.escalation.timers import ArmRequest, TimerStore
from bot.keys import Keys

# Placeholder: ARMS_ARG (JSON list from `arm_specs`; each entry names its own keys).
ARM_TIMERS = """
for _, t in ipairs(cjson.decode(ARGV[ARMS_ARG])) do
  redis.call('DEL', t.rec)
  redis.call('HSET', t.rec, 'id', t.id, 'due', t.due, 'kind', t.kind, 'payload', t.payload,
    'incident', t.incident, 'generation', t.generation, 'token', '', 'attempts', 0, 'set', t.set)
  redis.call('ZREM', t.leased_key, t.id)
  local head = redis.call('ZRANGE', t.due_key, 0, 0, 'WITHSCORES')
  redis.call('ZADD', t.due_key, t.due, t.id)
  -- The shard's new soonest timer wakes sleeping schedulers (as TimerStore.arm does).
  if head[2] == nil or tonumber(t.due) < tonumber(head[2]) then redis.call('PUBLISH', t.wake, t.due) end
  if t.set ~= '' then redis.call('SADD', t.set, t.id) end
end
"""


def arm_timers_lua(arms_arg: int) -> str:
    """The snippet bound to a script's argument position."""
    return ARM_TIMERS.replace("ARMS_ARG", str(arms_arg))


def inside(redis: Redis, requests: Sequence[ArmRequest]) -> Sequence[ArmRequest]:
    """The timers a script may arm itself: all of them, except on a cluster (none: see `arm_outside`)."""
    return () if is_cluster(redis) else requests


async def arm_outside(redis: Redis, keys: Keys, requests: Sequence[ArmRequest]) -> None:
    """On a cluster, arm what the script could not (its timers live in other slots); elsewhere nothing."""
    if requests and is_cluster(redis):
        await TimerStore(redis, keys).arm_many(requests)


def arm_specs(keys: Keys, requests: Sequence[ArmRequest]) -> str:
    """The JSON the snippet reads: one object per timer, each with a fresh generation and its shard's keys."""
    specs = []
    for r in requests:
        shard = keys.timer_shard(r.timer_id)
        if r.due_at.tzinfo is None:
            raise ValueError("timer times must be timezone-aware")
        specs.append(
            {
                "id": r.timer_id,
                "due": repr(r.due_at.timestamp()),
                "kind": r.kind,
                "payload": json.dumps(r.payload),
                "incident": r.incident_id or "",
                "generation": uuid.uuid4().hex,
                "set": keys.incident_timers(r.incident_id) if r.incident_id else "",
                "rec": keys.timer(r.timer_id),
                "due_key": keys.timers_due(shard),
                "leased_key": keys.timers_leased(shard),
                "wake": keys.timers_wake(),
            }
        )
    return json.dumps(specs)

"""Arm durable timers inside another atomic write (a Lua snippet), so work and its record never part.

The snippet writes the same record layout as `TimerStore.arm` (bot/escalation/timers.py): change
both together. Like the timer scripts, it reaches timer records by key prefix (one Redis node).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from bot.escalation.timers import ArmRequest
from bot.keys import Keys

# Placeholders: ARMS_ARG (JSON list from `arm_specs`), PREFIX_ARG (timer record prefix), DUE_KEY, LEASED_KEY.
ARM_TIMERS = """
for _, t in ipairs(cjson.decode(ARGV[ARMS_ARG])) do
  local rec = ARGV[PREFIX_ARG] .. t.id
  redis.call('DEL', rec)
  redis.call('HSET', rec, 'id', t.id, 'due', t.due, 'kind', t.kind, 'payload', t.payload,
    'incident', t.incident, 'generation', t.generation, 'token', '', 'attempts', 0, 'set', t.set)
  redis.call('ZREM', KEYS[LEASED_KEY], t.id)
  redis.call('ZADD', KEYS[DUE_KEY], t.due, t.id)
  if t.set ~= '' then redis.call('SADD', t.set, t.id) end
end
"""


def arm_timers_lua(arms_arg: int, prefix_arg: int, due_key: int, leased_key: int) -> str:
    """The snippet bound to a script's argument and key positions."""
    return (
        ARM_TIMERS.replace("ARMS_ARG", str(arms_arg))
        .replace("PREFIX_ARG", str(prefix_arg))
        .replace("DUE_KEY", str(due_key))
        .replace("LEASED_KEY", str(leased_key))
    )


def arm_specs(keys: Keys, requests: Sequence[ArmRequest]) -> str:
    """The JSON the snippet reads: one object per timer, each with a fresh generation."""
    specs = []
    for r in requests:
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
            }
        )
    return json.dumps(specs)

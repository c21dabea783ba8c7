"""Lua scripts for the alert intake's short path on one Redis node: look up or claim in one trip, create in one.

Unlike bot/incidents/scripts.py these touch the alert group key together with the owning incident's
keys, which live in another hash slot, so they need a single Redis node (or a Sentinel-managed
primary). A Redis Cluster deployment takes the store's multi-step path instead (see
docs/architecture.md, "State in Redis: round trips").
"""

from __future__ import annotations

from bot.incidents.scripts import CREATE_AND_ARM, RECORD_ALERT

# KEYS: group key, incident counter.
# ARGV: incident key head, incident key tail, alerts-seen key head, alerts-seen key tail,
#       delivery id, '1' when the alert fires, claim token, claim lease ms.
# The incident's keys are built from the owner id read here (head .. id .. tail, as Keys builds them).
# Replies: {'none'} nothing owns the group and the alert does not open one; {'claimed', number} the
# group is claimed with the token and a number taken; {'busy'} another writer holds a claim;
# {'missing', owner} the owner's record is gone; {'dup', owner, data, version} this delivery is
# already recorded; {'owned', owner, data, version} record it with compare-and-set.
LOOKUP_OR_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if not owner then
  if ARGV[6] ~= '1' then return {'none'} end
  redis.call('SET', KEYS[1], ARGV[7], 'PX', ARGV[8])
  return {'claimed', redis.call('INCR', KEYS[2])}
end
if string.sub(owner, 1, 6) == 'claim:' then return {'busy'} end
local h = redis.call('HMGET', ARGV[1] .. owner .. ARGV[2], 'data', 'version')
if not h[1] then return {'missing', owner} end
if redis.call('SISMEMBER', ARGV[3] .. owner .. ARGV[4], ARGV[5]) == 1 then
  return {'dup', owner, h[1], h[2]}
end
return {'owned', owner, h[1], h[2]}
"""

# CREATE_AND_ARM (the incident, its first events, delivery id and timers), only while the claim
# still holds, and in the same write: the group now owned by the incident, and both indexes.
# KEYS: as CREATE_AND_ARM (incident hash, timeline, alerts-seen set), then group key, incident index, open index.
# ARGV: as CREATE_AND_ARM (data, maxlen, events, delivery id, timers), then claim token, incident id, index score.
# The timers' own keys (their shards) travel in their specs, as in CREATE_AND_ARM.
# Returns 1 created, 0 the incident already exists, -1 the claim was lost (lease ran out).
CREATE_OWNED = (
    """
if redis.call('GET', KEYS[4]) ~= ARGV[6] then return -1 end
"""
    + CREATE_AND_ARM.removesuffix("return 1")
    + """
redis.call('SET', KEYS[4], ARGV[7])
redis.call('ZADD', KEYS[5], ARGV[8], ARGV[7])
redis.call('SADD', KEYS[6], ARGV[7])
return 1
"""
)

# RECORD_ALERT and the open index in one write.
# KEYS: incident hash, timeline, alerts-seen set, open index.
# ARGV: delivery id, expected version, data, maxlen, events, incident id, '1' open / '0' closed.
# Returns 1 recorded, 0 version moved on, -1 already recorded, -2 incident gone.
# RECORD_ALERT with one more step before its `return 1`: only a recorded alert moves the index.
RECORD_ALERT_INDEXED = RECORD_ALERT.removesuffix("return 1") + (
    "if ARGV[7] == '1' then redis.call('SADD', KEYS[4], ARGV[6]) else redis.call('SREM', KEYS[4], ARGV[6]) end\n"
    "return 1"
)

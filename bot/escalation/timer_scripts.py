"""Lua scripts of the timer store; each touches one timer shard's slot only (`{timers:s}`).

A shard's keys are given as KEYS; the claim and requeue scripts also build record and fired-marker
keys from a prefix, and those keys carry the same hash tag, so they live in the same slot (which
Redis Cluster allows). The incident's set of timer ids lives in the incident's slot, so the scripts
never touch it: the store adds to it before arming and leaves ids of finished timers in it (readers
skip ids without a record).

A script that puts a timer in front of its shard's due set publishes the due time on the wake channel
(`Keys.timers_wake`, '' = none): schedulers sleep until the soonest due timer they read, so only a timer
that may be sooner than that needs to wake them (docs/redis.md, "Timer wake-ups"). A channel is not a
key, so PUBLISH is allowed in a script of any slot; a Cluster forwards it to every node.
"""

from __future__ import annotations

# Publishes `due` on `channel` when the timer is sooner than `head` (the shard's soonest before it, or none).
WAKE_IF_HEAD = """
local function wake_if_head(channel, head, due)
  if channel ~= '' and (head[2] == nil or tonumber(due) < tonumber(head[2])) then
    redis.call('PUBLISH', channel, due)
  end
end
"""

# KEYS: due, leased, record. ARGV: id, due, kind, payload, incident, generation, incident set ('' = none),
# wake channel ('' = none).
ARM = (
    WAKE_IF_HEAD
    + """
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'id', ARGV[1], 'due', ARGV[2], 'kind', ARGV[3], 'payload', ARGV[4],
  'incident', ARGV[5], 'generation', ARGV[6], 'token', '', 'attempts', 0, 'set', ARGV[7])
redis.call('ZREM', KEYS[2], ARGV[1])
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
wake_if_head(ARGV[8], head, ARGV[2])
return 1
"""
)

# KEYS: due, leased. ARGV: now, limit, lease expiry, token base, record prefix, fired prefix.
# Returns {claimed rows, the shard's soonest due time left, its soonest lease expiry} ('' = none), so the
# scheduler plans its next wake-up from the claim's own answer, without another round trip.
CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local rec = ARGV[5] .. id
  local gen = redis.call('HGET', rec, 'generation')
  if gen and redis.call('EXISTS', ARGV[6] .. id .. ':' .. gen) == 1 then
    -- This arming already ran (its claimant finished after losing the lease): finish it here.
    redis.call('DEL', rec)
  elseif gen then
    local token = ARGV[4] .. ':' .. i
    local attempts = redis.call('HINCRBY', rec, 'attempts', 1)
    redis.call('HSET', rec, 'token', token)
    redis.call('ZADD', KEYS[2], ARGV[3], id)
    local f = redis.call('HMGET', rec, 'kind', 'due', 'payload', 'incident', 'generation')
    out[#out + 1] = {id, token, f[1], f[2], f[3], f[4], f[5], tostring(attempts)}
  end
end
local due = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local leased = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {out, due[2] or '', leased[2] or ''}
"""

# KEYS: leased, due. ARGV: now, record prefix, limit, wake channel ('' = none).
# Requeued timers are overdue: one message tells every scheduler, not only the one that requeued them.
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
if #ids > 0 and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[1]) end
return #ids
"""

# KEYS: leased, record. ARGV: id, token, new lease expiry.
EXTEND = """
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1
"""

# KEYS: due, leased, record. ARGV: id, token, retry at, wake channel ('' = none).
RETRY = (
    WAKE_IF_HEAD
    + """
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[3], 'token', '')
redis.call('ZREM', KEYS[2], ARGV[1])
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
wake_if_head(ARGV[4], head, ARGV[3])
return 1
"""
)

# KEYS: leased, record, fired marker. ARGV: id, token, marker ttl ms.
# The done marker is written even when the token no longer holds the timer: the handler did run,
# so whoever re-claimed this arming must skip it.
COMPLETE = """
redis.call('SET', KEYS[3], 'done', 'NX', 'PX', ARGV[3])
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: due, leased, record. ARGV: id.
CANCEL = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[3])
"""

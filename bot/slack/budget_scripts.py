"""The Lua scripts of the shared Slack budget; each touches one bucket and its hold key (one hash tag, one slot).

Every script reads the time from ARGV when given (tests) and from Redis `TIME` otherwise: one clock that all
replicas share, whatever their own clocks say. Each returns the milliseconds to wait; 0 means "go, counted".
"""

from __future__ import annotations

_NOW = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local hold = tonumber(redis.call('GET', KEYS[2]))
"""

# KEYS: window sorted set, hold key. ARGV: now ms or "", calls allowed, window ms, a member unique to this call.
# Slack's tiers are "N per minute": a log of the calls of the last window, as Slack itself counts them.
WINDOW = (
    _NOW
    + """
if hold and now < hold then
  return math.ceil(hold - now)
end
local limit, window = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)  -- idle windows go: an empty log is a new one
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
return math.max(1, math.ceil(oldest + window - now))
"""
)

# KEYS: bucket hash, hold key. ARGV: now ms or "", tokens per ms, capacity.
# Per-channel pacing is a bucket on Slack's side (about one a second, short bursts), so it is one here too.
BUCKET = (
    _NOW
    + """
if hold and now < hold then
  return math.ceil(hold - now)
end
local rate, capacity = tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = tonumber(state[1]), tonumber(state[2])
if not tokens then
  tokens, stamp = capacity, now
end
if now > stamp then
  tokens = math.min(capacity, tokens + (now - stamp) * rate)
  stamp = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(stamp))
-- Idle buckets go: once full again the bucket equals a new one.
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(stamp - now, 0) + (capacity - tokens) / rate) + 1000)
return wait
"""
)

# KEYS: window or bucket, hold key. ARGV: now ms or "", hold ms, kind ("window" / "bucket"), limit, window ms.
# After a 429 nobody calls until the hold ends; then one call (a probe), and the rate ramps up from there.
HOLD = (
    _NOW
    + """
local ms = tonumber(ARGV[2])
local till = now + ms
if hold and hold >= till then
  return 0
end
redis.call('SET', KEYS[2], tostring(till), 'PX', ms)
if ARGV[3] == 'bucket' then
  redis.call('HSET', KEYS[1], 'tokens', '1', 'stamp', tostring(till))
  redis.call('PEXPIRE', KEYS[1], ms + 60000)
  return 1
end
local limit, window = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('DEL', KEYS[1])
-- limit - 1 stand-in calls spread over the window that ends with the hold: they age out one by one.
for k = 1, limit - 1 do
  redis.call('ZADD', KEYS[1], till - window + k * window / limit, 'hold:' .. till .. ':' .. k)
end
redis.call('PEXPIRE', KEYS[1], ms + window)
return 1
"""
)

# KEYS: window sorted set, hold key. ARGV: now ms or "", the call's member.
# Slack counted the call when it arrived, some time before its answer: from now on it counts from the answer.
SETTLE = (
    _NOW
    + """
local window = tonumber(ARGV[3])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now, ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], window)
end
return 0
"""
)

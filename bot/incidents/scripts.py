"""Lua scripts that make incident writes atomic; each touches one incident's slot only."""

from __future__ import annotations

from bot.jobs.arming import arm_timers_lua

# Events arrive as a JSON list of flat field maps and are appended in order.
_XADD_EVENTS = """
local events = cjson.decode(ARGV[EVENTS_ARG])
for _, ev in ipairs(events) do
  local flat = {}
  for k, v in pairs(ev) do
    flat[#flat + 1] = k
    flat[#flat + 1] = v
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[MAXLEN_ARG], '*', unpack(flat))
end
"""

# KEYS: incident hash, timeline, alerts-seen set. ARGV: data, maxlen, events, first delivery id or ''.
CREATE = (
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'version', 1)
if ARGV[4] ~= '' then redis.call('SADD', KEYS[3], ARGV[4]) end
"""
    + _XADD_EVENTS.replace("EVENTS_ARG", "3").replace("MAXLEN_ARG", "2")
    + "return 1"
)

# KEYS: incident hash, timeline. ARGV: expected version, data, maxlen, events.
# Returns 1 on success, 0 when the version moved on, -2 when the incident is gone.
COMPARE_AND_SET = (
    """
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return -2 end
if tonumber(current) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', tonumber(current) + 1)
"""
    + _XADD_EVENTS.replace("EVENTS_ARG", "4").replace("MAXLEN_ARG", "3")
    + "return 1"
)

# KEYS: incident hash, timeline, alerts-seen set. ARGV: delivery id, expected version, data, maxlen, events.
# Returns 1 recorded, 0 version moved on, -1 already recorded, -2 incident gone.
RECORD_ALERT = (
    """
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return -1 end
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return -2 end
if tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'data', ARGV[3], 'version', tonumber(current) + 1)
"""
    + _XADD_EVENTS.replace("EVENTS_ARG", "5").replace("MAXLEN_ARG", "4")
    + "return 1"
)

# KEYS: group key. ARGV: expected owner, new owner, lease ms (0 = no expiry).
SWAP_OWNER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
"""

# CREATE, plus the incident's first durable timers (provisioning guard, escalation) in the same write.
# KEYS: incident hash, timeline, alerts-seen set.
# ARGV: data, maxlen, events, first delivery id or '', timers (JSON, each naming its keys; bot/jobs/arming.py).
CREATE_AND_ARM = (
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'version', 1)
if ARGV[4] ~= '' then redis.call('SADD', KEYS[3], ARGV[4]) end
"""
    + _XADD_EVENTS.replace("EVENTS_ARG", "3").replace("MAXLEN_ARG", "2")
    + arm_timers_lua(arms_arg=5)
    + "return 1"
)

# A page: compare-and-set the incident, append its event, remember the page id and who was paged,
# and arm one delivery job per target and channel, all at once.
# KEYS: incident hash, timeline, recorded pages set, paged users set.
# ARGV: expected version, data, maxlen, events, page id, paged users (JSON), timers (JSON, each naming its keys).
# Returns 1 recorded, 0 version moved on, -2 incident gone, -3 page already recorded.
RECORD_PAGE = (
    """
if redis.call('SISMEMBER', KEYS[3], ARGV[5]) == 1 then return -3 end
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return -2 end
if tonumber(current) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', tonumber(current) + 1)
redis.call('SADD', KEYS[3], ARGV[5])
for _, user in ipairs(cjson.decode(ARGV[6])) do redis.call('SADD', KEYS[4], user) end
"""
    + _XADD_EVENTS.replace("EVENTS_ARG", "4").replace("MAXLEN_ARG", "3")
    + arm_timers_lua(arms_arg=7)
    + "return 1"
)

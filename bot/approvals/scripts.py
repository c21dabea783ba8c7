"""Lua scripts for approvals; each touches one incident's slot only (the keys share its hash tag)."""

from __future__ import annotations

# KEYS: approval hash. ARGV: user, now (epoch s).
# Returns {code, approved_by}: code is now_approved | waiting | expired | self | same | missing | <current status>.
RECORD_APPROVAL = """
local h = KEYS[1]
local status = redis.call('HGET', h, 'status')
if not status then return {'missing', ''} end
local by = redis.call('HGET', h, 'approved_by')
if status ~= 'pending' then return {status, by} end
if tonumber(redis.call('HGET', h, 'expires_at')) <= tonumber(ARGV[2]) then
  redis.call('HSET', h, 'status', 'expired')
  return {'expired', by}
end
if redis.call('HGET', h, 'exclude_requester') == '1' and redis.call('HGET', h, 'requester') == ARGV[1] then
  return {'self', by}
end
local count = 0
for voter in string.gmatch(by, '[^,]+') do
  if voter == ARGV[1] then return {'same', by} end
  count = count + 1
end
if by == '' then by = ARGV[1] else by = by .. ',' .. ARGV[1] end
count = count + 1
redis.call('HSET', h, 'approved_by', by)
if count >= tonumber(redis.call('HGET', h, 'required')) then
  redis.call('HSET', h, 'status', 'approved', 'approved_at', ARGV[2])
  return {'now_approved', by}
end
return {'waiting', by}
"""

# KEYS: approval hash, execution marker. ARGV: now, owner, marker ttl ms, then field/value pairs of the
# execution record (lease, owner process). The marker (SET NX), the move approved → executing and the record
# are written together: exactly one caller gets 'ok', and it never runs without a lease on record.
CLAIM_EXECUTION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'approved' then return status end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'expired')
  return 'expired'
end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 'claimed' end
redis.call('HSET', KEYS[1], 'status', 'executing', 'executor', ARGV[2])
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 'ok'
"""

# KEYS: approval hash. ARGV: allowed current statuses (comma list), new status, now, check expiry (1|0),
# then field/value pairs to set. Returns ok | expired | missing | <current status>.
TRANSITION = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == status then allowed = true end
end
if not allowed then return status end
if ARGV[4] == '1' and tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'status', 'expired')
  return 'expired'
end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 'ok'
"""

# KEYS: approval hash. ARGV: now. Expires a request still open once its time is up; 1 when this call did it.
EXPIRE = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'approved' and status ~= 'shadow' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'status', 'expired')
return 1
"""

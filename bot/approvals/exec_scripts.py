"""Lua scripts of the execution record (lease, settlement, notice); each touches one approval hash only."""

from __future__ import annotations

# KEYS: approval hash. ARGV: owner, new lease expiry (epoch s).
# Returns ok | stolen (another owner holds it) | missing | <status> (no longer executing: the lease is lost).
RENEW = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'executing' then return status end
if redis.call('HGET', KEYS[1], 'executor') ~= ARGV[1] then return 'stolen' end
redis.call('HSET', KEYS[1], 'lease_until', ARGV[2])
return 'ok'
"""

# KEYS: approval hash. ARGV: now, owner known to be dead ('' = judge by the lease only), result text.
# An execution whose lease lapsed (or whose owner is known dead) becomes `unknown`, once.
# Returns settled (this call did it) | alive | missing | <status>.
SETTLE_LOST = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'executing' then return status end
local dead = ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'executor') == ARGV[2]
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0') or 0
if not dead and lease > tonumber(ARGV[1]) then return 'alive' end
redis.call('HSET', KEYS[1], 'status', 'unknown', 'result', ARGV[3], 'settled_at', ARGV[1])
return 'settled'
"""

# KEYS: approval hash. ARGV: now, claim expiry. Who announces an unsettled outcome: one replica at a time;
# a claimant that dies mid-way lets the claim lapse and another finishes the announcement.
# Returns ok | busy | noticed | missing | <status> (already resolved, nothing to announce).
CLAIM_NOTICE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'unknown' and status ~= 'interrupted' then return status end
if redis.call('HGET', KEYS[1], 'noticed') == '1' then return 'noticed' end
if (tonumber(redis.call('HGET', KEYS[1], 'notice_until') or '0') or 0) > tonumber(ARGV[1]) then return 'busy' end
redis.call('HSET', KEYS[1], 'notice_until', ARGV[2])
return 'ok'
"""

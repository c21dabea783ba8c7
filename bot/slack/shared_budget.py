"""One Slack rate budget for every replica: a Lua token bucket per method (and per channel) held in Redis.

Slack's limits count per app and workspace, so replicas must share them. Each bucket lives in one hash with its
hold key beside it, both under one hash tag (`rb:{slack:conversations.create}:bucket` / `:hold`), so a script
touches one Cluster slot. Time inside the scripts is Redis `TIME`: replicas' clocks may drift apart, the Redis
server's clock is the one reading every replica shares (tests pass an explicit time instead). A Redis error or
slow answer never holds a Slack call back: the gateway falls back to its in-process limits, logged once per
outage and counted, and asks Redis again after `retry_s`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from redis.exceptions import RedisError

from bot import metrics
from bot.connections import Redis
from bot.keys import Keys
from bot.slack.clock import Clock
from bot.slack.ratelimit import DEFAULT_TIER, METHOD_TIERS, PER_CHANNEL_METHODS, TIER_PER_MINUTE

log = logging.getLogger(__name__)
JITTER_S = 0.05  # how much later than granted a call may reach Slack without going over its limit

# KEYS: bucket hash, hold key. ARGV: rate (tokens per ms), capacity, now in ms ("" for Redis TIME).
# Returns the milliseconds to wait: 0 means a token was taken.
ACQUIRE = """
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local hold = tonumber(redis.call('GET', KEYS[2]))
if hold and now < hold then
  return math.ceil(hold - now)
end
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
-- Idle buckets go: once full again (or the hold is over) the bucket equals a new one.
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(stamp - now, 0) + (capacity - tokens) / rate) + 1000)
return wait
"""

# KEYS: bucket hash, hold key. ARGV: hold in ms, now in ms ("" for Redis TIME).
# After a 429 nobody calls until the hold ends; then one token (one probe), refilling from there.
HOLD = """
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ms = tonumber(ARGV[1])
local till = now + ms
local current = tonumber(redis.call('GET', KEYS[2]))
if current and current >= till then
  return 0
end
redis.call('SET', KEYS[2], tostring(till), 'PX', ms)
redis.call('HSET', KEYS[1], 'tokens', '1', 'stamp', tostring(till))
redis.call('PEXPIRE', KEYS[1], ms + 60000)
return 1
"""


@dataclass(frozen=True)
class Limit:
    """One shared bucket: where it lives and how it fills."""

    name: str  # "conversations.create" or "chat.postMessage:C123"
    per_second: float
    capacity: float


def shared_limit(
    method: str, channel: str | None, scale: float = 1.0, per_channel_per_second: float = 1.0, burst: float = 3.0
) -> Limit:
    """The bucket for a call; never lets more than Slack's count through in any window of its length.

    A bucket of capacity C refilling at r lets C + r*W calls through in a window W, so a tier of N per minute
    gets C = N/10 and r = (N - C)/60, kept 3 % under that so network jitter cannot push one call over. Per-channel
    pacing is a bucket on Slack's side too: ours gives up JITTER_S worth of burst, so calls that arrive a little
    late and then bunched up still fit.
    """
    if method in PER_CHANNEL_METHODS and channel:
        rate = per_channel_per_second * scale
        return Limit(f"{method}:{channel}", rate * 0.97, max(1.0, burst - rate * JITTER_S))
    per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, DEFAULT_TIER)]
    capacity = max(1.0, per_minute / 10)
    return Limit(method, (per_minute - capacity) * scale / 60.0 * 0.97, capacity)


class SharedBudget:
    """Asks Redis whether a call may go; says "go" on any Redis trouble so the local limits rule alone."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        clock: Clock,
        *,
        scale: float = 1.0,
        timeout_s: float = 0.25,
        retry_s: float = 1.0,
    ) -> None:
        self.redis, self.keys, self.clock = redis, keys, clock
        self.scale = scale
        self.timeout_s, self.retry_s = timeout_s, retry_s
        self.degraded_until: float | None = None  # set while Redis is failing: local limits only until then
        self._acquire = redis.register_script(ACQUIRE)
        self._hold = redis.register_script(HOLD)

    @property
    def degraded(self) -> bool:
        """True while the last Redis call failed: calls follow the in-process limits only."""
        return self.degraded_until is not None

    async def acquire(self, method: str, channel: str | None, now_ms: int | None = None) -> float:
        """Seconds to wait before this call may go; 0 means it may go now (a token was taken)."""
        if self._skipping():
            return 0.0
        limit = shared_limit(method, channel, self.scale)
        bucket, hold = self.keys.slack_bucket(limit.name), self.keys.slack_hold(limit.name)
        args = [repr(limit.per_second / 1000.0), repr(limit.capacity), "" if now_ms is None else str(now_ms)]
        try:
            async with asyncio.timeout(self.timeout_s):
                wait_ms = await self._acquire(keys=[bucket, hold], args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return 0.0
        self._recovered()
        return max(0.0, float(wait_ms)) / 1000.0

    async def hold(self, method: str, channel: str | None, seconds: float, now_ms: int | None = None) -> None:
        """Slack answered 429: hold this method (or channel) for every replica for `seconds`."""
        if self._skipping():
            return
        name = shared_limit(method, channel, self.scale).name
        keys = [self.keys.slack_bucket(name), self.keys.slack_hold(name)]
        args = [str(max(1, round(seconds * 1000))), "" if now_ms is None else str(now_ms)]
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._hold(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return
        self._recovered()

    def _skipping(self) -> bool:
        # After a failure, give Redis `retry_s` before asking again, so an outage costs one timeout, not one per call.
        return self.degraded_until is not None and self.clock.now() < self.degraded_until

    def _failed(self, exc: BaseException) -> None:
        metrics.SLACK_SHARED_BUDGET_FALLBACKS.inc()
        if self.degraded_until is None:
            log.warning(
                "shared Slack budget unavailable: using this replica's own limits",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )
            metrics.SLACK_SHARED_BUDGET_DEGRADED.set(1)
        self.degraded_until = self.clock.now() + self.retry_s

    def _recovered(self) -> None:
        if self.degraded_until is not None:
            log.info("shared Slack budget available again")
            metrics.SLACK_SHARED_BUDGET_DEGRADED.set(0)
            self.degraded_until = None

"""One-time, idempotent move of timers from the unsharded layout (`rb:timers:due`) into shards (`rb:{timers:s}:due`).

Runs at every start before the scheduler: it checks the stored shard count (timers can only be found
under the count they were armed with), then moves each old timer with one script that reads the old
keys and writes the new ones. The old layout only ever existed on a single node, so that script may
touch several slots. A timer an older replica still holds under an unexpired lease is left for a
later pass (its lease decides); everything else moves at once. See docs/redis.md, "Migration".
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime

from bot.alerts import utcnow
from bot.connections import Redis, is_cluster, redis_call
from bot.errors import ConfigError
from bot.keys import Keys

log = logging.getLogger(__name__)

# KEYS: old due, old leased, old record, new due, new record. ARGV: id, now, old fired-marker prefix.
# Returns busy (leased by a live claim) | fired (already ran: dropped) | superseded (re-armed in shards
# already: the old copy is dropped) | moved | gone (only stale index entries).
MIGRATE_ONE = """
local id = ARGV[1]
local lease = redis.call('ZSCORE', KEYS[2], id)
if lease and tonumber(lease) > tonumber(ARGV[2]) then return 'busy' end
local gen = redis.call('HGET', KEYS[3], 'generation')
local outcome = 'gone'
if gen then
  if redis.call('EXISTS', ARGV[3] .. id .. ':' .. gen) == 1 then
    outcome = 'fired'
  elseif redis.call('EXISTS', KEYS[5]) == 1 then
    outcome = 'superseded'
  else
    redis.call('HSET', KEYS[5], unpack(redis.call('HGETALL', KEYS[3])))
    redis.call('HSET', KEYS[5], 'token', '')
    redis.call('ZADD', KEYS[4], redis.call('HGET', KEYS[3], 'due'), id)
    outcome = 'moved'
  end
end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
return outcome
"""


async def check_layout(redis: Redis, keys: Keys) -> None:
    """Record the shard count on first start; ConfigError when timers were stored under another count."""
    await redis_call(redis.set(keys.timer_layout(), keys.timer_shards, nx=True))
    stored = int(await redis_call(redis.get(keys.timer_layout())))
    if stored != keys.timer_shards:
        raise ConfigError(
            f"TIMER_SHARDS is {keys.timer_shards} but the timers in Redis are stored in {stored} shards;"
            f" set TIMER_SHARDS={stored} (docs/redis.md, 'Timer shards')",
            fields=["TIMER_SHARDS"],
        )


async def migrate_legacy_timers(redis: Redis, keys: Keys, now: datetime | None = None) -> Counter[str]:
    """Move every timer of the unsharded layout into its shard; returns how many per outcome."""
    outcomes: Counter[str] = Counter()
    if is_cluster(redis):
        return outcomes  # the unsharded layout could never run on a cluster
    at = (now or utcnow()).timestamp()
    script = redis.register_script(MIGRATE_ONE)
    old_due, old_leased = keys.legacy_timers_due(), keys.legacy_timers_leased()
    ids = set(await redis_call(redis.zrange(old_due, 0, -1))) | set(await redis_call(redis.zrange(old_leased, 0, -1)))
    fired_prefix = keys.legacy_timer_fired("", "")[:-1]
    for timer_id in sorted(ids):
        shard = keys.timer_shard(timer_id)
        script_keys = [old_due, old_leased, keys.legacy_timer(timer_id), keys.timers_due(shard), keys.timer(timer_id)]
        outcomes[str(await redis_call(script(keys=script_keys, args=[timer_id, at, fired_prefix])))] += 1
    if ids:
        log.info("timers migrated to the sharded layout", extra={"outcomes": dict(outcomes)})
    return outcomes


async def migrate_timers(redis: Redis, keys: Keys) -> int:
    """At start: check the layout and move the old timers; returns how many are still leased (0: done)."""
    await check_layout(redis, keys)
    return (await migrate_legacy_timers(redis, keys))["busy"]


async def finish_migration(redis: Redis, keys: Keys, retry_every_s: float = 5.0, max_passes: int = 120) -> None:
    """Migrate again until no old timer is left under a live lease (their leases run out within minutes)."""
    for _ in range(max_passes):
        await asyncio.sleep(retry_every_s)
        if not (await migrate_legacy_timers(redis, keys))["busy"]:
            return
    log.warning("old-layout timers still leased after every migration pass; restart to move them")

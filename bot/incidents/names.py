"""Display names the bot has seen, cached in Redis so a post-mortem drafted offline names people too.

The Slack side writes a name each time it resolves one (users.info); `runbookctl postmortem` only reads.
A person the bot never resolved keeps their user id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.connections import Redis
from bot.connections import redis_call as _call  # one RedisError translation for every store
from bot.keys import Keys


class NameCache:
    """User id → display name, in one Redis hash."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def get_many(self, user_ids: Iterable[str]) -> dict[str, str]:
        """The cached names of these ids (ids never seen are left out)."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        values = await _call(self.redis.hmget(self.keys.user_names(), ids))
        return {uid: str(name) for uid, name in zip(ids, values, strict=True) if name}

    async def remember(self, names: Mapping[str, str]) -> None:
        """Store names just resolved (a later rename overwrites)."""
        if names:
            await _call(self.redis.hset(self.keys.user_names(), mapping={k: v for k, v in names.items()}))

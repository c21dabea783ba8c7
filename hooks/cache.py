"""flush_cache: FLUSHDB, or delete the keys matching a pattern, on a named Redis target."""

from __future__ import annotations

from typing import ClassVar

import redis.asyncio as aioredis
from pydantic import Field
from redis.exceptions import RedisError

from bot.connections import redact_url
from bot.errors import HookError, UpstreamError
from hooks.base import ActionOutput, BaseAction, HookConfig, HookContext
from hooks.registry import register

SCAN_COUNT = 1000
DELETE_BATCH = 500


class FlushCacheConfig(HookConfig):
    """Config of flush_cache."""

    target: str = Field(min_length=1, description="key in CACHE_URLS")
    pattern: str | None = Field(default=None, min_length=1, description="glob of keys to delete; default: FLUSHDB")
    timeout_s: float = Field(default=10.0, gt=0, description="socket timeout per command")


def cache_url(ctx: HookContext, target: str) -> str:
    """The Redis URL configured under `target`, or HookError naming the configured ones."""
    url = ctx.settings.cache_urls.get(target)
    if url is None:
        known = ", ".join(sorted(ctx.settings.cache_urls)) or "none"
        raise HookError(f"unknown cache target {target!r}; CACHE_URLS has: {known}")
    return url.get_secret_value()


async def delete_matching(client: aioredis.Redis, pattern: str) -> int:
    """UNLINK every key matching the glob, in batches; returns how many went."""
    deleted = 0
    batch: list[bytes] = []
    async for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= DELETE_BATCH:
            deleted += await client.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await client.unlink(*batch)
    return deleted


@register
class FlushCache(BaseAction):
    """Empty a cache database, or only the keys matching a pattern."""

    name: ClassVar[str] = "flush_cache"
    help: ClassVar[str] = "Redis FLUSHDB, or UNLINK of the keys matching a pattern, on a named cache target"
    config_model: ClassVar[type[FlushCacheConfig]] = FlushCacheConfig

    def describe(self, config: FlushCacheConfig, ctx: HookContext) -> str:
        """What would be deleted, where."""
        try:
            where = redact_url(cache_url(ctx, config.target))
        except HookError:
            where = "an address not configured in CACHE_URLS"
        what = (
            f"every key matching {config.pattern!r} (SCAN + UNLINK)"
            if config.pattern
            else "the whole database (FLUSHDB)"
        )
        return f"Delete {what} on cache {config.target!r} ({where}). Not undoable: the cache refills from its source."

    async def perform(self, config: FlushCacheConfig, ctx: HookContext) -> ActionOutput:
        """Flush or delete by pattern, reporting key counts."""
        url = cache_url(ctx, config.target)
        client = aioredis.Redis.from_url(url, socket_timeout=config.timeout_s, socket_connect_timeout=config.timeout_s)
        try:
            before = await client.dbsize()
            if config.pattern:
                deleted = await delete_matching(client, config.pattern)
                output = (
                    f"deleted {deleted} keys matching {config.pattern!r} on {config.target!r} ({before} keys before)"
                )
            else:
                await client.flushdb()
                deleted = before
                output = f"flushed database of {config.target!r} ({before} keys before)"
            after = await client.dbsize()
        except RedisError as exc:
            raise UpstreamError(f"cache {config.target!r} at {redact_url(url)} failed: {exc}") from exc
        finally:
            await client.aclose()
        return ActionOutput(
            ok=True, output=output, data={"deleted": deleted, "keys_before": before, "keys_after": after}
        )

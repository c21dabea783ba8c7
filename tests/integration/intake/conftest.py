"""A real webhook server on loopback over a real incident store, and an httpx client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.connections import Redis
from bot.incidents.store import IncidentStore
from bot.intake import StoreSink
from bot.intake.routes import add_alert_routes
from bot.keys import Keys
from bot.settings import Settings
from bot.web import HttpServer, connection_limits, start_http_server
from tests.conftest import FIXTURES

TOKEN = "it-token"
PD_SECRET = "it-pagerduty-secret"
GRAFANA_SECRET = "it-grafana-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@dataclass
class Intake:
    """The running server, its client, and the store behind it."""

    client: httpx.AsyncClient
    store: IncidentStore
    redis: Redis
    keys: Keys

    async def keys_written(self) -> list[str]:
        """Every Redis key under this test's prefix."""
        return [k async for k in self.redis.scan_iter(match=self.keys.pattern(), count=1000)]


async def serve(settings: Settings, store: IncidentStore) -> tuple[web.AppRunner, str]:
    """Start the webhook app on 127.0.0.1, port chosen by the OS; returns the runner and base URL."""
    server = await serve_guarded(settings, store)
    return server.runner, f"http://127.0.0.1:{server.port}"


async def serve_guarded(settings: Settings, store: IncidentStore) -> HttpServer:
    """The webhook app behind the same connection guard as production, with the settings' limits."""
    app = web.Application()
    add_alert_routes(app, settings, StoreSink(store))
    return await start_http_server(app, "127.0.0.1", 0, connection_limits(settings))


def settings(**overrides: object) -> Settings:
    """Settings with a webhook token, a PagerDuty secret and a Grafana HMAC secret."""
    return Settings(
        webhook_token=SecretStr(TOKEN),
        pagerduty_webhook_secret=SecretStr(PD_SECRET),
        grafana_webhook_secret=SecretStr(GRAFANA_SECRET),
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
async def intake(redis: Redis, keys: Keys) -> AsyncIterator[Intake]:
    """The webhook server over a store on this test's key prefix."""
    store = IncidentStore(redis, keys)
    runner, url = await serve(settings(), store)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield Intake(client, store, redis, keys)
    finally:
        await runner.cleanup()


@pytest.fixture
def payload() -> Callable[[str, str], bytes]:
    """Raw bytes of tests/fixtures/payloads/<source>/<name>.json."""

    def read(source: str, name: str) -> bytes:
        return (FIXTURES / "payloads" / source / f"{name}.json").read_bytes()

    return read

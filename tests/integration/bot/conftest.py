"""The whole bot against the Slack emulator, real Redis and loopback HTTP servers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from tests.conftest import Serve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RUNBOOKS = FIXTURES / "bot_runbooks"


class ApiServer:
    """A loopback server standing in for the service under diagnosis: /health answers with `status`."""

    def __init__(self) -> None:
        self.status = 500
        self.notified: list[dict[str, Any]] = []
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_post("/notify", self.notify)
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": self.status < 400}, status=self.status)

    async def notify(self, request: web.Request) -> web.Response:
        self.notified.append(await request.json())
        return web.json_response({"ok": True})


@pytest.fixture
async def api_server(serve: Serve) -> ApiServer:
    server = ApiServer()
    server.url = await serve(server.app())
    return server


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    """Emulator + bot on this test's key prefix."""
    started = await start_sandbox(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        runbooks_path=RUNBOOKS,
        data_dir=tmp_path,
        shell_allowlist=["echo"],
        log_format="text",
        # The alerts point the runbook's hooks at a loopback API server on a random port.
        http_allowed_hosts=["127.0.0.1:*"],
    )
    yield started
    await started.stop()


def alertmanager_payload(
    group: str = "api", status: str = "firing", health_url: str = "", notify_url: str = "", title: str = ""
) -> dict[str, Any]:
    """An Alertmanager v4 message with one alert of the ApiLatencyHigh group."""
    alert = {
        "status": status,
        "labels": {"alertname": "ApiLatencyHigh", "service": "api", "severity": "critical", "group": group},
        "annotations": {
            "summary": title or f"API latency high ({group})",
            "description": "p99 above 2s <!channel>",
            "health_url": health_url,
            "notify_url": notify_url,
            "dashboard": "https://grafana.example/d/api",
        },
        "startsAt": "2026-11-23T08:00:00Z",
        "endsAt": "2026-11-23T08:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": f"fp-{group}",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="ApiLatencyHigh", group="{group}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "runbook-bot",
        "groupLabels": {"alertname": "ApiLatencyHigh", "group": group},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.example",
        "alerts": [alert],
    }


async def post_alert(stack: SandboxStack, payload: dict[str, Any], source: str = "alertmanager") -> httpx.Response:
    """POST a webhook to the bot with the sandbox token."""
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        return await client.post(
            f"/alerts/{source}",
            content=json.dumps(payload),
            headers={"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"},
        )

"""The whole bot against the Slack emulator, real Redis and loopback HTTP servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.connections import Redis
from bot.keys import Keys
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from tests.conftest import Serve
from tests.integration.bot.lifecycle_stack import ALICE, DECLARE_RUNBOOKS, SANDBOX_ESCALATION
from tests.teardown import stop_explained

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RUNBOOKS = FIXTURES / "bot_runbooks"
# The sandbox's escalation puts alice on call and pages her at once, so she is a responder.
WITH_ON_CALL: dict[str, Any] = {"escalation_path": SANDBOX_ESCALATION}
# What the runbooks' checks need: `echo` for shell steps, hooks pointed at a loopback server on a random port.
WITH_HOOKS: dict[str, Any] = {"shell_allowlist": ["echo"], "http_allowed_hosts": ["127.0.0.1:*"]}
# The declare, severity and App Home scenarios: declarable runbooks, and alice on call.
DECLARE_STACK: dict[str, Any] = {
    "runbooks_path": DECLARE_RUNBOOKS,
    "log_format": "text",
    "shell_allowlist": ["echo"],
    **WITH_ON_CALL,
}

StartStack = Callable[..., Awaitable[SandboxStack]]


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


@asynccontextmanager
async def sandbox_stacks(redis_url: str, prefix: str, data_dir: Path) -> AsyncIterator[StartStack]:
    """Start emulator + bot stacks on one key prefix (`start(runbooks, **start_sandbox options)`); all stop at exit.

    SLACK_MODE in the environment (the slack_mode fixtures) picks Socket Mode or HTTP for each of them.
    """
    started: list[SandboxStack] = []

    async def start(runbooks_path: Path = RUNBOOKS, **options: Any) -> SandboxStack:
        options.setdefault("data_dir", data_dir)
        stack = await start_sandbox(redis_url=redis_url, redis_prefix=prefix, runbooks_path=runbooks_path, **options)
        started.append(stack)
        return stack

    try:
        yield start
    finally:
        for stack in reversed(started):
            await stop_explained(stack.stop(), "the sandbox stack")


@pytest.fixture
async def start_stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[StartStack]:
    """Start stacks on this test's key prefix with what differs as start_sandbox options; each is stopped after."""
    async with sandbox_stacks(redis_url, keys.prefix, tmp_path) as start:
        yield start


@pytest.fixture
async def stack(start_stack: StartStack) -> SandboxStack:
    """Emulator + bot on this test's key prefix."""
    return await start_stack(RUNBOOKS, log_format="text", **WITH_HOOKS)


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


async def deliver_like_alertmanager(
    client: httpx.AsyncClient, path: str, payload: dict[str, Any], headers: dict[str, str], give_up_after: float = 60
) -> httpx.Response:
    """POST until the bot takes it, resending after each 503's Retry-After as Alertmanager does.

    A 503 is the bot's documented answer when its store is slow (bot/intake/deadline.py), which a loaded
    machine can cause in a storm; the sender's retry is what makes that lossless.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    while True:
        response = await client.post(path, content=json.dumps(payload), headers=headers)
        if response.status_code != 503 or loop.time() > deadline:
            return response
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


async def open_incident(
    stack: SandboxStack, group: str, *, channel: str = "", paged: str | None = ALICE, **alert: str
) -> str:
    """Fire the ApiLatencyHigh alert of `group`; its channel's id once it exists and `paged` is paged there.

    `channel` is the expected channel name (by default the one the alert's title gives); `alert` goes to the payload.
    """
    assert (await post_alert(stack, alertmanager_payload(group=group, **alert))).status_code == 202
    room = await stack.emulator.wait_for_channel(channel or f"inc-1-api-api-latency-high-{group}", timeout=10)
    if paged is not None:
        await stack.emulator.wait_for_message(room.id, f"Paging* <@{paged}>", timeout=10)
    return room.id


async def command(
    stack: SandboxStack, user: str, channel: str, text: str, expect: str, slash: str = "/incident"
) -> str:
    """Type `/incident text` (or another `slash` command) as the user; the ephemeral reply containing `expect`."""
    await (await stack.emulator.driver.slash_command(user, channel, text, command=slash)).acked()
    reply = await stack.emulator.wait_for_ephemeral(user, expect, timeout=5)
    return reply.text or ""


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 5.0) -> Any:  # noqa: ASYNC109
    """Poll an async probe until it returns something truthy (its last answer once `timeout` has passed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


PAGER_ROUTING_KEY = "R0UTINGKEY"


async def start_with_pager(
    start_stack: StartStack, serve: Serve, answer: Callable[[web.Request], Awaitable[web.Response]]
) -> SandboxStack:
    """A stack whose escalation pages through PagerDuty's Events API, served on loopback by `answer`."""
    app = web.Application()
    app.router.add_post("/v2/enqueue", answer)
    pagerduty = await serve(app)
    return await start_stack(
        RUNBOOKS,
        escalation_path=FIXTURES / "escalation_pager",
        pagerduty_events_url=f"{pagerduty}/v2/enqueue",
        pagerduty_routing_key=PAGER_ROUTING_KEY,
    )

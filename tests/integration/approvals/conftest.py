"""Approvals over real sockets: the emulator, the bot, real Redis and a loopback server that counts executions."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.connections import Redis
from bot.incidents.models import AuditEvent
from bot.keys import Keys
from bot.sandbox.emulator import Message
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN, SandboxStack, start_sandbox
from tests.conftest import Serve
from tests.teardown import stop_explained

RUNBOOKS = Path(__file__).resolve().parents[2] / "fixtures" / "approval_runbooks"


class Target:
    """The loopback service the drill's actions reach: counts POSTs per path; /health fails."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_post("/{name}", self.post)
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False}, status=500)

    async def post(self, request: web.Request) -> web.Response:
        self.hits[request.match_info["name"]] += 1
        return web.json_response({"ok": True})


@pytest.fixture
async def target(serve: Serve) -> Target:
    server = Target()
    server.url = await serve(server.app())
    return server


def sandbox_settings(keys: Keys, redis_url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """start_sandbox arguments for this test's key prefix and the drill runbook."""
    return {
        "redis_url": redis_url,
        "redis_prefix": keys.prefix,
        "runbooks_path": RUNBOOKS,
        "data_dir": tmp_path,
        "log_format": "text",
        # The drill's alerts point its hooks at a loopback target server on a random port.
        "http_allowed_hosts": ["127.0.0.1:*"],
        # alice and bob respond (the access policy lets responders pause and request); carol and dave do not.
        "responder_usergroup": "S0ONCALL01",
        **overrides,
    }


@pytest.fixture
async def stack(redis: Redis, redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[SandboxStack]:
    """Emulator + bot on this test's key prefix, with the drill runbook."""
    started = await start_sandbox(**sandbox_settings(keys, redis_url, tmp_path))
    yield started
    await stop_explained(started.stop(), "the sandbox stack")


def drill_alert(scenario: str, base_url: str, group: str | None = None, env: str = "prod") -> dict[str, Any]:
    """An Alertmanager v4 message with one ApprovalDrill alert whose `scenario` label picks the steps."""
    group = group or scenario
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "ApprovalDrill",
            "service": "api",
            "severity": "critical",
            "scenario": scenario,
            "env": env,
        },
        "annotations": {"summary": f"drill {scenario}", "base_url": base_url},
        "startsAt": "2026-11-23T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"fp-{group}",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="ApprovalDrill", group="{group}"}}',
        "status": "firing",
        "receiver": "runbook-bot",
        "groupLabels": {"alertname": "ApprovalDrill", "group": group},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.example",
        "alerts": [alert],
    }


async def open_drill(stack: SandboxStack, scenario: str, base_url: str, env: str = "prod") -> tuple[str, Message]:
    """Post the alert; returns the incident channel id and the plan message with its buttons."""
    async with httpx.AsyncClient(base_url=stack.webhook_url) as client:
        response = await client.post(
            "/alerts/alertmanager",
            content=json.dumps(drill_alert(scenario, base_url, env=env)),
            headers={"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"},
        )
    assert response.status_code == 202, response.text
    channel = await stack.emulator.wait_until(
        lambda: next((c for c in stack.emulator.channels() if c.name.startswith("inc-")), None), 10, "channel"
    )
    plan = await stack.emulator.wait_for_message(channel.id, "Next safe step", timeout=15)
    return channel.id, plan


def button_value(message: Message, action_id: str, step_name: str | None = None) -> str:
    """The approval id on a button of the message (of the step whose section names `step_name`)."""
    blocks = message.blocks or []
    for index, block in enumerate(blocks):
        if block.get("type") != "actions":
            continue
        section = blocks[index - 2] if index >= 2 else {}
        if step_name is not None and step_name not in str(section.get("text", {}).get("text", "")):
            continue
        for element in block["elements"]:
            if element["action_id"] == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button for {step_name!r} in {blocks}")


def texts(message: Message) -> str:
    """All the text of a message, blocks included."""
    return (message.text or "") + " " + json.dumps(message.blocks or [])


async def audit_actions(stack: SandboxStack) -> Counter[str]:
    """How many audit events of each action the store holds."""
    store = stack.bot.services.store  # type: ignore[union-attr]
    events: list[AuditEvent] = await store.read_audit()
    return Counter(e.action for e in events)

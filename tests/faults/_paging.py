"""Fixtures of the paging fault tests: a Slack proxy, a recording PagerDuty, the bot in or out of process.

Outages use the emulator's own fault mode. The proxy is for one fault the emulator does not
make: a call that Slack carries out while its answer is held back (so a process can die with a
message sent but not known to be sent). It sits between the bot and the emulator (the bot's
SLACK_API_URL points at it); Socket Mode still reaches the emulator directly.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import ClientSession, web

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.stack import SANDBOX_WEBHOOK_TOKEN

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
RUNBOOKS = FIXTURES / "bot_runbooks"
ESCALATION = FIXTURES / "escalation_faults"
ALICE, BOB = "U0ALICE001", "U0BOB00001"
ROUTING_KEY = "R0UTINGKEY"
OPEN_ALERT = ("triggered", "acknowledged")


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def poll(probe: Callable[[], Any], within: float, what: str, every: float = 0.1) -> Any:
    """Re-check `probe` until it returns something truthy; fails naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, f"not within {within:.0f} s: {what}"
        await asyncio.sleep(every)


class SlackFaultProxy:
    """Forwards /api/* to the emulator; `refuse()`, `fail(500)`, `hold(s)` and `heal()` switch faults at run time."""

    def __init__(self, emulator: SlackEmulator) -> None:
        self.target = emulator.base_url
        self.port = free_port()
        self.status: int | None = None
        self.hold_s = 0.0
        self.hold_methods: set[str] = set()
        self.forwarded: list[str] = []
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def start(self) -> None:
        self._session = self._session or ClientSession()
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._forward)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def refuse(self) -> None:
        """Close the listening socket: every call now fails with 'connection refused'."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def fail(self, status: int) -> None:
        """Answer every call with this HTTP status."""
        self.status = status

    def hold(self, seconds: float, methods: set[str]) -> None:
        """Forward calls of `methods`, then hold Slack's answer back this long (a send whose reply is in flight)."""
        self.hold_s, self.hold_methods = seconds, methods

    async def heal(self) -> None:
        """Back to normal."""
        self.status, self.hold_s = None, 0.0
        if self._runner is None:
            await self.start()

    async def stop(self) -> None:
        await self.refuse()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        if self.status is not None:
            return web.Response(status=self.status, text="injected failure")
        assert self._session is not None
        method = request.match_info["method"]
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        body = await request.read()
        url = f"{self.target}/api/{method}"
        async with self._session.request(request.method, url, data=body, headers=headers, params=request.query) as r:
            payload = await r.read()
            self.forwarded.append(method)
            if self.hold_s and method in self.hold_methods:
                await asyncio.sleep(self.hold_s)
            return web.Response(body=payload, status=r.status, content_type="application/json")


@dataclass
class PagerDutyAlert:
    """One alert at the pager: its key, status, and how many trigger events it absorbed."""

    dedup_key: str
    status: str
    summary: str
    triggers: int = 1


@dataclass
class PagerDutyRecorder:
    """A loopback Events API v2 that records every event and deduplicates by `dedup_key` as PagerDuty does.

    PagerDuty's rules (Events API v2, alert de-duplication): a `trigger` whose `dedup_key` matches an open
    alert (triggered or acknowledged) is added to that alert's log and notifies nobody; a `trigger` with a
    new key, or the key of a resolved alert, opens a new alert and notifies on-call; a trigger without a
    key gets a generated one; `acknowledge` and `resolve` act on the open alert with that key, else
    nothing. Accepted events are answered 202 `{"status": "success", "message": "Event processed", ...}`.
    `notified` lists the keys of the alerts opened (each a notification). `on_accept` runs after an event
    is taken, before it is answered (a test kills the sender there); `hold_s` delays the answer.
    """

    hold_s: float = 0.0
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    alerts: list[PagerDutyAlert] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    on_accept: Callable[[dict[str, Any]], None] | None = None
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/v2/enqueue"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def open_alert(self, dedup_key: str) -> PagerDutyAlert | None:
        """The open alert with this key, if any."""
        return next((a for a in self.alerts if a.dedup_key == dedup_key and a.status in OPEN_ALERT), None)

    def apply(self, event: dict[str, Any]) -> str:
        """Apply one valid event as PagerDuty does; returns its dedup key."""
        key = str(event.get("dedup_key") or uuid.uuid4().hex)
        alert = self.open_alert(key)
        if event["event_action"] == "trigger":
            if alert is not None:
                alert.triggers += 1  # merged into the open alert: nobody is notified again
            else:
                self.alerts.append(PagerDutyAlert(key, "triggered", str(event["payload"]["summary"])))
                self.notified.append(key)
        elif alert is not None:
            alert.status = "acknowledged" if event["event_action"] == "acknowledge" else "resolved"
        return key

    async def _enqueue(self, request: web.Request) -> web.Response:
        body = await request.read()
        event = json.loads(body)
        if event.get("routing_key") != ROUTING_KEY:
            return web.json_response({"status": "invalid event", "errors": ["Invalid routing key"]}, status=400)
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            return web.json_response({"status": "invalid event", "errors": ["Invalid event_action"]}, status=400)
        self.events.append((time.monotonic(), event))
        self.bodies.append(body)
        key = self.apply(event)
        if self.on_accept is not None:
            self.on_accept(event)
        if self.hold_s:
            await asyncio.sleep(self.hold_s)
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": key}, status=202)

    def triggers(self, level: int | None = None) -> list[tuple[float, dict[str, Any]]]:
        """Trigger events (of one page level, if given), with the monotonic time each arrived."""
        return [
            (at, e)
            for at, e in self.events
            if e.get("event_action") == "trigger"
            and (level is None or e["payload"]["custom_details"].get("level") == str(level))
        ]

    def trigger_bodies(self) -> list[bytes]:
        """The raw request bodies of the trigger events, as received."""
        return [b for b in self.bodies if json.loads(b).get("event_action") == "trigger"]


def bot_settings(emulator: SlackEmulator, api_url: str, pagerduty: PagerDutyRecorder, **extra: Any) -> dict[str, Any]:
    """Settings (as keyword names) of a bot whose Slack Web API is `api_url` (the emulator, or a proxy to it)."""
    return {
        "slack_api_url": api_url,
        "slack_bot_token": emulator.bot_token,
        "slack_app_token": emulator.app_token,
        "webhook_token": SANDBOX_WEBHOOK_TOKEN,
        "runbooks_path": str(RUNBOOKS),
        "escalation_path": str(ESCALATION),
        "pagerduty_events_url": pagerduty.url,
        "pagerduty_routing_key": ROUTING_KEY,
        "http_host": "127.0.0.1",
        "environment": "sandbox",
        "log_format": "text",
        **extra,
    }


def serve_env(settings: dict[str, Any]) -> dict[str, str]:
    """The environment of a `runbookctl serve` process with these settings."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


def runbookctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def alert(group: str) -> dict[str, Any]:
    """An Alertmanager message opening one incident of the api service."""
    labels = {"alertname": "ApiLatencyHigh", "service": "api", "severity": "critical", "group": group}
    item = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"API latency high ({group})"},
        "startsAt": "2026-11-23T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"fp-{group}",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="ApiLatencyHigh", group="{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "runbook-bot",
        "groupLabels": {"alertname": "ApiLatencyHigh", "group": group},
        "commonLabels": labels,
        "commonAnnotations": item["annotations"],
        "externalURL": "http://alertmanager.example",
        "alerts": [item],
    }


async def post_alert(base_url: str, group: str) -> httpx.Response:
    """POST the alert to a bot's webhook."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        return await client.post(
            "/alerts/alertmanager",
            content=json.dumps(alert(group)),
            headers={"Authorization": f"Bearer {SANDBOX_WEBHOOK_TOKEN}", "Content-Type": "application/json"},
        )


def page_messages(emulator: SlackEmulator, channel_id: str | None, user: str) -> list[str]:
    """Texts of the page messages naming `user` in a channel (or DM)."""
    if channel_id is None:
        return []
    return [str(m.blocks) for m in emulator.messages(channel_id) if f"Paging* <@{user}>" in str(m.blocks)]


def dm_pages(emulator: SlackEmulator, user: str) -> list[str]:
    """Page messages the bot sent `user` by DM."""
    channel = emulator.dm(user)
    return page_messages(emulator, channel.id if channel else None, user)

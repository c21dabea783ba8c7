"""A loopback PagerDuty Events API v2 that deduplicates by `dedup_key` as PagerDuty documents it.

PagerDuty's rules (Events API v2, "Alert and incident de-duplication"): a `trigger` whose `dedup_key`
matches an open alert (triggered or acknowledged) is added to that alert's log and notifies nobody; a
`trigger` with a new key, or with the key of a resolved alert, opens a new alert and notifies on-call;
a trigger without a key gets a generated one (a new alert each time); `acknowledge` and `resolve` act on
the open alert with that key and are ignored otherwise. Every accepted event is answered 202 with
`{"status": "success", "message": "Event processed", "dedup_key": ...}`.

`on_accept` runs after an event is taken and before it is answered: a test kills the sender there, so
the event counts at the pager while the sender never learns it was accepted.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

OPEN = ("triggered", "acknowledged")


@dataclass
class PagerDutyAlert:
    """One alert at the pager: its key, status, and how many trigger events it absorbed."""

    dedup_key: str
    status: str
    summary: str
    triggers: int = 1


@dataclass
class PagerDutyDedup:
    """Records every request body as received and keeps alerts by dedup key; `notified` lists alerts opened."""

    routing_key: str
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
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/v2/enqueue"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def open_alert(self, dedup_key: str) -> PagerDutyAlert | None:
        """The open alert with this key, if any."""
        return next((a for a in self.alerts if a.dedup_key == dedup_key and a.status in OPEN), None)

    def triggers(self) -> list[dict[str, Any]]:
        """Every trigger event received, in order."""
        return [e for e in map(json.loads, self.bodies) if e.get("event_action") == "trigger"]

    def apply(self, event: dict[str, Any]) -> str:
        """Apply one valid event as PagerDuty does; returns its dedup key."""
        action = event["event_action"]
        key = str(event.get("dedup_key") or uuid.uuid4().hex)
        alert = self.open_alert(key)
        if action == "trigger":
            if alert is not None:
                alert.triggers += 1  # de-duplicated into the open alert: nobody is notified again
            else:
                self.alerts.append(PagerDutyAlert(key, "triggered", str(event["payload"]["summary"])))
                self.notified.append(key)
        elif alert is not None:
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
        return key

    async def _enqueue(self, request: web.Request) -> web.Response:
        body = await request.read()
        event = json.loads(body)
        if event.get("routing_key") != self.routing_key:
            return web.json_response({"status": "invalid event", "errors": ["Invalid routing key"]}, status=400)
        if event.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            return web.json_response({"status": "invalid event", "errors": ["Invalid event_action"]}, status=400)
        self.bodies.append(body)
        key = self.apply(event)
        if self.on_accept is not None:
            self.on_accept(event)
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": key}, status=202)

"""A loopback Statuspage REST v1 server: incidents and components of one page, one request a second per key.

Request and response shapes follow Statuspage's published API reference: bodies wrap the object
(`{"incident": {...}}`, `{"component": {...}}`), a new status or body on PATCH adds an incident update,
`Authorization: OAuth <key>`; beyond one request a second the server answers 429 with Retry-After.
`impact_override` sets the incident's impact without adding an update.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sp-test-key"
PAGE_ID = "pg1"
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved"}
IMPACTS = {"none", "minor", "major", "critical"}


@dataclass
class FakeStatuspage:
    """The server's state and what it saw."""

    window_s: float = 1.0
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, float]] = field(default_factory=list)
    # Each accepted incident write's body (method, path, the `incident` object), in order.
    incident_writes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    refused: int = 0
    # Answer the next N successful writes, then drop the connection instead of replying (a lost response).
    lose_responses: int = 0
    _last: float = -1e9

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        base = f"/v1/pages/{PAGE_ID}"
        app.router.add_post(f"{base}/incidents", self.create_incident)
        app.router.add_get(f"{base}/incidents/unresolved", self.unresolved)
        app.router.add_get(f"{base}/incidents/{{id}}", self.get_incident)
        app.router.add_patch(f"{base}/incidents/{{id}}", self.update_incident)
        app.router.add_patch(f"{base}/components/{{id}}", self.update_component)
        return app

    def add_component(self, component_id: str, name: str) -> None:
        self.components[component_id] = {"id": component_id, "name": name, "status": "operational"}

    def accepted(self, method: str | None = None) -> list[tuple[str, str, float]]:
        return [c for c in self.calls if method is None or c[0] == method]

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"OAuth {API_KEY}":
            return web.json_response({"error": "Could not authenticate"}, status=401)
        now = time.monotonic()
        if now - self._last < self.window_s:
            self.refused += 1
            return web.json_response({"error": "Rate limit exceeded"}, status=429, headers={"Retry-After": "1"})
        self._last = now
        self.calls.append((request.method, request.path, now))
        return await handler(request)

    def _maybe_lose(self, request: web.Request) -> None:
        if self.lose_responses > 0:
            self.lose_responses -= 1
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("response lost on purpose")

    async def create_incident(self, request: web.Request) -> web.Response:
        body = (await request.json())["incident"]
        if not body.get("name"):
            return web.json_response({"error": ["name can't be blank"]}, status=422)
        if body.get("status", "investigating") not in INCIDENT_STATUSES:
            return web.json_response({"error": ["status is not included in the list"]}, status=422)
        if any(c not in self.components for c in body.get("component_ids", [])):
            return web.json_response({"error": ["component_ids must belong to this page"]}, status=422)
        if body.get("impact_override", "none") not in IMPACTS:
            return web.json_response({"error": ["impact_override is not included in the list"]}, status=422)
        self.incident_writes.append((request.method, request.path, body))
        incident_id = uuid.uuid4().hex[:12]
        now = time.time()
        incident = {
            "id": incident_id,
            "name": body["name"],
            "status": body.get("status", "investigating"),
            "impact": body.get("impact_override", "none"),
            "metadata": body.get("metadata") or {},
            "components": [self.components[c] for c in body.get("component_ids", []) if c in self.components],
            "incident_updates": [],
            "created_at": now,
            "resolved_at": None,
        }
        self._add_update(incident, body.get("status", "investigating"), body.get("body", ""))
        self.incidents[incident_id] = incident
        self._maybe_lose(request)
        return web.json_response(incident, status=201)

    async def update_incident(self, request: web.Request) -> web.Response:
        incident = self.incidents.get(request.match_info["id"])
        if incident is None:
            return web.json_response({"error": "Not found"}, status=404)
        body = (await request.json())["incident"]
        status = body.get("status", incident["status"])
        if status not in INCIDENT_STATUSES:
            return web.json_response({"error": ["status is not included in the list"]}, status=422)
        if body.get("impact_override", "none") not in IMPACTS:
            return web.json_response({"error": ["impact_override is not included in the list"]}, status=422)
        self.incident_writes.append((request.method, request.path, body))
        if "status" in body or "body" in body:
            self._add_update(incident, status, body.get("body", ""))
        incident["status"] = status
        if "impact_override" in body:
            incident["impact"] = body["impact_override"]
        if status == "resolved":
            incident["resolved_at"] = time.time()
        self._maybe_lose(request)
        return web.json_response(incident)

    async def get_incident(self, request: web.Request) -> web.Response:
        incident = self.incidents.get(request.match_info["id"])
        if incident is None:
            return web.json_response({"error": "Not found"}, status=404)
        return web.json_response(incident)

    async def unresolved(self, request: web.Request) -> web.Response:
        found = [i for i in self.incidents.values() if i["status"] not in ("resolved", "postmortem", "completed")]
        return web.json_response(found)

    async def update_component(self, request: web.Request) -> web.Response:
        component = self.components.get(request.match_info["id"])
        if component is None:
            return web.json_response({"error": "Not found"}, status=404)
        body = (await request.json())["component"]
        allowed = {"operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"}
        if body.get("status") not in allowed:
            return web.json_response({"error": ["status is not included in the list"]}, status=422)
        component["status"] = body["status"]
        return web.json_response(component)

    @staticmethod
    def _add_update(incident: dict[str, Any], status: str, text: str) -> None:
        incident["incident_updates"].insert(
            0, {"id": uuid.uuid4().hex[:12], "status": status, "body": text, "created_at": time.time()}
        )

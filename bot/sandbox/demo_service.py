"""The sandbox's demo service: a loopback shop whose faults can be switched on, read and fixed over HTTP.

Diagnostics read it like a real service (`/health`, a Prometheus-style `/api/v1/query`), the demo runbooks'
actions call its admin endpoints, and once it is healthy again it sends Alertmanager's `resolved` message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

HEALTHY = "healthy"
GOOD_VERSION, BAD_VERSION = "v41", "v42"


@dataclass(frozen=True)
class Fault:
    """One switchable behaviour: the alert it raises and the admin call that fixes it."""

    name: str
    alert: str
    title: str
    summary: str
    fix: str  # the admin path whose POST clears this fault


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "latency-spike",
            "DemoLatencySpike",
            "Latency spike: a worker is stuck; restarting the workers fixes it",
            "shop p99 latency above 1 s",
            "/admin/workers/restart",
        ),
        Fault(
            "error-burst",
            "DemoErrorBurst",
            "Error burst: the new-pricing flag fails requests; turning it off fixes it",
            "shop 5xx ratio above 5%",
            "/admin/flags/new-pricing/disable",
        ),
        Fault(
            "db-pool-exhausted",
            "DemoDbPoolExhausted",
            "Database pool exhausted: leaked connections; recycling the pool fixes it",
            "shop database pool has no free connection",
            "/admin/db-pool/recycle",
        ),
        Fault(
            "bad-deploy",
            "DemoBadDeploy",
            f"Bad deploy: {BAD_VERSION} fails requests; rolling back to {GOOD_VERSION} fixes it",
            f"shop errors since the deploy of {BAD_VERSION}",
            "/admin/deploy/rollback",
        ),
    )
}


def metric_values(fault: str, version: str, flag_on: bool, since_deploy_min: float) -> dict[str, float]:
    """What the service's metrics read under a fault (HEALTHY: none)."""
    return {
        "demo_p99_latency_ms": 2400.0 if fault == "latency-spike" else 120.0,
        "demo_error_ratio": {"error-burst": 0.35, "bad-deploy": 0.6, "db-pool-exhausted": 0.2}.get(fault, 0.002),
        "demo_db_pool_in_use_ratio": 1.0 if fault == "db-pool-exhausted" else 0.3,
        "demo_db_pool_waiting": 48.0 if fault == "db-pool-exhausted" else 0.0,
        "demo_flag_new_pricing": 1.0 if flag_on else 0.0,
        "demo_minutes_since_deploy": since_deploy_min,
        "demo_bad_version_serving": 1.0 if version == BAD_VERSION else 0.0,
    }


@dataclass
class ResolveTarget:
    """Where the service sends its `resolved` message: the bot's Alertmanager webhook and its token."""

    webhook_url: str
    token: str


@dataclass
class DemoService:
    """The shop on a free loopback port; `fault` is what it currently suffers from."""

    latency_s: float = 1.5
    resolve_delay_s: float = 1.0
    fault: str = HEALTHY
    version: str = GOOD_VERSION
    flag_on: bool = False
    deployed_at: float = field(default_factory=lambda: time.time() - 86400)
    target: ResolveTarget | None = None
    url: str = ""
    firing: dict[str, dict[str, Any]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def netloc(self) -> str:
        """host:port, what HTTP_ALLOWED_HOSTS must list."""
        return self.url.removeprefix("http://").rstrip("/")

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1; returns the base URL."""
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/api/v1/query", self._query)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/admin/state", self._state)
        app.router.add_post("/admin/scenario/{name}", self._switch)
        app.router.add_post("/admin/workers/restart", self._fix)
        app.router.add_post("/admin/flags/new-pricing/disable", self._fix)
        app.router.add_post("/admin/flags/new-pricing/enable", self._enable_flag)
        app.router.add_post("/admin/db-pool/recycle", self._fix)
        app.router.add_post("/admin/deploy/rollback", self._fix)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        """Stop serving and drop pending resolved messages."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- behaviour -----------------------------------------------------------------------------------------------

    def switch(self, name: str) -> None:
        """Turn a fault on (or HEALTHY: all off); raises KeyError for an unknown name."""
        if name != HEALTHY and name not in FAULTS:
            raise KeyError(name)
        self.fault = name
        self.flag_on = name == "error-burst"
        if name == "bad-deploy":
            self.version, self.deployed_at = BAD_VERSION, time.time() - 180
        elif self.version == BAD_VERSION:
            self.version, self.deployed_at = GOOD_VERSION, time.time()

    def fix(self, path: str) -> bool:
        """Apply the admin call at `path`; True when it cleared the current fault."""
        if path == "/admin/flags/new-pricing/disable":
            self.flag_on = False
        if path == "/admin/deploy/rollback" and self.version == BAD_VERSION:
            self.version, self.deployed_at = GOOD_VERSION, time.time()
        if self.fault == HEALTHY or FAULTS[self.fault].fix != path:
            return False
        healed, self.fault = self.fault, HEALTHY
        self._resolve_later(healed)
        return True

    def values(self) -> dict[str, float]:
        """Current metric values."""
        return metric_values(self.fault, self.version, self.flag_on, (time.time() - self.deployed_at) / 60)

    def alert(self, name: str) -> dict[str, Any]:
        """Switch the fault on and return its Alertmanager message (a fresh group each time)."""
        self.switch(name)
        fault = FAULTS[name]
        run = uuid.uuid4().hex[:6]
        labels = {"alertname": fault.alert, "service": "shop", "severity": "critical", "env": "sandbox"}
        annotations = {"summary": fault.summary, "description": fault.title, "demo_url": self.url}
        alert = {
            "status": "firing",
            "labels": labels,
            "annotations": annotations,
            "startsAt": _now(),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": f"{self.url}/metrics",
            "fingerprint": f"{name}-{run}",
        }
        message = {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{fault.alert}", run="{run}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "runbook-bot",
            "groupLabels": {"alertname": fault.alert},
            "commonLabels": labels,
            "commonAnnotations": annotations,
            "externalURL": self.url,
            "alerts": [alert],
        }
        self.firing[name] = message
        return message

    def _resolve_later(self, healed: str) -> None:
        message = self.firing.pop(healed, None)
        if message is None or self.target is None:
            return
        task = asyncio.get_running_loop().create_task(self._send_resolved(message, self.target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_resolved(self, message: dict[str, Any], target: ResolveTarget) -> None:
        # Alertmanager notices a cleared alert on its next evaluation, not at once.
        await asyncio.sleep(self.resolve_delay_s)
        ended = _now()
        alerts = [{**a, "status": "resolved", "endsAt": ended} for a in message["alerts"]]
        body = {**message, "status": "resolved", "alerts": alerts}
        headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
        url = target.webhook_url.rstrip("/") + "/alerts/alertmanager"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
                session.post(url, data=json.dumps(body), headers=headers) as response,
            ):
                if response.status >= 300:
                    log.warning("the bot refused the demo's resolved alert: HTTP %s", response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("the demo's resolved alert did not reach %s: %r", url, exc)

    # -- HTTP ----------------------------------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        if self.fault == "latency-spike":
            await asyncio.sleep(self.latency_s)
        if self.fault in ("error-burst", "db-pool-exhausted", "bad-deploy"):
            return web.json_response({"status": "failing", "fault": self.fault, "version": self.version}, status=503)
        return web.json_response({"status": "ok", "fault": self.fault, "version": self.version})

    async def _query(self, request: web.Request) -> web.Response:
        name = request.query.get("query", "").strip()
        values = self.values()
        if name not in values:
            result: list[dict[str, Any]] = []
        else:
            metric = {"__name__": name, "service": "shop", "version": self.version}
            result = [{"metric": metric, "value": [time.time(), repr(values[name])]}]
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": result}})

    async def _metrics(self, request: web.Request) -> web.Response:
        lines = [f'{k}{{service="shop",version="{self.version}"}} {v}' for k, v in self.values().items()]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"fault": self.fault, "version": self.version, "flag_new_pricing": self.flag_on, "metrics": self.values()}
        )

    async def _switch(self, request: web.Request) -> web.Response:
        try:
            self.switch(request.match_info["name"])
        except KeyError:
            known = [HEALTHY, *FAULTS]
            return web.json_response({"ok": False, "error": "unknown scenario", "known": known}, status=404)
        return web.json_response({"ok": True, "fault": self.fault})

    async def _fix(self, request: web.Request) -> web.Response:
        fixed = self.fix(request.path)
        return web.json_response({"ok": True, "fixed": fixed, "fault": self.fault, "version": self.version})

    async def _enable_flag(self, request: web.Request) -> web.Response:
        self.flag_on = True
        return web.json_response({"ok": True, "flag_new_pricing": True})


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")

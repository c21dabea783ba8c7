"""The sandbox demo: a slow storefront on loopback and the alert that points the demo runbook at it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiohttp import web

from bot.sandbox.demo_service import FAULTS, DemoService
from bot.sandbox.emulator.alert_panel import AlertScenario


class Storefront:
    """A loopback 'checkout storefront' that answers, but slowly, so the demo has something to find."""

    def __init__(self, delay_s: float = 1.2) -> None:
        self.delay_s = delay_s
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        """Serve on a free loopback port; returns the page URL."""
        app = web.Application()
        app.router.add_get("/", self._page)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/"
        return self.url

    async def stop(self) -> None:
        """Stop serving."""
        if self.runner is not None:
            await self.runner.cleanup()

    async def _page(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay_s)
        return web.Response(text="checkout ok (slowly)")


def demo_alert(storefront_url: str) -> dict[str, Any]:
    """An Alertmanager v4 message: checkout latency is high; a fresh group on every run."""
    run = uuid.uuid4().hex[:6]
    labels = {"alertname": "CheckoutLatencyHigh", "service": "checkout", "severity": "warning", "env": "sandbox"}
    annotations = {
        "summary": "checkout p99 latency above 1s",
        "description": "p99 latency of checkout has been 2.3s for 10 minutes (threshold 1s).",
        "storefront_url": storefront_url,
        "dashboard": "https://grafana.example.com/d/checkout/latency",
    }
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.sandbox/graph",
        "fingerprint": f"demo-{run}",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="CheckoutLatencyHigh", run="{run}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "runbook-bot",
        "groupLabels": {"alertname": "CheckoutLatencyHigh"},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.sandbox",
        "alerts": [alert],
    }


def demo_scenarios(storefront_url: str, service: DemoService | None = None) -> list[AlertScenario]:
    """Every alert the sandbox page and `runbookctl drill` offer to fire: the one list of the demo's scenarios.

    Firing one of the demo service's scenarios switches its fault on, then sends the alert that names it.
    """
    scenarios = [
        AlertScenario(
            "checkout-latency",
            "Checkout p99 above 1 s: the demo runbook finds the slow storefront",
            "alertmanager",
            lambda: demo_alert(storefront_url),
        ),
    ]
    if service is not None:
        scenarios += [
            AlertScenario(name, fault.title, "alertmanager", partial(service.alert, name))
            for name, fault in FAULTS.items()
        ]
    return scenarios

"""The HTTP side of the process: alert webhooks, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot import metrics

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
# None when all is well, else why the bot is degraded (say, undelivered pages in the dead-letter set).
DegradedCheck = Callable[[], Awaitable[str | None]]


def build_web_app(
    readiness: ReadinessCheck, max_body_bytes: int, degraded: DegradedCheck | None = None
) -> web.Application:
    """An aiohttp app with /healthz, /readyz and /metrics; alert routes are added by the caller."""
    # aiohttp's own limit sits above ours so the webhook handler can answer 413 itself, with a JSON body.
    app = web.Application(client_max_size=max_body_bytes + 64 * 1024)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checks = await readiness()
        ready = all(checks.values())
        body: dict[str, object] = {"ready": ready, "checks": checks}
        if degraded is not None:
            # Degraded still serves (webhooks are taken); it says what is overdue. Never lets /readyz hang.
            with contextlib.suppress(Exception):
                if reason := await asyncio.wait_for(degraded(), timeout=0.5):
                    body |= {"status": "degraded", "reason": reason}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app

"""The HTTP side of the process: alert webhooks, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot import metrics
from bot.settings import Settings
from bot.webguard import ConnectionGuard, ConnectionLimits

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
# None when all is well, else why the bot is degraded (say, undelivered pages in the dead-letter set).
DegradedCheck = Callable[[], Awaitable[str | None]]


def build_web_app(
    readiness: ReadinessCheck, max_body_bytes: int, *, degraded: DegradedCheck | None = None
) -> web.Application:
    """An aiohttp app with /healthz, /readyz and /metrics; alert routes are added by the caller."""
    # aiohttp's own limit sits above ours so the webhook handler can answer 413 itself, with a JSON body.
    app = web.Application(client_max_size=max_body_bytes + 64 * 1024)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        checks, reason = await asyncio.gather(readiness(), degraded_reason(degraded))
        ready = all(checks.values())
        body: dict[str, object] = {"ready": ready, "checks": checks}
        if reason:
            # Degraded still serves (webhooks are taken); it says what is overdue.
            body |= {"status": "degraded", "reason": reason}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def degraded_reason(degraded: DegradedCheck | None, timeout_s: float = 0.3) -> str | None:
    """Why the bot is degraded, or None; a check that fails or hangs never holds /readyz up."""
    if degraded is None:
        return None
    with contextlib.suppress(Exception):
        return await asyncio.wait_for(degraded(), timeout=timeout_s)
    return None


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionGuard (header deadline, connection cap)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard) -> None:
        super().__init__(runner)
        self.host = host
        self.port = port
        self.guard = guard

    @property
    def name(self) -> str:
        """The site's URL."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen, handing every accepted connection to the guard, which wraps aiohttp's protocol."""
        await super().start()
        server = self._runner.server
        if server is None:
            raise RuntimeError("the runner is not set up")
        self.guard.serve(server)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard, self.host, self.port, backlog=self._backlog, reuse_address=True
        )
        if self._server.sockets:
            self.port = int(self._server.sockets[0].getsockname()[1])


@dataclass
class HttpServer:
    """A running HTTP server: its runner, guard and bound port."""

    runner: web.AppRunner
    guard: ConnectionGuard
    port: int

    async def stop(self) -> None:
        """Close the listener and every connection."""
        await self.runner.cleanup()


def connection_limits(settings: Settings) -> ConnectionLimits:
    """The guard's limits from the settings."""
    return ConnectionLimits(
        header_timeout_s=settings.http_header_timeout_s, max_connections=settings.http_max_connections
    )


async def start_http_server(app: web.Application, host: str, port: int, limits: ConnectionLimits) -> HttpServer:
    """Serve `app` on host:port behind a ConnectionGuard; port 0 lets the OS choose."""
    guard = ConnectionGuard(limits)
    app.middlewares.append(guard.middleware)
    runner = web.AppRunner(app, access_log=None, lingering_time=limits.linger_s)
    await runner.setup()
    site = GuardedSite(runner, host, port, guard)
    await site.start()
    return HttpServer(runner, guard, site.port)

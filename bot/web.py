"""The HTTP side of the process: alert webhooks, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from bot import metrics
from bot.settings import Settings
from bot.webguard import ConnectionGuard, ConnectionLimits

# A check answers True when it passes, or a string saying why it fails.
CheckResult = bool | str
ReadinessCheck = Callable[[], Awaitable[Mapping[str, CheckResult]]]
# None when all is well, else why the bot is degraded (say, undelivered pages in the dead-letter set).
DegradedCheck = Callable[[], Awaitable[str | None]]

# /readyz answers within this whatever its checks do; a probe's own timeout is usually 1 s.
READINESS_DEADLINE_S = 0.5
METRICS_REFRESH_S = 2.0
log = logging.getLogger(__name__)


def build_web_app(
    readiness: ReadinessCheck,
    max_body_bytes: int,
    readiness_deadline_s: float = READINESS_DEADLINE_S,
    before_metrics: Callable[[], Awaitable[None]] | None = None,
    *,
    degraded: DegradedCheck | None = None,
) -> web.Application:
    """An aiohttp app with /healthz, /readyz and /metrics; alert routes are added by the caller.

    `before_metrics` refreshes gauges read from the shared store; if it fails or is slow, the scrape goes on.
    """
    # aiohttp's own limit sits above ours so the webhook handler can answer 413 itself, with a JSON body.
    app = web.Application(client_max_size=max_body_bytes + 64 * 1024)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        # The dead-letter check runs alongside, within its own shorter bound, so /readyz keeps its deadline.
        body, reason = await asyncio.gather(readiness_body(readiness, readiness_deadline_s), degraded_reason(degraded))
        if reason:
            # Degraded still serves (webhooks are taken); it says what is overdue.
            body |= {"status": "degraded", "reason": reason}
        return web.json_response(body, status=200 if body["ready"] else 503)

    async def metrics_view(request: web.Request) -> web.Response:
        if before_metrics is not None:
            try:
                await asyncio.wait_for(before_metrics(), METRICS_REFRESH_S)
            except Exception:  # a stale gauge beats a failed scrape
                log.warning("metrics refresh failed", exc_info=True)
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def degraded_reason(degraded: DegradedCheck | None, timeout_s: float = 0.3) -> str | None:
    """Why the bot is degraded, or None; a check that fails or hangs never holds /readyz up."""
    if degraded is None:
        return None
    done, answer = await within(degraded(), timeout_s)
    return answer if done and isinstance(answer, str) else None


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


async def readiness_body(readiness: ReadinessCheck, deadline_s: float) -> dict[str, object]:
    """Run the checks within `deadline_s`: `{"ready", "checks": {name: bool}, "reasons": {name: why}}`."""
    done, answer = await within(readiness(), deadline_s)
    if done and isinstance(answer, dict):
        results: dict[str, CheckResult] = answer
    else:
        # Each check bounds itself; this is the backstop for one that does not (or fails outright).
        results = {"readiness": f"checks did not answer within {deadline_s:g} s"}
    checks = {name: result is True for name, result in results.items()}
    reasons = {name: result for name, result in results.items() if isinstance(result, str)}
    return {"ready": all(checks.values()), "checks": checks, "reasons": reasons}


async def ping_within(ping: Callable[[], Awaitable[object]], timeout_s: float) -> CheckResult:
    """True when `ping` answers truthfully within `timeout_s`, else the reason it did not."""
    done, answer = await within(ping(), timeout_s)
    if not done:
        return f"no answer within {timeout_s:g} s"
    if isinstance(answer, BaseException):  # any failure of the check is a reason, never a crash of /readyz
        return f"{type(answer).__name__}: {answer}"
    return True if answer else "unexpected answer"


async def within(work: Awaitable[object], timeout_s: float) -> tuple[bool, object]:
    """(True, result or the exception it raised) when `work` ends within `timeout_s`, else (False, None).

    Unlike asyncio.wait_for this never waits for the cancelled work to wind down: a Redis call cancelled
    while it queues for a pooled connection must re-take the pool's lock first, which a busy pool (every
    connection held by a paused server) can delay for seconds. The work is cancelled and left to finish.
    """
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        task.cancel()
        task.add_done_callback(_retrieve)
        return False, None
    if task.cancelled():
        return True, asyncio.CancelledError()
    error = task.exception()
    return True, error if error is not None else task.result()


def _retrieve(task: asyncio.Future[object]) -> None:
    if not task.cancelled():
        task.exception()  # read, so an abandoned check's failure is not reported as never retrieved

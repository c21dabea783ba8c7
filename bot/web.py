"""The HTTP side of the process: alert webhooks, health, readiness and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot import metrics

# A check answers True when it passes, or a string saying why it fails.
CheckResult = bool | str
ReadinessCheck = Callable[[], Awaitable[Mapping[str, CheckResult]]]

# /readyz answers within this whatever its checks do; a probe's own timeout is usually 1 s.
READINESS_DEADLINE_S = 0.5


def build_web_app(
    readiness: ReadinessCheck, max_body_bytes: int, readiness_deadline_s: float = READINESS_DEADLINE_S
) -> web.Application:
    """An aiohttp app with /healthz, /readyz and /metrics; alert routes are added by the caller."""
    # aiohttp's own limit sits above ours so the webhook handler can answer 413 itself, with a JSON body.
    app = web.Application(client_max_size=max_body_bytes + 64 * 1024)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        body = await readiness_body(readiness, readiness_deadline_s)
        return web.json_response(body, status=200 if body["ready"] else 503)

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def readiness_body(readiness: ReadinessCheck, deadline_s: float) -> dict[str, object]:
    """Run the checks within `deadline_s`: `{"ready", "checks": {name: bool}, "reasons": {name: why}}`."""
    try:
        results = await asyncio.wait_for(readiness(), timeout=deadline_s)
    except TimeoutError:
        # Each check bounds itself; this is the backstop for one that does not.
        results = {"readiness": f"checks did not answer within {deadline_s:g} s"}
    checks = {name: result is True for name, result in results.items()}
    reasons = {name: result for name, result in results.items() if isinstance(result, str)}
    return {"ready": all(checks.values()), "checks": checks, "reasons": reasons}


async def ping_within(ping: Callable[[], Awaitable[object]], timeout_s: float) -> CheckResult:
    """True when `ping` answers truthfully within `timeout_s`, else the reason it did not."""
    try:
        answer = await asyncio.wait_for(ping(), timeout=timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except Exception as exc:  # any failure of the check is a reason, never a crash of /readyz
        return f"{type(exc).__name__}: {exc}"
    return True if answer else "unexpected answer"

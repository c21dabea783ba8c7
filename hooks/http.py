"""http_check: several URLs in parallel, status and latency each."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field

from bot.connections import redact_url
from bot.engine.types import HookOutput
from hooks.base import BaseDiagnostic, HookConfig, HookContext
from hooks.guards import HttpUrls
from hooks.registry import register
from hooks.transport import make_client
from hooks.urlguard import HostPolicy, same_origin, url_problem

MAX_REDIRECTS = 5


class RedirectRefused(Exception):
    """A redirect hop the URL guard does not allow; the hop is never requested."""


class HttpCheckConfig(HookConfig):
    """Config of http_check."""

    urls: HttpUrls = Field(min_length=1, description="URLs to request, all at once")
    method: Literal["GET", "HEAD", "POST", "OPTIONS"] = Field(default="GET", description="HTTP method")
    expect_status: list[int] | None = Field(default=None, description="statuses that pass; default 200-399")
    timeout_s: float = Field(default=5.0, gt=0, description="per-request timeout")
    latency_warning_ms: float | None = Field(default=None, gt=0, description="slower answers are marked slow")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    follow_redirects: bool = Field(
        default=False,
        description=f"follow up to {MAX_REDIRECTS} redirects; a hop to another host must pass the URL guard",
    )


def status_ok(status: int, expect: list[int] | None) -> bool:
    """Whether a status passes: listed in `expect`, or 200-399 when nothing is listed."""
    return status in expect if expect else 200 <= status < 400


async def fetch(
    client: httpx.AsyncClient, url: str, config: HttpCheckConfig, policy: HostPolicy | None = None
) -> httpx.Response:
    """The response, following redirects when asked; each hop to another origin is checked before it is sent."""
    current = url
    response = await client.request(config.method, url, headers=config.headers)
    for _ in range(MAX_REDIRECTS):
        hop = response.next_request
        if not config.follow_redirects or hop is None:
            return response
        target = str(hop.url)
        problem = None if same_origin(current, target) else url_problem(target, policy or HostPolicy())
        if problem:
            raise RedirectRefused(f"redirect to {redact_url(target)} refused: {problem}")
        current = target
        response = await client.send(hop)
    if config.follow_redirects and response.next_request is not None:
        raise RedirectRefused(f"more than {MAX_REDIRECTS} redirects")
    return response


async def check_url(
    client: httpx.AsyncClient, url: str, config: HttpCheckConfig, policy: HostPolicy | None = None
) -> dict[str, Any]:
    """One request: {url, status, latency_ms, ok, error}; never raises for network trouble."""
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        response = await fetch(client, url, config, policy)
        status = response.status_code
    except RedirectRefused as exc:
        error = str(exc)
    except httpx.TimeoutException:
        error = f"no answer within {config.timeout_s:g}s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    ok = status is not None and status_ok(status, config.expect_status)
    if status is not None and not ok:
        error = f"unexpected status {status}"
    slow = config.latency_warning_ms is not None and latency_ms > config.latency_warning_ms
    return {"url": redact_url(url), "status": status, "latency_ms": latency_ms, "ok": ok, "error": error, "slow": slow}


def _line(check: dict[str, Any]) -> str:
    mark = "ok" if check["ok"] else "FAIL"
    detail = f"{check['status']}" if check["error"] is None else check["error"]
    slow = " (slow)" if check["slow"] else ""
    return f"{mark} {check['url']} {detail} in {check['latency_ms']:g} ms{slow}"


@register
class HttpCheck(BaseDiagnostic):
    """Request several URLs in parallel; the value is how many failed."""

    name: ClassVar[str] = "http_check"
    help: ClassVar[str] = "HTTP probe of several URLs at once: value is the number of failing URLs"
    config_model: ClassVar[type[HttpCheckConfig]] = HttpCheckConfig

    async def run(self, config: HttpCheckConfig, ctx: HookContext) -> HookOutput:
        """Request every URL concurrently and report each status and latency."""
        policy = HostPolicy(tuple(ctx.settings.http_allowed_hosts), ctx.allowed_hosts)
        async with make_client(config.timeout_s) as client:
            checks = await asyncio.gather(*(check_url(client, url, config, policy) for url in config.urls))
        failing = sum(1 for c in checks if not c["ok"])
        slow = sum(1 for c in checks if c["slow"])
        head = f"{len(checks) - failing}/{len(checks)} URLs ok" + (f", {slow} slow" if slow else "")
        evidence = "\n".join([head, *(_line(c) for c in checks)])
        return HookOutput(
            value=failing, evidence=evidence, data={"checks": list(checks), "failing": failing, "slow": slow}
        )

"""log_search: a LogQL query over Loki's query_range API, counting matches and keeping a few lines."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any, ClassVar

import httpx
from pydantic import Field

from bot.engine.types import HookOutput
from bot.errors import HookError, UpstreamError
from hooks.base import BaseDiagnostic, HookConfig, HookContext
from hooks.guards import HttpUrl
from hooks.registry import register
from hooks.transport import json_body, make_client, raise_for_status, translate_http_errors

SYSTEM = "Loki"
MAX_LINE_CHARS = 500


class LogSearchConfig(HookConfig):
    """Config of log_search."""

    query: str = Field(min_length=1, description='LogQL log query, e.g. {app="api"} |= "error"')
    since_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60, description="how far back to look")
    limit: int = Field(default=5, ge=0, le=100, description="sample lines kept")
    url: HttpUrl | None = Field(default=None, description="Loki base URL, overriding LOKI_URL")
    tenant: str | None = Field(default=None, description="X-Scope-OrgID for multi-tenant Loki")
    timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout")


def count_query(query: str, since_minutes: int) -> str:
    """The metric query that counts every matching line in the window (the sample query is capped by limit)."""
    return f"sum(count_over_time({query} [{since_minutes}m]))"


def parse_streams(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every line of a `streams` result as {ts, line, labels}, newest first."""
    if data.get("resultType") != "streams":
        raise HookError(f"log_search needs a log query, Loki answered a {data.get('resultType')!r} result")
    lines = []
    for stream in data.get("result", []):
        labels = stream.get("stream", {})
        for ts_ns, line in stream.get("values", []):
            lines.append({"ts_ns": int(ts_ns), "line": line[:MAX_LINE_CHARS], "labels": labels})
    lines.sort(key=lambda item: item["ts_ns"], reverse=True)
    for item in lines:
        item["ts"] = dt.datetime.fromtimestamp(item.pop("ts_ns") / 1e9, tz=dt.UTC).isoformat()
    return lines


def parse_count(data: dict[str, Any]) -> int:
    """The total from a `sum(count_over_time(...))` vector (empty means zero)."""
    result = data.get("result") or []
    return int(float(result[0]["value"][1])) if result else 0


async def _get(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> dict[str, Any]:
    with translate_http_errors(SYSTEM, url):
        response = await client.get(url, params=params)
    raise_for_status(response, SYSTEM)
    body = json_body(response, SYSTEM)
    if not isinstance(body, dict) or body.get("status") != "success" or not isinstance(body.get("data"), dict):
        raise UpstreamError(f"Loki answered an unexpected body: {str(body)[:200]}")
    data: dict[str, Any] = body["data"]
    return data


@register
class LogSearch(BaseDiagnostic):
    """Count log lines matching a LogQL query in the last N minutes, with a few sample lines."""

    name: ClassVar[str] = "log_search"
    help: ClassVar[str] = "Loki LogQL search: value is the match count over the window, with sample lines"
    config_model: ClassVar[type[LogSearchConfig]] = LogSearchConfig

    async def run(self, config: LogSearchConfig, ctx: HookContext) -> HookOutput:
        """Ask query_range for samples and an instant count query for the total, concurrently."""
        base = config.url or ctx.settings.loki_url
        if not base:
            raise HookError("log_search needs a Loki URL: set LOKI_URL or the hook's url")
        base = base.rstrip("/")
        end_ns = time.time_ns()
        start_ns = end_ns - config.since_minutes * 60 * 1_000_000_000
        headers = {"X-Scope-OrgID": config.tenant} if config.tenant else {}
        samples_params = {
            "query": config.query,
            "start": start_ns,
            "end": end_ns,
            "limit": max(config.limit, 1),
            "direction": "backward",
        }
        count_params = {"query": count_query(config.query, config.since_minutes), "time": end_ns}
        async with make_client(config.timeout_s, headers=headers) as client:
            samples_data, count_data = await asyncio.gather(
                _get(client, f"{base}/loki/api/v1/query_range", samples_params),
                _get(client, f"{base}/loki/api/v1/query", count_params),
            )
        samples = parse_streams(samples_data)[: config.limit]
        count = max(parse_count(count_data), len(samples))
        head = f"{count} lines match `{config.query}` in the last {config.since_minutes} min"
        evidence = "\n".join([head, *(f"{s['ts']} {s['line']}" for s in samples)])
        return HookOutput(value=count, evidence=evidence, data={"count": count, "samples": samples})

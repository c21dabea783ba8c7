"""prometheus_query: one instant query through the Prometheus HTTP API."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import Field

from bot.engine.types import HookOutput
from bot.errors import HookError, UpstreamError
from hooks.base import BaseDiagnostic, HookConfig, HookContext
from hooks.guards import HttpUrl
from hooks.registry import register
from hooks.transport import json_body, make_client, raise_for_status, translate_http_errors

SYSTEM = "Prometheus"
MAX_SERIES = 50


class PrometheusQueryConfig(HookConfig):
    """Config of prometheus_query."""

    query: str = Field(min_length=1, description="PromQL expression, evaluated now")
    server: str | None = Field(default=None, description="key in PROMETHEUS_URLS; default: the environment's name")
    url: HttpUrl | None = Field(default=None, description="base URL, overriding server")
    timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout")


def resolve_server_url(config: PrometheusQueryConfig, ctx: HookContext) -> str:
    """The base URL: config.url, else the named server, else the environment's entry, else 'default'."""
    if config.url:
        return config.url
    urls = ctx.settings.prometheus_urls
    names = [config.server] if config.server else [ctx.environment, "default"]
    for name in names:
        if name in urls:
            return urls[name]
    known = ", ".join(sorted(urls)) or "none"
    raise HookError(f"no Prometheus server {' or '.join(map(repr, names))} in PROMETHEUS_URLS (configured: {known})")


def _sample(value: Any) -> float:
    return float(value[1])


def parse_query_data(data: dict[str, Any]) -> tuple[float | None, list[dict[str, Any]], str]:
    """The first sample as float, every series as {metric, value} and the result type of a query's `data`."""
    result_type = str(data.get("resultType", ""))
    result = data.get("result")
    series: list[dict[str, Any]] = []
    if result_type in ("scalar", "string"):
        if result:
            value = _sample(result) if result_type == "scalar" else result[1]
            series.append({"metric": {}, "value": value})
    elif result_type == "vector":
        series = [{"metric": item.get("metric", {}), "value": _sample(item["value"])} for item in result or []]
    elif result_type == "matrix":
        # A range selector in an instant query: each series' newest sample stands for it.
        series = [
            {"metric": item.get("metric", {}), "value": _sample(item["values"][-1])}
            for item in result or []
            if item.get("values")
        ]
    else:
        raise UpstreamError(f"Prometheus answered an unknown result type {result_type!r}")
    first = series[0]["value"] if series else None
    return (first if isinstance(first, float) else None), series, result_type


def _label_text(metric: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def _evidence(query: str, value: float | None, series: list[dict[str, Any]]) -> str:
    if not series:
        return f"`{query}` returned no data"
    shown = "nan" if value is not None and math.isnan(value) else f"{value:g}" if value is not None else "?"
    lines = [f"`{query}` = {shown}" + (f" ({len(series)} series)" if len(series) > 1 else "")]
    lines += [f"  {_label_text(s['metric'])} {s['value']}" for s in series[:5]]
    return "\n".join(lines)


@register
class PrometheusQuery(BaseDiagnostic):
    """Run an instant PromQL query; an empty result is the 'no data' outcome."""

    name: ClassVar[str] = "prometheus_query"
    help: ClassVar[str] = "Prometheus instant query: value is the first sample (vector) or the scalar"
    config_model: ClassVar[type[PrometheusQueryConfig]] = PrometheusQueryConfig

    async def run(self, config: PrometheusQueryConfig, ctx: HookContext) -> HookOutput:
        """Query /api/v1/query and read the first sample."""
        base = resolve_server_url(config, ctx)
        url = base.rstrip("/") + "/api/v1/query"
        async with make_client(config.timeout_s) as client:
            with translate_http_errors(SYSTEM, url):
                response = await client.get(url, params={"query": config.query})
        body = (
            json_body(response, SYSTEM)
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
        if isinstance(body, dict) and body.get("status") == "error":
            kind = f"{body['errorType']}: " if body.get("errorType") else ""
            raise UpstreamError(
                f"Prometheus refused `{config.query}` (HTTP {response.status_code}): {kind}{body.get('error')}",
                status=response.status_code,
            )
        raise_for_status(response, SYSTEM)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise UpstreamError(f"Prometheus at {base} answered without a data object")
        value, series, result_type = parse_query_data(body["data"])
        data = {"result_type": result_type, "series": series[:MAX_SERIES], "series_count": len(series)}
        if body.get("warnings"):
            data["warnings"] = body["warnings"]
        return HookOutput(value=value, evidence=_evidence(config.query, value, series), data=data, no_data=not series)

"""aiohttp apps that speak the Prometheus, Loki, PagerDuty and Opsgenie API shapes, with delays and errors."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Behaviour:
    """Knobs a test turns: answer after `delay_s`, or fail every request with `fail_status`."""

    delay_s: float = 0.0
    fail_status: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)


async def _common(request: web.Request, behaviour: Behaviour) -> web.Response | None:
    body = await request.json() if request.can_read_body else None
    behaviour.requests.append(
        {
            "path": request.path,
            "raw_path": request.rel_url.raw_path,
            "query": dict(request.query),
            "headers": dict(request.headers),
            "json": body,
        }
    )
    if behaviour.delay_s:
        await asyncio.sleep(behaviour.delay_s)
    if behaviour.fail_status:
        return web.json_response({"status": "error", "error": "injected failure"}, status=behaviour.fail_status)
    return None


def prometheus_app(results: dict[str, dict[str, Any]], behaviour: Behaviour) -> web.Application:
    """GET /api/v1/query answers `results[query]` (a `data` object); unknown queries are bad_data (HTTP 400)."""

    async def query(request: web.Request) -> web.Response:
        if (failed := await _common(request, behaviour)) is not None:
            return failed
        expr = request.query.get("query", "")
        if expr not in results:
            body = {"status": "error", "errorType": "bad_data", "error": f'1:1: parse error: unknown "{expr}"'}
            return web.json_response(body, status=400)
        return web.json_response({"status": "success", "data": results[expr]})

    app = web.Application()
    app.router.add_get("/api/v1/query", query)
    return app


_FILTER = re.compile(r'\|=\s*"([^"]*)"')
_RANGE = re.compile(r"\[(\d+)m\]\)\)$")


def loki_app(lines: list[tuple[int, str, dict[str, str]]], behaviour: Behaviour) -> web.Application:
    """query_range returns matching lines (a `|= "text"` filter) as streams; query answers a count_over_time sum."""

    def matching(expr: str, start_ns: int, end_ns: int) -> list[tuple[int, str, dict[str, str]]]:
        needle = m.group(1) if (m := _FILTER.search(expr)) else ""
        return [line for line in lines if needle in line[1] and start_ns <= line[0] <= end_ns]

    async def query_range(request: web.Request) -> web.Response:
        if (failed := await _common(request, behaviour)) is not None:
            return failed
        q = request.query
        found = matching(q["query"], int(q["start"]), int(q["end"]))
        found.sort(key=lambda line: line[0], reverse=True)
        found = found[: int(q.get("limit", "100"))]
        streams: dict[str, dict[str, Any]] = {}
        for ts, text, labels in found:
            stream = streams.setdefault(str(sorted(labels.items())), {"stream": labels, "values": []})
            stream["values"].append([str(ts), text])
        data = {"resultType": "streams", "result": list(streams.values()), "stats": {}}
        return web.json_response({"status": "success", "data": data})

    async def query(request: web.Request) -> web.Response:
        if (failed := await _common(request, behaviour)) is not None:
            return failed
        expr, end_ns = request.query["query"], int(request.query["time"])
        minutes = int(m.group(1)) if (m := _RANGE.search(expr)) else 0
        count = len(matching(expr, end_ns - minutes * 60 * 10**9, end_ns))
        result = [{"metric": {}, "value": [end_ns / 1e9, str(count)]}] if count else []
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": result}})

    app = web.Application()
    app.router.add_get("/loki/api/v1/query_range", query_range)
    app.router.add_get("/loki/api/v1/query", query)
    return app


PD_SEVERITIES = {"critical", "error", "warning", "info"}


def pagerduty_app(routing_key: str, behaviour: Behaviour) -> web.Application:
    """POST /v2/enqueue with Events API v2 validation: 202 on success, 400 'invalid event' otherwise."""

    async def enqueue(request: web.Request) -> web.Response:
        if (failed := await _common(request, behaviour)) is not None:
            return failed
        event = await request.json()
        errors = []
        if event.get("routing_key") != routing_key:
            errors.append("Invalid routing key")
        if event.get("event_action") not in {"trigger", "acknowledge", "resolve"}:
            errors.append("'event_action' is invalid")
        if event.get("event_action") == "trigger":
            payload = event.get("payload") or {}
            errors += [f"'payload.{k}' is missing" for k in ("summary", "source", "severity") if not payload.get(k)]
            if payload.get("severity") and payload["severity"] not in PD_SEVERITIES:
                errors.append("'payload.severity' is invalid")
        elif not event.get("dedup_key"):
            errors.append("'dedup_key' is required for this event_action")
        if errors:
            body = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
            return web.json_response(body, status=400)
        key = event.get("dedup_key") or uuid.uuid4().hex
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": key}, status=202)

    app = web.Application()
    app.router.add_post("/v2/enqueue", enqueue)
    return app


def opsgenie_app(api_key: str, behaviour: Behaviour) -> web.Application:
    """POST /v2/alerts and /v2/alerts/{id}/close with GenieKey auth; 202 'Request will be processed'."""

    def accepted() -> web.Response:
        body = {"result": "Request will be processed", "took": 0.01, "requestId": str(uuid.uuid4())}
        return web.json_response(body, status=202)

    def refused(request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"GenieKey {api_key}":
            return web.json_response({"message": "Could not authenticate", "took": 0.0}, status=401)
        return None

    async def create(request: web.Request) -> web.Response:
        if (failed := await _common(request, behaviour) or refused(request)) is not None:
            return failed
        alert = await request.json()
        if not alert.get("message") or len(alert["message"]) > 130:
            return web.json_response({"message": "Message can not be empty or longer than 130"}, status=422)
        return accepted()

    async def close(request: web.Request) -> web.Response:
        if (failed := await _common(request, behaviour) or refused(request)) is not None:
            return failed
        if request.query.get("identifierType") not in {"id", "alias", "tiny"}:
            return web.json_response({"message": "Invalid identifierType"}, status=422)
        return accepted()

    app = web.Application()
    app.router.add_post("/v2/alerts", create)
    app.router.add_post("/v2/alerts/{identifier}/close", close)
    return app


def http_targets_app(behaviour: Behaviour) -> web.Application:
    """Endpoints for http_check and notify: /ok, /status/{code}, /slow/{ms}, /together/{n}, POST /hook (records)."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(int(request.match_info["ms"]) / 1000)
        return web.Response(text="slow")

    arrived: list[int] = []
    all_here = asyncio.Event()

    async def together(request: web.Request) -> web.Response:
        # Answers 200 only once `n` requests are waiting here at the same time: proof they were sent in
        # parallel, whatever the machine's speed. Requests sent one after another would never meet (504).
        arrived.append(1)
        if len(arrived) >= int(request.match_info["n"]):
            all_here.set()
        try:
            await asyncio.wait_for(all_here.wait(), 20)
        except TimeoutError:
            return web.Response(status=504, text="alone")
        return web.Response(text="together")

    async def hook(request: web.Request) -> web.Response:
        if (failed := await _common(request, behaviour)) is not None:
            return failed
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/ok", ok)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/slow/{ms}", slow)
    app.router.add_get("/together/{n}", together)
    app.router.add_post("/hook/{token}", hook)
    return app

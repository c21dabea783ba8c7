"""The webhook edge: `POST /alerts/<source>` checks size, auth, type and shape, then hands the batch to the sink.

Every refusal happens before the sink is called, so a refused request leaves nothing behind.
Order: unknown source 404 → method 405 → body size 413 → auth 401 → content type 415 →
JSON 400 `invalid_json` → shape 400 `invalid_payload` (naming every bad field) → sink → 202.
A StoreError or ConflictError from the sink is a 503 with Retry-After, so the sender retries; so is a
sink that has not answered within WEBHOOK_DEADLINE_S (its write goes on and the retry finds it done).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.errors import ConflictError, InvalidInput, StoreError
from bot.incidents.store import AlertOutcome
from bot.intake.auth import is_authenticated
from bot.intake.batch import IntakeBatch
from bot.intake.common import INVALID_PAYLOAD
from bot.intake.deadline import AnswerDeadline, DeadlinePassed
from bot.intake.sink import AlertSink
from bot.intake.sources import get_source, list_sources
from bot.settings import Settings

log = logging.getLogger(__name__)

ROUTE = "/alerts/{source}"
RETRY_AFTER_SECONDS = 5
READ_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""


def add_alert_routes(app: web.Application, settings: Settings, sink: AlertSink) -> None:
    """Register `/alerts/<source>` for every registered source on the app."""
    webhook = AlertWebhook(settings, sink)
    app.router.add_route("*", ROUTE, webhook.handle)

    async def drain_late_writes(app: web.Application) -> None:
        await webhook.deadline.drain(within_s=5.0)

    app.on_shutdown.append(drain_late_writes)


class AlertWebhook:
    """The one handler behind every alert source URL."""

    def __init__(self, settings: Settings, sink: AlertSink) -> None:
        self.settings = settings
        self.sink = sink
        self.deadline = AnswerDeadline(settings.webhook_deadline_s)

    async def handle(self, request: web.Request) -> web.Response:
        """Run one delivery through the checks, then the sink."""
        source = get_source(request.match_info["source"])
        if source is None:
            known = [s.name for s in list_sources()]
            return error_response(404, "unknown_source", "no such alert source", sources=known)
        if request.method != "POST":
            return error_response(405, "method_not_allowed", "use POST", headers={"Allow": "POST"})
        try:
            body = await read_body(request, self.settings.webhook_max_body_bytes)
        except BodyTooLarge:
            limit = self.settings.webhook_max_body_bytes
            return error_response(413, "body_too_large", f"body is over {limit} bytes", limit=limit)
        if not is_authenticated(source.auth, request.headers, body, self.settings):
            log.warning("webhook refused: not authenticated", extra={"source": source.name, "peer": request.remote})
            headers = {"WWW-Authenticate": 'Bearer realm="runbook-bot"'}
            return error_response(401, "unauthorized", "missing or wrong credentials", headers=headers)
        if not _is_json(request.content_type):
            return error_response(415, "unsupported_media_type", "send application/json", got=request.content_type)
        try:
            batch = source.parse(body)
        except InvalidInput as exc:
            code = str(exc.details.get("code", INVALID_PAYLOAD))
            extra = {"errors": exc.details["errors"]} if "errors" in exc.details else {}
            return error_response(400, code, exc.message, fields=exc.fields, **extra)
        return await self._deliver(batch)

    async def _deliver(self, batch: IntakeBatch) -> web.Response:
        if batch.is_empty:
            return web.json_response(summarise(batch, []), status=202)
        try:
            outcomes = await self.deadline.run(self.sink.accept(batch))
        except (StoreError, ConflictError, DeadlinePassed) as exc:
            log.error("webhook deferred: store unavailable", extra={"source": batch.source, "error": str(exc)})
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return error_response(503, "store_unavailable", "try again later", headers=headers)
        return web.json_response(summarise(batch, outcomes), status=202)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refusing it as soon as it passes `limit` (declared or actually sent)."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def summarise(batch: IntakeBatch, outcomes: list[AlertOutcome]) -> dict[str, Any]:
    """The 202 body: what happened to each alert, plus acknowledgements and ignored events."""
    alerts = [
        {
            "name": alert.name,
            "fingerprint": alert.fingerprint,
            "status": alert.status.value,
            "incident": outcome.incident.id if outcome.incident else None,
            "result": outcome_name(outcome),
        }
        for alert, outcome in zip(batch.alerts, outcomes, strict=True)
    ]
    body: dict[str, Any] = {"source": batch.source, "alerts": alerts}
    if batch.acknowledgements:
        body["acknowledgements"] = [a.group_key for a in batch.acknowledgements]
    if batch.ignored:
        body["ignored"] = batch.ignored
    truncated = max((a.truncated_alerts for a in batch.alerts), default=0)
    if truncated:
        body["truncated_alerts"] = truncated
    return body


def outcome_name(outcome: AlertOutcome) -> str:
    """One word for what the store did: created, reopened, recorded, duplicate or ignored."""
    if outcome.incident is None:
        return "ignored"
    if outcome.created:
        return "created"
    if outcome.reopened:
        return "reopened"
    return "recorded" if outcome.recorded else "duplicate"


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    """A JSON error body `{"error": code, "message": ..., ...}`."""
    return web.json_response({"error": code, "message": message, **extra}, status=status, headers=headers)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )

"""The webhook edge: `POST /alerts/<source>` checks size, auth, type and shape, then hands the batch to the sink.

Every refusal happens before the sink is called, so a refused request leaves nothing behind.
Order: unknown source 404 → method 405 → declared body size 413 → auth by headers 401 (before a
byte of the body is read) → content type 415 → body read, bounded in size (413) and time (408) →
PagerDuty signature 401 → decoding 400 (`invalid_encoding`, `invalid_json`, `nesting_too_deep`,
`invalid_text`) → shape 400 `invalid_payload` (naming every bad field) → sink → 202.
A StoreError or ConflictError from the sink is a 503 with Retry-After, so the sender retries; so is a
sink that has not answered within WEBHOOK_DEADLINE_S (its write goes on and the retry finds it done).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import HttpVersion11, web

from bot.errors import ConflictError, InvalidInput, StoreError
from bot.incidents.store import AlertOutcome
from bot.intake.auth import HeaderVerdict, check_headers, is_authenticated
from bot.intake.batch import IntakeBatch
from bot.intake.common import INVALID_PAYLOAD
from bot.intake.deadline import AnswerDeadline, DeadlinePassed
from bot.intake.recent import RecentBodies
from bot.intake.sink import AlertSink
from bot.intake.sources import Source, get_source, list_sources
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
    app.router.add_route("*", ROUTE, webhook.handle, expect_handler=webhook.expect)

    async def drain_late_writes(app: web.Application) -> None:
        await webhook.deadline.drain(within_s=5.0)

    app.on_shutdown.append(drain_late_writes)


class AlertWebhook:
    """The one handler behind every alert source URL."""

    def __init__(self, settings: Settings, sink: AlertSink) -> None:
        self.settings = settings
        self.sink = sink
        self.deadline = AnswerDeadline(settings.webhook_deadline_s)
        self.recent = RecentBodies()

    async def handle(self, request: web.Request) -> web.Response:
        """Run one delivery through the checks, then the sink."""
        head = self.check_head(request)
        if isinstance(head, web.Response):
            if head.status == 401:
                log_refusal(request)
            return head
        source, verdict = head
        body = await self.read(request)
        if isinstance(body, web.Response):
            return body
        if verdict is HeaderVerdict.NEEDS_BODY and not is_authenticated(
            source.auth, request.headers, body, self.settings
        ):
            log_refusal(request)
            return unauthorized()
        return await self._parse_and_deliver(source, body)

    async def read(self, request: web.Request) -> bytes | web.Response:
        """The body, bounded in size (413) and in time (408)."""
        limit = self.settings.webhook_max_body_bytes
        try:
            body = buffered_body(request, limit)
            if body is None:
                async with asyncio.timeout(self.settings.webhook_body_timeout_s):
                    body = await read_body(request, limit)
        except BodyTooLarge:
            return too_large(limit)
        except TimeoutError:
            seconds = self.settings.webhook_body_timeout_s
            response = error_response(408, "body_timeout", f"the body did not arrive within {seconds:g}s")
            response.force_close()
            return response
        return body

    def check_head(self, request: web.Request) -> tuple[Source, HeaderVerdict] | web.Response:
        """Everything decided from the request line and headers: the refusal, or the source and auth verdict."""
        source = get_source(request.match_info["source"])
        if source is None:
            known = [s.name for s in list_sources()]
            return error_response(404, "unknown_source", "no such alert source", sources=known)
        if request.method != "POST":
            return error_response(405, "method_not_allowed", "use POST", headers={"Allow": "POST"})
        limit = self.settings.webhook_max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return too_large(limit)
        verdict = check_headers(source.auth, request.headers, self.settings)
        if verdict is HeaderVerdict.REFUSED:
            return unauthorized()
        if not _is_json(request.content_type):
            return error_response(415, "unsupported_media_type", "send application/json", got=request.content_type)
        return source, verdict

    async def expect(self, request: web.Request) -> None:
        """`Expect: 100-continue` gets its 100 only when the body may come; a refusal is then answered at once."""
        if request.version != HttpVersion11:
            return
        if request.headers.get("Expect", "").lower() != "100-continue":
            raise web.HTTPExpectationFailed(text=f"unknown Expect: {request.headers.get('Expect')}")
        if isinstance(self.check_head(request), web.Response):
            return  # no 100: the handler answers from the headers and the client never sends the body
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0

    async def _parse_and_deliver(self, source: Source, body: bytes) -> web.Response:
        try:
            batch = self.recent.parse(source, body)
        except InvalidInput as exc:
            code = str(exc.details.get("code", INVALID_PAYLOAD))
            extra = {"errors": exc.details["errors"]} if "errors" in exc.details else {}
            return error_response(400, code, exc.message, fields=exc.fields, **extra)
        except Exception:
            # A parser bug must neither answer 500 (the sender would retry forever) nor reach the store.
            log.exception("webhook parser failed", extra={"source": source.name})
            return error_response(400, INVALID_PAYLOAD, "the payload could not be read", fields=["body"])
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


def buffered_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body when all of it has arrived already (nothing left to wait for), else None."""
    # Most webhooks arrive in the packet that carried their headers: no read to bound in time.
    content = request.content
    if not content.is_eof():
        return None
    body = content.read_nowait(-1)
    if len(body) > limit:
        raise BodyTooLarge
    return bytes(body)


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


def too_large(limit: int) -> web.Response:
    """413 naming the limit."""
    return error_response(413, "body_too_large", f"body is over {limit} bytes", limit=limit)


def log_refusal(request: web.Request) -> None:
    """Log a 401 with the source and the peer."""
    extra = {"source": request.match_info.get("source"), "peer": request.remote}
    log.warning("webhook refused: not authenticated", extra=extra)


def unauthorized() -> web.Response:
    """401 with the scheme to use."""
    headers = {"WWW-Authenticate": 'Bearer realm="runbook-bot"'}
    return error_response(401, "unauthorized", "missing or wrong credentials", headers=headers)


def summarise(batch: IntakeBatch, outcomes: list[AlertOutcome]) -> dict[str, Any]:
    """The 202 body: what happened to each alert, plus acknowledgements and ignored events."""
    alerts = [
        {
            "name": alert.name,
            "fingerprint": alert.fingerprint,
            "status": alert.status.value,
            "incident": outcome.incident_id,
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
    if outcome.incident_id is None:
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

"""Slack over HTTP: Events API, interactivity and slash commands on the bot's HTTP server, signed by Slack.

Slack POSTs to one request URL. Every request must carry `X-Slack-Signature` (`v0=` hex
HMAC-SHA256 of `v0:<timestamp>:<raw body>` keyed with the signing secret) and
`X-Slack-Request-Timestamp` no more than five minutes from our clock; anything else is a 401
before the body is parsed, so a forged or replayed request reaches no listener. Then the body
goes to the same Bolt app Socket Mode feeds, which answers once the listener has acked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import Clock, SignatureVerifier

from bot.intake.routes import BodyTooLarge, error_response, read_body, too_large

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
MAX_AGE_S = 300
SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


class _Clock(Clock):
    """slack_sdk's clock over an injectable time function."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        """Unix seconds."""
        return self._now()


def headers_fresh(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> bool:
    """True when both signature headers are there and the timestamp is within five minutes: worth reading the body."""
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    if not headers.get(SIGNATURE_HEADER) or not timestamp.isdigit():
        return False
    return abs(now() - int(timestamp)) <= MAX_AGE_S


def signature_ok(secret: str, body: bytes, headers: Mapping[str, str], now: Callable[[], float] = time.time) -> bool:
    """True when the v0 signature covers this exact body and the timestamp is within five minutes."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature or not timestamp.strip().isdigit():
        return False  # slack_sdk would raise on a timestamp that is not a number
    verifier = SignatureVerifier(secret, clock=_Clock(now))
    return verifier.is_valid(body=body, timestamp=timestamp.strip(), signature=signature.strip())


def handshake(body: bytes, content_type: str) -> web.Response | None:
    """The answer to Slack's url_verification challenge or ssl_check, which reach no listener."""
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if isinstance(data, dict) and data.get("type") == "url_verification":
            return web.json_response({"challenge": str(data.get("challenge", ""))})
        return None
    form = parse_qs(body.decode("utf-8", "replace"))
    if form.get("ssl_check") == ["1"]:
        return web.Response(status=200)
    return None


class SlackHttpEndpoint:
    """The request URL handler: size and time bounds, signature, handshakes, then Bolt."""

    def __init__(
        self,
        bolt: AsyncApp,
        signing_secret: str,
        *,
        max_body_bytes: int,
        body_timeout_s: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.bolt = bolt
        self.secret = signing_secret
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.now = now

    async def handle(self, request: web.Request) -> web.Response:
        """Verify one Slack request and dispatch it; the response body is the ack."""
        if not headers_fresh(request.headers, self.now):
            return self._refuse(request)  # decided from the headers: the body is never read
        try:
            async with asyncio.timeout(self.body_timeout_s):
                body = await read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            return too_large(self.max_body_bytes)
        except TimeoutError:
            response = error_response(408, "body_timeout", "the body did not arrive in time")
            response.force_close()
            return response
        if not signature_ok(self.secret, body, request.headers, self.now):
            return self._refuse(request)
        answer = handshake(body, request.content_type)
        if answer is not None:
            return answer
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return error_response(400, "invalid_encoding", "body is not UTF-8")
        headers: dict[str, str | Sequence[str]] = {name: request.headers.getall(name) for name in request.headers}
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=headers, mode="http")
        bolt_response = await self.bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    def _refuse(self, request: web.Request) -> web.Response:
        log.warning("slack request refused: bad signature or timestamp", extra={"peer": request.remote})
        return error_response(401, "invalid_signature", "missing, wrong or expired Slack signature")


def add_slack_routes(app: web.Application, endpoint: SlackHttpEndpoint) -> None:
    """Serve Slack's request URL (events, interactivity and slash commands share it)."""
    app.router.add_post(SLACK_PATH, endpoint.handle)

"""HTTP delivery: what Slack does for an app with request URLs instead of Socket Mode.

Each payload is POSTed to the app's request URL, signed with the app's signing secret
(`X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">`, `X-Slack-Request-Timestamp`).
Events go as JSON, slash commands as a form, interactivity as a form with one `payload=<json>`
field. An HTTP 200 within the ack timeout is the ack, and its body the response payload (JSON,
or plain text standing for `{"text": ...}`). Events API requests that fail or time out are retried
with `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`, as Slack does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.sandbox.emulator.deliverer import Deliverer
from bot.sandbox.emulator.delivery import Attempt, Delivery

log = logging.getLogger(__name__)


@dataclass
class HttpDeliveryConfig:
    """Where and how to POST; defaults are Slack's (3 s to answer, 3 retries of Events API requests)."""

    request_url: str
    signing_secret: str
    ack_timeout: float = 3.0
    max_retries: int = 3
    retry_types: frozenset[str] = frozenset({"events_api"})
    retry_delay: float = 0.0


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature of `body` sent at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def encode_request(kind: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    """The body and content type Slack sends for a delivery of this kind."""
    if kind == "events_api":
        return json.dumps(payload).encode(), "application/json"
    if kind == "slash_commands":
        return urlencode({k: str(v) for k, v in payload.items()}).encode(), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def signed_headers(secret: str, body: bytes, content_type: str, timestamp: float) -> dict[str, str]:
    """The headers of a signed Slack request sent at `timestamp` (Unix seconds)."""
    stamp = str(int(timestamp))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret, stamp, body),
    }


def ack_payload(status: int, content_type: str, text: str) -> tuple[bool, dict[str, Any] | None]:
    """(acked, response payload) from the app's HTTP answer."""
    if status != 200:
        return False, None
    if not text.strip():
        return True, None
    if content_type.startswith("application/json") or text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return True, {"text": text}
        return True, value if isinstance(value, dict) else None
    return True, {"text": text}


class HttpDeliverer(Deliverer):
    """Sends the driver's deliveries to the app's request URL; the same `deliver` as the Socket Mode hub."""

    def __init__(self, config: HttpDeliveryConfig, notify: Callable[[], None]) -> None:
        super().__init__(notify)
        self.config = config
        self.responses: list[tuple[str, int]] = []  # (delivery id, HTTP status) of every attempt that got an answer
        # Several URLs stand for replicas behind a load balancer: requests take turns.
        self.request_urls: list[str] = [config.request_url]
        self._turn = 0
        self._session: aiohttp.ClientSession | None = None

    def add_request_url(self, url: str) -> None:
        """Another replica's request URL, to share the requests with (round-robin)."""
        self.request_urls.append(url)

    def redeliver(self, delivery: Delivery, reason: str = "http_timeout") -> Delivery:
        """Send a delivery's payload again as Slack's retry of it: the same body, `X-Slack-Retry-Num` 1 and up."""
        again = self._again(delivery)
        return self._launch(again, self._run(again, first=1, reason=reason))

    async def _run(self, delivery: Delivery, first: int = 0, reason: str = "") -> None:
        """Attempt until acknowledged or out of retries (Events API requests only get retries)."""
        retries = self.config.max_retries if delivery.type in self.config.retry_types else 0
        for number in range(first, max(retries, first) + 1):
            if number and self.config.retry_delay:
                await asyncio.sleep(self.config.retry_delay)
            reason = await self._attempt(delivery, number, reason)
            if delivery.done:
                return
        delivery.gave_up = True
        self.notify()

    async def _attempt(self, delivery: Delivery, number: int, last_reason: str) -> str:
        """One POST; returns the retry reason when it was not acknowledged."""
        body, content_type = encode_request(delivery.type, delivery.payload)
        headers = signed_headers(self.config.signing_secret, body, content_type, time.time())
        if number:
            headers["X-Slack-Retry-Num"] = str(number)
            headers["X-Slack-Retry-Reason"] = last_reason
        url = self.request_urls[self._turn % len(self.request_urls)]
        self._turn += 1
        attempt = Attempt(str(uuid.uuid4()), number, url, time.monotonic())
        delivery.attempts.append(attempt)
        self.notify()
        timeout = aiohttp.ClientTimeout(total=self.config.ack_timeout)
        try:
            async with self._client().post(url, data=body, headers=headers, timeout=timeout) as response:
                text = await response.text()
                self.responses.append((delivery.id, response.status))
                acked, payload = ack_payload(response.status, response.content_type, text)
        except TimeoutError:
            return "http_timeout"
        except aiohttp.ClientError as exc:
            log.info("http delivery: %s not delivered: %s", delivery.type, exc)
            return "http_error"
        if not acked:
            return "http_error"
        latency = time.monotonic() - attempt.sent_at
        self.acks.append(delivery.record_ack(attempt, url, latency, payload))
        self.notify()
        return ""

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Stop pending deliveries and close the HTTP client."""
        await self._cancel_tasks()
        if self._session is not None:
            await self._session.close()

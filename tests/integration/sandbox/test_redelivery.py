"""Slack sending an event again, as the driver's `redeliver` does it: the same event_id, marked as a retry."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.emulator.http_delivery import slack_signature
from tests.conftest import Serve
from tests.integration.sandbox.conftest import SocketApp

StartApp = Callable[..., Awaitable[SocketApp]]

SECRET = "emulator-redelivery-signing-secret"


async def test_over_http_the_same_body_comes_again_with_the_retry_headers(
    emulator: SlackEmulator, serve: Serve
) -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def endpoint(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slack/events", endpoint)
    emulator.deliver_over_http(await serve(app) + "/slack/events", SECRET)
    posted = await emulator.driver.post_user_message("alice", "incidents", "db is slow")
    [first] = posted.deliveries
    await first.acked(timeout=3)

    again = emulator.driver.redeliver(first)
    assert (await again.acked(timeout=3)).attempt == 1
    (original, body), (retry, retried_body) = seen
    assert "X-Slack-Retry-Num" not in original
    assert (retry["X-Slack-Retry-Num"], retry["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert retried_body == body and json.loads(body)["event_id"] == first.payload["event_id"]
    stamp = retry["X-Slack-Request-Timestamp"]
    assert retry["X-Slack-Signature"] == slack_signature(SECRET, stamp, retried_body)
    assert emulator.hub.opened_total == 0


async def test_over_socket_mode_a_new_envelope_carries_retry_attempt(
    emulator: SlackEmulator, socket_apps: StartApp
) -> None:
    app: SocketApp = await socket_apps()
    posted = await emulator.driver.post_user_message("alice", "incidents", "db is slow")
    [first] = posted.deliveries
    await first.acked(timeout=3)

    again = emulator.driver.redeliver(first)
    assert (await again.acked(timeout=3)).attempt == 1
    original, retry = app.requests
    assert (original.retry_attempt, retry.retry_attempt, retry.retry_reason) == (0, 1, "timeout")
    assert retry.payload["event_id"] == original.payload["event_id"] and retry.envelope_id != original.envelope_id

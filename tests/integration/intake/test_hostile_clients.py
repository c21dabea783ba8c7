"""Slow and hostile clients over loopback: the server frees them, keeps serving alerts, and writes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from bot.connections import Redis
from bot.incidents.store import IncidentStore
from bot.keys import Keys
from bot.web import HttpServer
from tests.integration.intake.conftest import AUTH, TOKEN, Intake, serve_guarded, settings

GENERIC = "/alerts/generic"
ALERT = json.dumps({"alerts": [{"name": "disk-full", "service": "db"}]}).encode()
# A request line and half a header: the rest never comes.
PARTIAL = b"POST /alerts/generic HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@asynccontextmanager
async def guarded(redis: Redis, keys: Keys, **limits: object) -> AsyncIterator[HttpServer]:
    """The webhook server behind the connection guard, with the given settings."""
    server = await serve_guarded(settings(**limits), IncidentStore(redis, keys))
    try:
        yield server
    finally:
        await server.stop()


async def open_slow(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]:
    """`count` connections that each send half a header; with the loop time just before each was opened."""
    loop = asyncio.get_running_loop()
    slow = []
    for _ in range(count):
        # Taken before connecting: the server's clock for the connection cannot start earlier than this.
        before = loop.time()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(PARTIAL)
        slow.append((reader, writer, before))
    return slow


async def closed_at(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """What the server sent before closing, and the loop time the connection closed."""
    answer = await reader.read()
    return answer, asyncio.get_running_loop().time()


async def close_all(slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]]) -> None:
    for _, writer, _ in slow:
        writer.close()


async def post_alert(port: int) -> tuple[int, float]:
    """Post one normal alert; its status and how long it took (loop time)."""
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        started = loop.time()
        response = await client.post(GENERIC, content=ALERT, headers=AUTH)
        return response.status_code, loop.time() - started


async def wait_until(predicate: Callable[[], bool], within: float) -> None:
    """Poll the server's own count until the predicate holds or `within` seconds pass."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not predicate() and loop.time() < end:  # noqa: ASYNC110  (the guard has no event to wait on)
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_five_hundred_slow_header_connections_are_freed_and_alerts_still_flow(redis: Redis, keys: Keys) -> None:
    # Long enough that opening all 500 on a loaded machine finishes before the first one's deadline.
    timeout = 6.0
    async with guarded(redis, keys, http_header_timeout_s=timeout) as server:
        slow = await open_slow(server.port, 500)
        await wait_until(lambda: server.guard.open_connections >= 500, within=5)
        assert server.guard.open_connections == 500

        status, took = await post_alert(server.port)
        assert status == 202 and took < 2.0  # the webhook deadline: it never queued behind the slow ones

        endings = await asyncio.wait_for(asyncio.gather(*(closed_at(r) for r, _, _ in slow)), timeout + 10)
        for (answer, ended), (_, _, opened) in zip(endings, slow, strict=True):
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
            # Never before its deadline (less asyncio's clock resolution); generous after it, for a loaded machine.
            assert timeout - 0.01 <= ended - opened < timeout + 5
        await wait_until(lambda: server.guard.open_connections == 0, within=timeout + 1)
        assert server.guard.open_connections == 0
        await close_all(slow)


@pytest.mark.slow
async def test_at_the_cap_slow_connections_make_room_for_alerts(redis: Redis, keys: Keys) -> None:
    async with guarded(redis, keys, http_header_timeout_s=60, http_max_connections=50) as server:
        slow = await open_slow(server.port, 200)
        await wait_until(lambda: server.guard.open_connections == 50, within=5)

        status, took = await post_alert(server.port)
        assert status == 202 and took < 1.0
        assert server.guard.open_connections <= 50

        # The 150+ oldest were evicted long before their 60 s deadline; the newest are still open.
        evicted = await asyncio.wait_for(asyncio.gather(*(closed_at(r) for r, _, _ in slow[:150])), 10)
        assert all(answer.startswith(b"HTTP/1.1 408") for answer, _ in evicted)
        assert not any(reader.at_eof() for reader, _, _ in slow[-40:])
        await close_all(slow)


async def test_when_every_connection_is_busy_a_newcomer_gets_503(redis: Redis, keys: Keys) -> None:
    async with guarded(redis, keys, http_max_connections=2, webhook_body_timeout_s=30) as server:
        busy = []
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            # Headers complete, body still coming: the handler is reading it, so the connection is busy.
            writer.write(request_head(GENERIC, 100, authorization=f"Bearer {TOKEN}") + b'{"alerts": ')
            busy.append((reader, writer))
        await wait_until(lambda: server.guard.open_connections == 2, within=5)
        await asyncio.sleep(0.2)  # let both handlers start reading their bodies

        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        answer = await asyncio.wait_for(reader.read(), 5)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable")
        assert b"Retry-After: 1" in answer
        writer.close()
        for _, w in busy:
            w.close()


def request_head(path: str, length: int, authorization: str | None = None, *extra: str) -> bytes:
    """A POST request head declaring `length` body bytes."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", f"Content-Length: {length}"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    lines += extra
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def response_status(reader: asyncio.StreamReader, within: float) -> int:
    """The status code of the first response on the connection."""
    line = await asyncio.wait_for(reader.readline(), within)
    return int(line.split()[1])


@pytest.mark.parametrize(
    ("path", "authorization"),
    [
        (GENERIC, None),
        (GENERIC, "Bearer wrong"),
        ("/alerts/pagerduty", None),  # no bearer and no signature header: nothing could prove it
    ],
)
async def test_unauthenticated_megabyte_is_refused_before_its_body_is_sent(
    redis: Redis, keys: Keys, path: str, authorization: str | None
) -> None:
    async with guarded(redis, keys) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        # Declares 1 MiB (the limit, so not a 413) and sends not one byte of it: a 401 now proves the server
        # decided from the headers alone.
        writer.write(request_head(path, 1024 * 1024, authorization))
        assert await response_status(reader, within=2) == 401
        writer.close()
    assert [k async for k in redis.scan_iter(match=keys.pattern())] == []


async def test_expect_continue_gets_no_100_when_the_headers_already_refuse(redis: Redis, keys: Keys) -> None:
    async with guarded(redis, keys) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request_head(GENERIC, 1024 * 1024, "Bearer wrong", "Expect: 100-continue"))
        assert await response_status(reader, within=2) == 401
        writer.close()

        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request_head(GENERIC, len(ALERT), f"Bearer {TOKEN}", "Expect: 100-continue"))
        assert await response_status(reader, within=2) == 100
        await reader.readline()  # the blank line after the interim response
        writer.write(ALERT)
        assert await response_status(reader, within=5) == 202
        writer.close()


async def test_kept_alive_connection_must_send_its_next_headers_in_time(redis: Redis, keys: Keys) -> None:
    async with guarded(redis, keys, http_header_timeout_s=0.5) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request_head(GENERIC, len(ALERT), f"Bearer {TOKEN}") + ALERT)
        assert await response_status(reader, within=5) == 202
        writer.write(PARTIAL)  # the next request never finishes its headers
        rest = await asyncio.wait_for(reader.read(), 5)
        assert b"HTTP/1.1 408 Request Timeout" in rest
        assert server.guard.open_connections == 0
        writer.close()


async def test_authenticated_body_that_never_arrives_is_408(redis: Redis, keys: Keys) -> None:
    async with guarded(redis, keys, webhook_body_timeout_s=0.3) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request_head(GENERIC, 1000, f"Bearer {TOKEN}") + b'{"alerts": [')
        assert await response_status(reader, within=5) == 408
        rest = await asyncio.wait_for(reader.read(), 5)
        assert b'"error": "body_timeout"' in rest
        writer.close()
    assert [k async for k in redis.scan_iter(match=keys.pattern())] == []


HOSTILE_BODIES = {
    "depth bomb": (b"[" * 100_000 + b"]" * 100_000, "nesting_too_deep"),
    "deep object under the limit of Python's parser": (
        b'{"alerts": [{"name": "x", "labels": ' + b'{"a": ' * 500 + b"1" + b"}" * 500 + b"}]}",
        "nesting_too_deep",
    ),
    "lone surrogate in the title": (b'{"alerts": [{"name": "x", "title": "\\ud800"}]}', "invalid_text"),
    "lone surrogate in the group key": (b'{"group_key": "\\ud800", "alerts": [{"name": "x"}]}', "invalid_text"),
    "not UTF-8": (b'{"alerts": [{"name": "caf\xe9"}]}', "invalid_encoding"),
    "integer too long to convert": (b'{"alerts": [{"name": "x", "value": ' + b"7" * 5000 + b"}]}", "invalid_json"),
}


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
async def test_hostile_body_is_400_with_nothing_written_and_no_number_used(intake: Intake, name: str) -> None:
    body, code = HOSTILE_BODIES[name]
    response = await intake.client.post(GENERIC, content=body, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == code and response.json()["message"]
    assert await intake.keys_written() == []
    assert await intake.redis.get(intake.keys.incident_counter()) is None

    # The next real alert gets the first number: none was used up.
    ok = await intake.client.post(GENERIC, content=ALERT, headers=AUTH)
    assert ok.status_code == 202 and ok.json()["alerts"][0]["incident"] == "INC-1"

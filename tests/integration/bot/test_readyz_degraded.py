"""/readyz says "degraded", with the reason, while work waits in the dead-letter set; it never hangs on it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from bot.connections import Redis
from bot.jobs.deadletter import DeadLetters
from bot.keys import Keys
from bot.web import build_web_app
from tests.conftest import Serve


async def ready() -> dict[str, bool]:
    return {"redis": True, "slack_socket": True}


async def test_readyz_reports_dead_letters_as_degraded(serve: Serve, redis: Redis, keys: Keys) -> None:
    dead = DeadLetters(redis, keys)
    base = await serve(build_web_app(ready, 1024, degraded=dead.readiness))
    async with httpx.AsyncClient(base_url=base) as client:
        first = (await client.get("/readyz")).json()
        assert first["ready"] is True and first["checks"] == await ready() and "status" not in first
        since = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
        await dead.add("dlv:INC-1:r-001:dm:U1", "INC-1", "deliver", "Slack refused the connection", since, 5)
        answer = await client.get("/readyz")
        body = answer.json()
        assert answer.status_code == 200 and body["status"] == "degraded"
        assert body["reason"].startswith("1 undelivered job(s); oldest dlv:INC-1:r-001:dm:U1")
        assert "Slack refused the connection" in body["reason"]
        assert "runbook_bot_dead_letters 1.0" in (await client.get("/metrics")).text
        assert await dead.remove("dlv:INC-1:r-001:dm:U1")
        assert "status" not in (await client.get("/readyz")).json()


async def test_a_hanging_degraded_check_does_not_hold_readyz(serve: Serve) -> None:
    async def hangs() -> str | None:
        await asyncio.sleep(30)
        return "never"

    base = await serve(build_web_app(ready, 1024, degraded=hangs))
    async with httpx.AsyncClient(base_url=base, timeout=3) as client:
        body = (await client.get("/readyz")).json()
    assert body["ready"] is True and body["checks"] == await ready() and "status" not in body
